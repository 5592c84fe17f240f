"""The application tables of the Durable engine (SQLAlchemy Core), in the DBOS database.

``mm_state`` holds the checksummed protobuf snapshot of each bot's ``GridState`` (the
source of truth a restart loads); ``mm_slots``, ``mm_orders`` and ``mm_fills`` are its
queryable projection, written in the same transaction: one row per slot, one per order
(current and finished), one per booked fill. ``mm_commands`` is the operators' control
channel (commands a running bot takes between decisions, ``market_maker.ops.commands``)
and ``mm_runs`` what a running bot publishes about itself (``market_maker.ops.heartbeat``).
Decimals are stored as exact strings. The schema is created and migrated by Alembic
(``market_maker/durable/migrations``); see docs/durable_engine.md.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

state = sa.Table(
    "mm_state",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True),
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("snapshot", sa.LargeBinary, nullable=False),
    sa.Column("saved_at_ms", sa.BigInteger, nullable=False),
)

slots = sa.Table(
    "mm_slots",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True),
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("level", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("position_qty", sa.String(64), nullable=False),
    sa.Column("cost_basis", sa.String(64), nullable=False),
    sa.Column("realized_pnl", sa.String(64), nullable=False),
    sa.Column("fees_paid", sa.String(64), nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("client_order_id", sa.String(64), nullable=False),
)

orders = sa.Table(
    "mm_orders",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True),
    sa.Column("symbol", sa.String(64), primary_key=True),
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

fills = sa.Table(
    "mm_fills",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True),
    sa.Column("symbol", sa.String(64), primary_key=True),
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

commands = sa.Table(
    "mm_commands",
    metadata,
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
    sa.Index("mm_commands_pending", "bot_id", "symbol", "status"),
)

runs = sa.Table(
    "mm_runs",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True),
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("heartbeat_ms", sa.BigInteger, nullable=False),
    sa.Column("stopped_ms", sa.BigInteger, nullable=True),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("host", sa.String(128), nullable=False),
    sa.Column("view", sa.Text, nullable=False),
)
