"""Initial application tables: mm_state, mm_slots, mm_orders, mm_fills.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("bot_id", sa.String(16), primary_key=True),
        sa.Column("symbol", sa.String(64), primary_key=True),
    ]


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "mm_state",
        *_key(),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.LargeBinary, nullable=False),
        sa.Column("saved_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mm_slots",
        *_key(),
        sa.Column("level", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position_qty", sa.String(64), nullable=False),
        sa.Column("cost_basis", sa.String(64), nullable=False),
        sa.Column("realized_pnl", sa.String(64), nullable=False),
        sa.Column("fees_paid", sa.String(64), nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "mm_orders",
        *_key(),
        sa.Column("client_order_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("price", sa.String(64), nullable=False),
        sa.Column("qty", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_qty", sa.String(64), nullable=False),
        sa.Column("fee", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("placed_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mm_fills",
        *_key(),
        sa.Column("client_order_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", sa.String(64), nullable=False),
        sa.Column("quote", sa.String(64), nullable=False),
        sa.Column("fee", sa.String(64), nullable=False),
        sa.Column("realized_pnl", sa.String(64), nullable=False),
        sa.Column("liquidity", sa.String(8), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the four tables."""
    for table in ("mm_fills", "mm_orders", "mm_slots", "mm_state"):
        op.drop_table(table)
