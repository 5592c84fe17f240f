"""Operations: the control channel (mm_commands) and what a running bot publishes (mm_runs).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "mm_commands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("done_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("mm_commands_pending", "mm_commands", ["bot_id", "symbol", "status"])
    op.create_table(
        "mm_runs",
        sa.Column("bot_id", sa.String(16), primary_key=True),
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("heartbeat_ms", sa.BigInteger, nullable=False),
        sa.Column("stopped_ms", sa.BigInteger, nullable=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("view", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_index("mm_commands_pending", "mm_commands")
    op.drop_table("mm_runs")
    op.drop_table("mm_commands")
