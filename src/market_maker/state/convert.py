"""Exact conversions between the Python model and its protobuf messages, both ways.

One function pair per message (``x_to_pb`` / ``x_from_pb``). Decimals go through
``market_maker.domain.decimals`` only, so ``x_from_pb(x_to_pb(v)) == v`` exactly, down to the
decimal string. Reading is strict: a required enum left ``*_UNSPECIFIED``, a malformed decimal
or content that contradicts itself raises ``StateIntegrityError`` naming the field, because a
state that is guessed at could orphan live orders. Writing a value the format cannot
represent faithfully raises the same error rather than persisting something else.

This module holds the persisted state (slots, order records, ATR, ``State``) and re-exports
the conversions of the wire messages from ``convert_messages``; the enum bijections and
decimal readers live in ``convert_base``.

A slot's order is stored flat in ``InventorySlot`` (``order_*`` fields, see
``FLAT_ORDER_FIELDS``) rather than as an embedded ``OrderRecord``, so each fact is stored
once; it is converted by copying those fields into an ``OrderRecord`` message, so one
function pair owns the order's field semantics wherever it is stored.
"""

from collections.abc import Mapping
from decimal import Decimal

from market_maker.domain.decimals import decimal_to_str, optional_decimal_to_str
from market_maker.domain.errors import MarketMakerError, StateIntegrityError
from market_maker.pb import slot_pb2, state_pb2
from market_maker.slots.book import SlotBook
from market_maker.slots.model import OrderRecord, Slot
from market_maker.state.convert_base import (
    ORDER_ROLE,
    ORDER_STATUS,
    POSITION_STATUS,
    RISK_STATE,
    SIDE,
    SLOT_STATUS,
    IdentityMemo,
    read_decimal,
    read_optional_decimal,
)
from market_maker.state.convert_messages import (
    action_from_pb,
    action_to_pb,
    cancel_request_from_pb,
    cancel_request_to_pb,
    candle_from_pb,
    candle_to_pb,
    order_update_from_pb,
    order_update_to_pb,
    place_request_from_pb,
    place_request_to_pb,
    price_update_from_pb,
    price_update_to_pb,
)
from market_maker.state.convert_risk import (
    atr_from_pb,
    atr_to_pb,
    risk_layer_from_pb,
    risk_layer_to_pb,
)
from market_maker.state.model import GridState

__all__ = [
    "FLAT_ORDER_FIELDS",
    "action_from_pb",
    "action_to_pb",
    "atr_from_pb",
    "atr_to_pb",
    "cancel_request_from_pb",
    "cancel_request_to_pb",
    "candle_from_pb",
    "candle_to_pb",
    "order_record_from_pb",
    "order_record_to_pb",
    "order_update_from_pb",
    "order_update_to_pb",
    "place_request_from_pb",
    "place_request_to_pb",
    "price_update_from_pb",
    "price_update_to_pb",
    "slot_from_pb",
    "slot_to_pb",
    "state_from_pb",
    "state_to_pb",
]

FLAT_ORDER_FIELDS: Mapping[str, str] = {
    "client_order_id": "client_order_id",
    "level": "order_level",
    "side": "order_side",
    "role": "order_role",
    "price": "order_price",
    "qty": "order_qty",
    "generation": "order_generation",
    "order_id": "order_id",
    "status": "order_status",
    "filled_qty": "order_filled_qty",
    "filled_quote": "order_filled_quote",
    "fee": "order_fee",
    "cancel_requested": "order_cancel_requested",
    "post_only": "order_post_only",
    "reduce_only": "order_reduce_only",
    "reject_reason": "order_reject_reason",
    "placed_time": "order_placed_time",
}
"""``OrderRecord`` field -> ``InventorySlot`` field holding the slot's order (flattened)."""


# -- slots and orders -----------------------------------------------------------------------


def order_record_to_pb(record: OrderRecord) -> slot_pb2.OrderRecord:
    """Convert an order record to its message."""
    if not record.client_order_id:
        raise StateIntegrityError(
            f"order record at level {record.level} has an empty client_order_id; every order "
            "gets its deterministic id before it is sent, so this is a bug in its producer"
        )
    return slot_pb2.OrderRecord(
        client_order_id=record.client_order_id,
        level=decimal_to_str(record.level),
        side=SIDE.to_pb(record.side),
        role=ORDER_ROLE.to_pb(record.role),
        price=decimal_to_str(record.price),
        qty=decimal_to_str(record.qty),
        generation=record.generation,
        order_id=record.order_id,
        status=ORDER_STATUS.optional_to_pb(record.status),
        filled_qty=decimal_to_str(record.filled_qty),
        filled_quote=decimal_to_str(record.filled_quote),
        fee=decimal_to_str(record.fee),
        cancel_requested=record.cancel_requested,
        post_only=record.post_only,
        reduce_only=record.reduce_only,
        reject_reason=record.reject_reason,
        placed_time=record.placed_ms,
    )


def order_record_from_pb(
    msg: slot_pb2.OrderRecord,
    *,
    where: str = "OrderRecord",
    names: Mapping[str, str] | None = None,
) -> OrderRecord:
    """Convert an ``OrderRecord`` message back; ``where``/``names`` label errors."""

    def f(name: str) -> str:
        return f"{where}.{(names or {}).get(name, name)}"

    if not msg.client_order_id:
        raise StateIntegrityError(f"{f('client_order_id')}: expected an order id, found ''")
    return OrderRecord(
        client_order_id=msg.client_order_id,
        level=read_decimal(msg.level, f("level")),
        side=SIDE.from_pb(msg.side, f("side")),
        role=ORDER_ROLE.from_pb(msg.role, f("role")),
        price=read_decimal(msg.price, f("price")),
        qty=read_decimal(msg.qty, f("qty")),
        generation=msg.generation,
        order_id=msg.order_id,
        status=ORDER_STATUS.optional_from_pb(msg.status, f("status")),
        filled_qty=read_decimal(msg.filled_qty, f("filled_qty")),
        filled_quote=read_decimal(msg.filled_quote, f("filled_quote")),
        fee=read_decimal(msg.fee, f("fee")),
        cancel_requested=msg.cancel_requested,
        post_only=msg.post_only,
        reduce_only=msg.reduce_only,
        reject_reason=msg.reject_reason,
        placed_ms=msg.placed_time,
    )


def slot_to_pb(slot: Slot) -> slot_pb2.InventorySlot:
    """Convert a slot to an ``InventorySlot``, flattening its order into the ``order_*`` fields."""
    entry = slot.entry_price
    msg = slot_pb2.InventorySlot(
        price=decimal_to_str(slot.level),
        slot_status=SLOT_STATUS.to_pb(slot.status),
        position_status=POSITION_STATUS.to_pb(slot.position_status),
        position_qty=decimal_to_str(slot.position_qty),
        # Normalised so equal values always write the same string (cost_basis "0E+1" and
        # "0" divide to "0.0" and "0"): a loaded state re-encodes byte for byte.
        entry_price="" if entry is None else decimal_to_str(entry.normalize()),
        cost_basis=decimal_to_str(slot.cost_basis),
        realized_pnl=decimal_to_str(slot.realized_pnl),
        fees_paid=decimal_to_str(slot.fees_paid),
        generation=slot.generation,
        post_only_fail_count=slot.post_only_fail_count,
    )
    if slot.order is not None:
        record = order_record_to_pb(slot.order)
        for name, flat in FLAT_ORDER_FIELDS.items():
            setattr(msg, flat, getattr(record, name))
    return msg


def slot_from_pb(msg: slot_pb2.InventorySlot, *, where: str = "InventorySlot") -> Slot:
    """Convert an ``InventorySlot`` back, checking its derived and flattened fields agree."""
    record = slot_pb2.OrderRecord()
    for name, flat in FLAT_ORDER_FIELDS.items():
        setattr(record, name, getattr(msg, flat))
    order: OrderRecord | None = None
    if msg.client_order_id:
        order = order_record_from_pb(record, where=where, names=FLAT_ORDER_FIELDS)
    elif set_fields := [FLAT_ORDER_FIELDS[fd.name] for fd, _ in record.ListFields()]:
        raise StateIntegrityError(
            f"{where}: expected no order fields since client_order_id is empty (no order), "
            f"found {', '.join(set_fields)} set"
        )
    slot = Slot(
        level=read_decimal(msg.price, f"{where}.price"),
        status=SLOT_STATUS.from_pb(msg.slot_status, f"{where}.slot_status"),
        position_qty=read_decimal(msg.position_qty, f"{where}.position_qty"),
        cost_basis=read_decimal(msg.cost_basis, f"{where}.cost_basis"),
        realized_pnl=read_decimal(msg.realized_pnl, f"{where}.realized_pnl"),
        fees_paid=read_decimal(msg.fees_paid, f"{where}.fees_paid"),
        generation=msg.generation,
        post_only_fail_count=msg.post_only_fail_count,
        order=order,
    )
    position_status = POSITION_STATUS.from_pb(msg.position_status, f"{where}.position_status")
    if position_status is not slot.position_status:
        raise StateIntegrityError(
            f"{where}.position_status: expected {slot.position_status.name} for position_qty "
            f"{msg.position_qty}, found {position_status.name}"
        )
    # entry_price is informational (derived from cost_basis): validated, never read back.
    entry = read_optional_decimal(msg.entry_price, f"{where}.entry_price")
    if (entry is None) != (slot.entry_price is None):
        expected = "a price" if slot.entry_price is not None else "'' (flat)"
        raise StateIntegrityError(
            f"{where}.entry_price: expected {expected} for position_qty {msg.position_qty!r}, "
            f"found {msg.entry_price!r}"
        )
    return slot


# -- state ----------------------------------------------------------------------------------


# Retired records and most slots are the same objects from one checkpoint to the next.
_retired_to_pb = IdentityMemo(order_record_to_pb)
_slot_pb = IdentityMemo(slot_to_pb)


def state_to_pb(state: GridState) -> state_pb2.State:
    """Convert a grid state to a ``State`` message (``checksum`` left empty; see snapshot)."""
    book = state.book
    if (book.bot_id, book.symbol) != (state.bot_id, state.symbol):
        raise StateIntegrityError(
            f"state is for bot {state.bot_id!r} on {state.symbol!r} but its book is for bot "
            f"{book.bot_id!r} on {book.symbol!r}; refusing to persist an inconsistent state"
        )
    msg = state_pb2.State(
        bot_id=state.bot_id,
        symbol=state.symbol,
        retired_orders=[_retired_to_pb(r) for r in book.retired.values()],
        order_seq=book.order_seq,
        anchor_price=optional_decimal_to_str(state.anchor_price),
        last_price=optional_decimal_to_str(state.last_price),
        last_update_time=state.last_update_ms,
        version=state.version,
        risk_mode=RISK_STATE.to_pb(state.risk_state),
        realized_pnl=decimal_to_str(book.realized_pnl),
        fees_paid=decimal_to_str(book.fees_paid),
        center_price=optional_decimal_to_str(state.center_price),
        interval=optional_decimal_to_str(state.interval),
        baseline_atr=optional_decimal_to_str(state.baseline_atr),
        position_offset=optional_decimal_to_str(state.position_offset),
        last_trade_id=state.last_trade_id,
    )
    for level, slot in book.slots.items():
        if level != slot.level:
            raise StateIntegrityError(
                f"book holds slot {slot.level} under key {level}; refusing to persist"
            )
        msg.slots[decimal_to_str(level)].CopyFrom(_slot_pb(slot))
    if state.atr is not None:
        msg.atr.CopyFrom(atr_to_pb(state.atr))
    if state.risk_layer is not None:
        msg.risk_layer.CopyFrom(risk_layer_to_pb(state.risk_layer))
    return msg


def state_from_pb(msg: state_pb2.State) -> GridState:
    """Rebuild a grid state and its slot book from a ``State`` message.

    Does not verify ``checksum`` (``market_maker.state.snapshot.load`` does), but checks the
    content is consistent: map keys equal their slot's level, levels and retired order ids
    are unique, enums are set.
    """
    slots: dict[Decimal, Slot] = {}
    for key in sorted(msg.slots, key=lambda k: read_decimal(k, f"State.slots key {k!r}")):
        slot = slot_from_pb(msg.slots[key], where=f"State.slots[{key!r}]")
        if msg.slots[key].price != key:
            raise StateIntegrityError(
                f"State.slots[{key!r}].price: expected the map key {key!r}, "
                f"found {msg.slots[key].price!r}"
            )
        if slot.level in slots:
            raise StateIntegrityError(f"State.slots: level {key!r} appears twice")
        slots[slot.level] = slot
    retired = [
        order_record_from_pb(r, where=f"State.retired_orders[{i}]")
        for i, r in enumerate(msg.retired_orders)
    ]
    if len({r.client_order_id for r in retired}) != len(retired):
        raise StateIntegrityError("State.retired_orders: a client_order_id appears twice")
    realized_pnl = read_decimal(msg.realized_pnl, "State.realized_pnl")
    fees_paid = read_decimal(msg.fees_paid, "State.fees_paid")
    try:
        book = SlotBook(
            msg.bot_id,
            msg.symbol,
            slots=slots.values(),
            retired=retired,
            order_seq=msg.order_seq,
            realized_pnl=realized_pnl,
            fees_paid=fees_paid,
        )
    except MarketMakerError as exc:
        raise StateIntegrityError(f"State: cannot rebuild the slot book: {exc}") from exc
    return GridState(
        bot_id=msg.bot_id,
        symbol=msg.symbol,
        book=book,
        anchor_price=read_optional_decimal(msg.anchor_price, "State.anchor_price"),
        last_price=read_optional_decimal(msg.last_price, "State.last_price"),
        last_update_ms=msg.last_update_time,
        version=msg.version,
        risk_state=RISK_STATE.from_pb(msg.risk_mode, "State.risk_mode"),
        center_price=read_optional_decimal(msg.center_price, "State.center_price"),
        interval=read_optional_decimal(msg.interval, "State.interval"),
        baseline_atr=read_optional_decimal(msg.baseline_atr, "State.baseline_atr"),
        position_offset=read_optional_decimal(msg.position_offset, "State.position_offset"),
        last_trade_id=msg.last_trade_id if msg.HasField("last_trade_id") else None,
        atr=atr_from_pb(msg.atr, where="State.atr") if msg.HasField("atr") else None,
        risk_layer=risk_layer_from_pb(msg.risk_layer) if msg.HasField("risk_layer") else None,
    )
