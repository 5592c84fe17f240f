"""Checksummed snapshots: a sealed state loads back; any alteration is refused loudly."""

import hashlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    RiskState,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.errors import StateIntegrityError
from market_maker.domain.orders import ActionKind, OrderAction, OrderUpdate, PlaceOrderRequest
from market_maker.indicators.atr import AtrMethod, AtrSnapshot
from market_maker.pb import enums_pb2, state_pb2
from market_maker.slots.book import SlotBook
from market_maker.slots.client_ids import make_client_order_id
from market_maker.state import snapshot
from market_maker.state.convert import state_to_pb
from market_maker.state.model import GridState

SYMBOL = "BTC/USDT"
BOT = "snap1"
RUNBOOK = "see docs/operations_guide.md#crash-recovery"
OUTCOMES = ["pending", "new", "partial", "filled", "canceled"]


def trade(book: SlotBook, level: Decimal, qty: Decimal, outcome: str, ts_ms: int) -> None:
    """Send one order from the slot at ``level`` through the real book and apply its outcome."""
    slot = book.get(level)
    if slot is not None and slot.status is not SlotStatus.FREE:
        return
    side = Side.SELL if slot is not None and slot.position_qty > 0 else Side.BUY
    if side is Side.SELL:
        assert slot is not None
        qty = slot.position_qty
    cid = make_client_order_id(BOT, SYMBOL, level, side, book.order_seq + 1)
    request = PlaceOrderRequest(
        SYMBOL, side, OrderType.LIMIT, TimeInForce.GTC, level, qty, True, side is Side.SELL, cid
    )
    book.record_intent(OrderAction(ActionKind.PLACE, level, place=request))
    if outcome == "pending":
        return
    filled = {"new": Decimal(0), "partial": qty / 2, "filled": qty, "canceled": qty / 4}[outcome]
    status = {
        "new": OrderStatus.NEW,
        "partial": OrderStatus.PARTIALLY_FILLED,
        "filled": OrderStatus.FILLED,
        "canceled": OrderStatus.CANCELED,
    }[outcome]
    book.apply_update(
        OrderUpdate(
            SYMBOL,
            f"ex-{cid}",
            cid,
            side,
            status,
            level,
            qty,
            cum_filled_qty=filled,
            cum_quote_qty=filled * level,
            cum_fee=filled * level / 1000,
            liquidity=Liquidity.MAKER,
            ts_ms=ts_ms,
        )
    )


@st.composite
def states(draw: st.DrawFn) -> GridState:
    """States reached by driving the real slot book, with random surrounding fields."""
    book = SlotBook(BOT, SYMBOL)
    levels = st.sampled_from([Decimal("61500.5"), Decimal(61600), Decimal("61700.25")])
    qtys = st.sampled_from([Decimal("0.001"), Decimal("0.015"), Decimal("2")])
    steps = draw(st.lists(st.tuples(levels, qtys, st.sampled_from(OUTCOMES)), max_size=8))
    for i, (level, qty, outcome) in enumerate(steps):
        trade(book, level, qty, outcome, 1_700_000_000_000 + i)
    maybe_price = st.none() | st.sampled_from([Decimal("61555.5"), Decimal("0.01"), Decimal(7)])
    return GridState(
        BOT,
        SYMBOL,
        book,
        anchor_price=draw(maybe_price),
        last_price=draw(maybe_price),
        last_update_ms=draw(st.integers(0, 2**62)),
        version=draw(st.integers(0, 2**64 - 1)),
        risk_state=draw(st.sampled_from(RiskState)),
        center_price=draw(maybe_price),
        interval=draw(maybe_price),
        baseline_atr=draw(maybe_price),
        atr=draw(st.none() | st.just(AtrSnapshot(3, AtrMethod.WILDER, Decimal(1), (), None))),
    )


def sample_state() -> GridState:
    book = SlotBook(BOT, SYMBOL)
    for i, (level, outcome) in enumerate(
        [
            ("61500.5", "filled"),
            ("61600", "partial"),
            ("61700.25", "canceled"),
            ("61500.5", "new"),
            ("61800", "pending"),
        ]
    ):
        trade(book, Decimal(level), Decimal("0.015"), outcome, 1_700_000_000_000 + i)
    atr = AtrSnapshot(3, AtrMethod.SIMPLE, Decimal("61555"), (Decimal(12), Decimal("9.5")), None)
    return GridState(
        BOT,
        SYMBOL,
        book,
        anchor_price=Decimal("61555.5"),
        last_price=Decimal("61560"),
        last_update_ms=1_700_000_000_004,
        version=42,
        risk_state=RiskState.RISK_MODE,
        center_price=Decimal("61555.5"),
        interval=Decimal(100),
        baseline_atr=Decimal(10),
        atr=atr,
    )


SAMPLE = snapshot.serialize(sample_state())


def test_sample_state_covers_every_kind_of_content() -> None:
    msg = state_pb2.State.FromString(SAMPLE)
    assert len(msg.slots) == 4
    assert len(msg.retired_orders) >= 1
    assert {s.slot_status for s in msg.slots.values()} >= {1, 2, 3}
    assert msg.HasField("atr")


@given(states())
def test_a_serialized_state_loads_back_and_reserializes_identically(state: GridState) -> None:
    data = snapshot.serialize(state)
    loaded = snapshot.load(data)
    assert snapshot.serialize(loaded) == data
    assert state_to_pb(loaded) == state_to_pb(state)
    assert loaded.book.inventory == state.book.inventory


def test_checksum_is_sha256_of_the_content_without_checksum() -> None:
    msg = state_to_pb(sample_state())
    expected = hashlib.sha256(msg.SerializeToString(deterministic=True)).hexdigest()
    sealed = snapshot.seal(sample_state())
    assert sealed.checksum == expected == snapshot.compute_checksum(sealed)
    assert len(expected) == 64
    before = sealed.SerializeToString(deterministic=True)
    snapshot.compute_checksum(sealed)
    assert sealed.SerializeToString(deterministic=True) == before  # not modified


def alterations(byte: int) -> list[int]:
    return sorted({byte ^ 0x01, byte ^ 0x80, byte ^ 0xFF, 0x00, 0x7F} - {byte})


def test_every_single_byte_change_is_detected() -> None:
    undetected = []
    for i, byte in enumerate(SAMPLE):
        for value in alterations(byte):
            tampered = SAMPLE[:i] + bytes([value]) + SAMPLE[i + 1 :]
            try:
                snapshot.load(tampered)
            except StateIntegrityError:
                continue
            undetected.append((i, byte, value))
    assert not undetected, f"tampering went unnoticed at (offset, was, now): {undetected[:5]}"


@given(st.data())
def test_any_byte_value_at_any_offset_is_detected(data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(SAMPLE) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != SAMPLE[i]))
    with pytest.raises(StateIntegrityError, match=RUNBOOK):
        snapshot.load(SAMPLE[:i] + bytes([value]) + SAMPLE[i + 1 :])


@pytest.mark.parametrize(
    "data",
    [SAMPLE[:-1], SAMPLE[1:], SAMPLE + b"\x00", SAMPLE[: len(SAMPLE) // 2]],
    ids=["last-byte-cut", "first-byte-cut", "byte-appended", "half"],
)
def test_truncated_or_extended_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(StateIntegrityError, match=RUNBOOK):
        snapshot.load(data)


def first_slot(msg: state_pb2.State) -> str:
    return sorted(msg.slots)[0]


MUTATIONS: dict[str, Callable[[state_pb2.State], None]] = {
    "bot_id": lambda m: setattr(m, "bot_id", "snap2"),
    "version": lambda m: setattr(m, "version", m.version + 1),
    "order_seq": lambda m: setattr(m, "order_seq", m.order_seq + 1),
    "last_price": lambda m: setattr(m, "last_price", "61560.0"),
    "risk_mode": lambda m: setattr(m, "risk_mode", enums_pb2.RISK_STATE_NORMAL),
    "realized_pnl": lambda m: setattr(m, "realized_pnl", "1000000"),
    "fees_paid": lambda m: setattr(m, "fees_paid", "0"),
    "slot-position": lambda m: setattr(m.slots[first_slot(m)], "position_qty", "0.016"),
    "slot-status": lambda m: setattr(
        m.slots[first_slot(m)], "slot_status", enums_pb2.SLOT_STATUS_FREE
    ),
    "slot-order": lambda m: setattr(m.slots[first_slot(m)], "order_qty", "1"),
    "slot-removed": lambda m: m.slots.pop(first_slot(m)),
    "retired-order": lambda m: setattr(m.retired_orders[0], "fee", "0"),
    "retired-removed": lambda m: m.retired_orders.pop(),
    "atr-range": lambda m: m.atr.ranges.append("1"),
    "atr-cleared": lambda m: m.ClearField("atr"),
    "checksum": lambda m: setattr(m, "checksum", "0" * 64),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_any_field_change_is_detected(mutate: Callable[[state_pb2.State], None]) -> None:
    msg = state_pb2.State.FromString(SAMPLE)
    mutate(msg)
    assert msg.SerializeToString(deterministic=True) != SAMPLE
    with pytest.raises(StateIntegrityError, match="checksum mismatch") as info:
        snapshot.load(msg.SerializeToString(deterministic=True))
    message = str(info.value)
    assert f"found {msg.checksum!r}" in message
    assert snapshot.compute_checksum(msg) in message
    assert RUNBOOK in message


def test_missing_checksum_is_refused() -> None:
    msg = state_pb2.State.FromString(SAMPLE)
    msg.checksum = ""
    with pytest.raises(StateIntegrityError, match=r"no checksum.*crash-recovery"):
        snapshot.load(msg.SerializeToString(deterministic=True))
    with pytest.raises(StateIntegrityError, match="no checksum"):
        snapshot.load(b"")


def test_garbage_is_refused() -> None:
    with pytest.raises(StateIntegrityError, match=r"does not decode as a State.*crash-recovery"):
        snapshot.load(b"\xff\xfe this is not a protobuf message")


def test_non_canonical_bytes_are_refused_even_with_a_valid_checksum() -> None:
    msg = state_pb2.State.FromString(SAMPLE)
    repeated_field = b"\x48" + bytes([msg.version])  # field 9 (version) again, same value
    assert msg.version < 128
    data = SAMPLE + repeated_field
    assert state_pb2.State.FromString(data) == msg
    with pytest.raises(StateIntegrityError, match="canonical encoding"):
        snapshot.load(data)


def test_inconsistent_content_is_refused_even_with_a_valid_checksum() -> None:
    msg = state_pb2.State.FromString(SAMPLE)
    msg.slots[first_slot(msg)].slot_status = 0
    msg.checksum = snapshot.compute_checksum(msg)
    with pytest.raises(StateIntegrityError, match=r"inconsistent content: State\.slots\[") as info:
        snapshot.load(msg.SerializeToString(deterministic=True))
    assert "slot_status" in str(info.value)
