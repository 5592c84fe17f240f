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


def _doc(meaning: str) -> dict[str, str]:
    """A column's meaning, listed in the technical reference (``make docs``)."""
    return {"doc": meaning}


state = sa.Table(
    "mm_state",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True, info=_doc("Bot id of the configuration.")),
    sa.Column(
        "symbol", sa.String(64), primary_key=True, info=_doc("Unified symbol the bot trades.")
    ),
    sa.Column(
        "version",
        sa.BigInteger,
        nullable=False,
        info=_doc(
            "GridState.version of the snapshot: incremented by every change; a save never "
            "overwrites a newer one."
        ),
    ),
    sa.Column(
        "checksum",
        sa.String(64),
        nullable=False,
        info=_doc("Hex SHA-256 of the snapshot's deterministic serialisation, verified on load."),
    ),
    sa.Column(
        "snapshot",
        sa.LargeBinary,
        nullable=False,
        info=_doc("The protobuf `State` message: the source of truth a restart loads."),
    ),
    sa.Column(
        "saved_at_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("Wall-clock time of the save, epoch ms."),
    ),
)

slots = sa.Table(
    "mm_slots",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True, info=_doc("Bot id.")),
    sa.Column("symbol", sa.String(64), primary_key=True, info=_doc("Unified symbol.")),
    sa.Column(
        "level",
        sa.String(64),
        primary_key=True,
        info=_doc("Grid level price (the slot key), exact decimal string."),
    ),
    sa.Column(
        "status", sa.String(16), nullable=False, info=_doc("Slot status: FREE, PENDING or LOCKED.")
    ),
    sa.Column(
        "position_qty",
        sa.String(64),
        nullable=False,
        info=_doc("Signed position held by the slot, base currency."),
    ),
    sa.Column(
        "cost_basis",
        sa.String(64),
        nullable=False,
        info=_doc("Signed cost of that position, quote currency."),
    ),
    sa.Column(
        "realized_pnl",
        sa.String(64),
        nullable=False,
        info=_doc("PnL realised by the slot's closing fills, quote currency."),
    ),
    sa.Column(
        "fees_paid",
        sa.String(64),
        nullable=False,
        info=_doc("Fees paid by the slot's fills, quote currency."),
    ),
    sa.Column(
        "generation",
        sa.BigInteger,
        nullable=False,
        info=_doc("Generation of the slot's latest order (in its client order id)."),
    ),
    sa.Column(
        "client_order_id",
        sa.String(64),
        nullable=False,
        info=_doc('The slot\'s current order ("" when none).'),
    ),
)

orders = sa.Table(
    "mm_orders",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True, info=_doc("Bot id.")),
    sa.Column("symbol", sa.String(64), primary_key=True, info=_doc("Unified symbol.")),
    sa.Column(
        "client_order_id",
        sa.String(64),
        primary_key=True,
        info=_doc("Deterministic client order id."),
    ),
    sa.Column("level", sa.String(64), nullable=False, info=_doc("Slot the order belongs to.")),
    sa.Column("side", sa.String(8), nullable=False, info=_doc("BUY or SELL.")),
    sa.Column(
        "role",
        sa.String(8),
        nullable=False,
        info=_doc("OPEN (opening) or CLOSE (take-profit of the slot's position)."),
    ),
    sa.Column("price", sa.String(64), nullable=False, info=_doc("Limit price, quote currency.")),
    sa.Column("qty", sa.String(64), nullable=False, info=_doc("Order quantity, base currency.")),
    sa.Column(
        "status",
        sa.String(24),
        nullable=False,
        info=_doc(
            "Latest status reported (NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, "
            "EXPIRED), or PENDING before the first report."
        ),
    ),
    sa.Column(
        "filled_qty",
        sa.String(64),
        nullable=False,
        info=_doc("Cumulative filled quantity booked, base currency."),
    ),
    sa.Column(
        "fee", sa.String(64), nullable=False, info=_doc("Cumulative fee booked, quote currency.")
    ),
    sa.Column(
        "order_id",
        sa.String(64),
        nullable=False,
        info=_doc('The exchange\'s order id ("" until reported).'),
    ),
    sa.Column(
        "placed_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("Time the intent was recorded, market time in epoch ms."),
    ),
)

fills = sa.Table(
    "mm_fills",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True, info=_doc("Bot id.")),
    sa.Column("symbol", sa.String(64), primary_key=True, info=_doc("Unified symbol.")),
    sa.Column(
        "client_order_id", sa.String(64), primary_key=True, info=_doc("Order the fill belongs to.")
    ),
    sa.Column(
        "seq", sa.Integer, primary_key=True, info=_doc("Fill number within the order (1, 2, ...).")
    ),
    sa.Column(
        "ts_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("Time of the report that booked the fill, epoch ms."),
    ),
    sa.Column("side", sa.String(8), nullable=False, info=_doc("BUY or SELL.")),
    sa.Column("qty", sa.String(64), nullable=False, info=_doc("Quantity filled, base currency.")),
    sa.Column(
        "quote",
        sa.String(64),
        nullable=False,
        info=_doc("Value filled (price x qty), quote currency."),
    ),
    sa.Column("fee", sa.String(64), nullable=False, info=_doc("Fee of the fill, quote currency.")),
    sa.Column(
        "realized_pnl",
        sa.String(64),
        nullable=False,
        info=_doc("PnL the fill realised (closing fills), quote currency."),
    ),
    sa.Column("liquidity", sa.String(8), nullable=False, info=_doc("MAKER or TAKER.")),
    sa.Column(
        "trade_id",
        sa.String(64),
        nullable=False,
        info=_doc('The exchange\'s trade id when reported ("" otherwise).'),
    ),
)

commands = sa.Table(
    "mm_commands",
    metadata,
    sa.Column(
        "id",
        sa.Integer,
        primary_key=True,
        autoincrement=True,
        info=_doc("Command number (the order operators queued them in)."),
    ),
    sa.Column("bot_id", sa.String(16), nullable=False, info=_doc("Bot the command is for.")),
    sa.Column("symbol", sa.String(64), nullable=False, info=_doc("Symbol of that bot.")),
    sa.Column(
        "kind",
        sa.String(32),
        nullable=False,
        info=_doc(
            "What to do: stop, risk_reset, breaker_reset, slot_release, cancel_openings, reconcile."
        ),
    ),
    sa.Column(
        "args",
        sa.Text,
        nullable=False,
        info=_doc("Arguments, JSON (e.g. the level of a slot release)."),
    ),
    sa.Column(
        "actor",
        sa.String(128),
        nullable=False,
        info=_doc("Who asked: `cli:user@host` or `dashboard:IP`."),
    ),
    sa.Column(
        "created_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("When it was queued, wall clock epoch ms."),
    ),
    sa.Column(
        "status", sa.String(16), nullable=False, info=_doc("pending, done, refused or failed.")
    ),
    sa.Column(
        "result",
        sa.Text,
        nullable=False,
        info=_doc("Outcome, JSON (message, before/after, corrections)."),
    ),
    sa.Column(
        "done_ms",
        sa.BigInteger,
        nullable=True,
        info=_doc("When the bot carried it out; null while pending."),
    ),
    sa.Index("mm_commands_pending", "bot_id", "symbol", "status"),
)

runs = sa.Table(
    "mm_runs",
    metadata,
    sa.Column("bot_id", sa.String(16), primary_key=True, info=_doc("Bot id.")),
    sa.Column("symbol", sa.String(64), primary_key=True, info=_doc("Unified symbol.")),
    sa.Column(
        "started_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("Start of the current (or last) run, wall clock epoch ms."),
    ),
    sa.Column(
        "heartbeat_ms",
        sa.BigInteger,
        nullable=False,
        info=_doc("Last time the running bot published its view."),
    ),
    sa.Column(
        "stopped_ms",
        sa.BigInteger,
        nullable=True,
        info=_doc("Clean stop time; null while running or after a crash."),
    ),
    sa.Column("pid", sa.Integer, nullable=False, info=_doc("Process id of the run.")),
    sa.Column("host", sa.String(128), nullable=False, info=_doc("Host name of the run.")),
    sa.Column(
        "view",
        sa.Text,
        nullable=False,
        info=_doc("The bot's published view, JSON (what `status` shows while it runs)."),
    ),
)
