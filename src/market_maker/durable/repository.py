"""Load and save a bot's state in the application tables, inside the caller's transaction.

``save`` writes the checksummed snapshot (the source of truth) and, in the same
transaction, the rows of the slots that changed, their orders and the fills booked since the
last save. ``load`` reads the snapshot back, verifying its checksum, and refuses a snapshot
older than what the rows say.
"""

import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from market_maker.domain.decimals import decimal_to_str
from market_maker.domain.errors import StateIntegrityError
from market_maker.durable import schema
from market_maker.slots.book import BookedFill
from market_maker.slots.model import OrderRecord, Slot
from market_maker.state import snapshot
from market_maker.state.model import GridState
from market_maker.state.views import order_view, slot_view
from market_maker.stores.base import REFUSE, check_version_order


@functools.cache
def _upsert_statement(table: sa.Table) -> sa.TextClause:
    """``INSERT .. ON CONFLICT (primary key) DO UPDATE`` for ``table``.

    The same text on SQLite (3.24+) and PostgreSQL; a text clause is compiled once, where a
    dialect ``insert().on_conflict_do_update()`` construct is compiled again on every call.
    """
    keys = [c.name for c in table.primary_key.columns]
    names = [c.name for c in table.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    return sa.text(
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


@functools.cache
def _state_update() -> sa.TextClause:
    """Overwrite a bot's snapshot row if it holds an older version (compiled once)."""
    return sa.text(
        f"UPDATE {schema.state.name} SET version = :version, checksum = :checksum, "
        "snapshot = :snapshot, saved_at_ms = :saved_at_ms "
        "WHERE bot_id = :bot_id AND symbol = :symbol AND version < :older"
    ).bindparams(sa.bindparam("snapshot", type_=sa.LargeBinary))


def _upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, replacing the row with the same primary key (SQLite or PostgreSQL)."""
    if rows:
        conn.execute(_upsert_statement(table), rows)


def _slot_row(bot: str, symbol: str, slot: Slot) -> dict[str, Any]:
    return {"bot_id": bot, "symbol": symbol, **slot_view(slot)}


def _order_row(bot: str, symbol: str, order: OrderRecord) -> dict[str, Any]:
    return {"bot_id": bot, "symbol": symbol, **order_view(order)}


def save(
    conn: sa.Connection,
    state: GridState,
    changed: Iterable[Decimal],
    retired: Iterable[str],
    fills: Sequence[BookedFill],
    saved_at_ms: int,
) -> None:
    """Write ``state`` in ``conn``'s transaction; refuse to overwrite a newer version.

    Writes the snapshot, the rows of the ``changed`` slots and their orders, the final rows
    of the orders ``retired`` since the last save, and the new ``fills``.
    """
    bot, symbol = state.bot_id, state.symbol
    sealed = snapshot.seal(state)
    data: bytes = sealed.SerializeToString(deterministic=True)
    checksum = sealed.checksum
    row = {"version": state.version, "checksum": checksum, "snapshot": data}
    # The usual case in one round trip: the stored version is older, overwrite it.
    newer = conn.execute(
        _state_update(),
        {"bot_id": bot, "symbol": symbol, "saved_at_ms": saved_at_ms, "older": state.version} | row,
    )
    if newer.rowcount != 1:
        key = (schema.state.c.bot_id == bot) & (schema.state.c.symbol == symbol)
        stored = conn.execute(
            sa.select(schema.state.c.version, schema.state.c.snapshot).where(key)
        ).first()
        if stored is None:
            conn.execute(
                schema.state.insert().values(
                    bot_id=bot, symbol=symbol, saved_at_ms=saved_at_ms, **row
                )
            )
        else:  # the same version (an idempotent re-save) or a newer one: refuse unless equal
            check_version_order(
                where=f"mm_state of {bot} on {symbol}",
                stored_version=stored.version,
                stored=stored.snapshot,
                new_version=state.version,
                new=data,
            )
    book = state.book
    slot_rows, order_rows, gone = [], [], []
    for level in changed:
        slot = book.slots.get(level)
        if slot is None:
            gone.append(decimal_to_str(level))
            continue
        slot_rows.append(_slot_row(bot, symbol, slot))
        if slot.order is not None:
            order_rows.append(_order_row(bot, symbol, slot.order))
    for cid in retired:  # an order retired since the last save: its final row
        record = book.retired.get(cid)
        if record is not None:
            order_rows.append(_order_row(bot, symbol, record))
    if gone:
        conn.execute(
            schema.slots.delete().where(
                (schema.slots.c.bot_id == bot)
                & (schema.slots.c.symbol == symbol)
                & schema.slots.c.level.in_(gone)
            )
        )
    _upsert(conn, schema.slots, slot_rows)
    _upsert(conn, schema.orders, order_rows)
    _insert_fills(conn, bot, symbol, fills)


@functools.cache
def _fill_insert() -> sa.TextClause:
    """Insert one fill as the next ``seq`` of its order, in one statement (both dialects)."""
    t = schema.fills
    names = [c.name for c in t.columns]
    values = ["COALESCE(MAX(seq), 0) + 1" if n == "seq" else ":" + n for n in names]
    return sa.text(
        f"INSERT INTO {t.name} ({', '.join(names)}) SELECT {', '.join(values)} FROM {t.name} "
        "WHERE bot_id = :of_bot AND symbol = :of_symbol AND client_order_id = :of_order"
    )


def _insert_fills(conn: sa.Connection, bot: str, symbol: str, fills: Sequence[BookedFill]) -> None:
    if not fills:
        return
    rows = [
        {
            "bot_id": bot,
            "symbol": symbol,
            "client_order_id": fill.client_order_id,
            "ts_ms": fill.ts_ms,
            "side": fill.side.value,
            "qty": decimal_to_str(fill.qty),
            "quote": decimal_to_str(fill.quote),
            "fee": decimal_to_str(fill.fee),
            "realized_pnl": decimal_to_str(fill.realized_pnl),
            "liquidity": fill.liquidity.value if fill.liquidity is not None else "",
            "trade_id": fill.trade_id,
        }
        for fill in fills
    ]
    for row in rows:  # one at a time: each sees the seq its predecessor took
        # The key again under its own names: PostgreSQL types each parameter once.
        key = {"of_bot": bot, "of_symbol": symbol, "of_order": row["client_order_id"]}
        conn.execute(_fill_insert(), row | key)


def load(conn: sa.Connection, bot: str, symbol: str) -> GridState | None:
    """The bot's state from its snapshot, checksum verified (None when it has none yet)."""
    key = (schema.state.c.bot_id == bot) & (schema.state.c.symbol == symbol)
    row = conn.execute(
        sa.select(schema.state.c.version, schema.state.c.snapshot).where(key)
    ).first()
    if row is None:
        return None
    try:
        state = snapshot.load(row.snapshot)
    except StateIntegrityError as exc:
        raise StateIntegrityError(f"mm_state of {bot} on {symbol}: {exc}") from exc
    if state.version != row.version:
        raise StateIntegrityError(
            f"mm_state of {bot} on {symbol}: the row says version {row.version}, its snapshot "
            f"{state.version}; {REFUSE}"
        )
    return state
