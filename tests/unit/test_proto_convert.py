"""Python model <-> protobuf conversions: exact round trips and strict reading."""

import dataclasses
import string
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.decimals import decimal_to_str
from market_maker.domain.enums import (
    Liquidity,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionStatus,
    RiskState,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.errors import StateIntegrityError
from market_maker.domain.market import Candle, PriceUpdate
from market_maker.domain.orders import (
    ActionKind,
    CancelOrderRequest,
    OrderAction,
    OrderUpdate,
    PlaceOrderRequest,
)
from market_maker.indicators.atr import AtrMethod, AtrSnapshot
from market_maker.pb import enums_pb2, market_pb2, orders_pb2, slot_pb2, state_pb2
from market_maker.risk.breaker import CircuitBreakerSnapshot
from market_maker.risk.events import RiskEventKind
from market_maker.risk.layer import RiskLayerSnapshot
from market_maker.risk.monitor import CandleStats, MarketWatchSnapshot, RiskMonitorSnapshot
from market_maker.slots.book import SlotBook
from market_maker.slots.client_ids import make_client_order_id
from market_maker.slots.model import OrderRecord, Slot
from market_maker.state import convert as cv
from market_maker.state import convert_base as cb
from market_maker.state.model import GridState

U32, U64, I64 = 2**32 - 1, 2**64 - 1, 2**63 - 1

# -- strategies ----------------------------------------------------------------------------

BOUND = Decimal(10) ** 12
SPECIAL = [Decimal("-0"), Decimal("0E-8"), Decimal("1E+3"), Decimal("1.000"), Decimal("-5E-12")]


def decimals(min_value: Decimal = -BOUND, max_value: Decimal = BOUND) -> st.SearchStrategy[Decimal]:
    """Bounded finite decimals with 0 to 12 places, plus exponent forms and negative zero."""
    fixed = st.integers(0, 12).flatmap(
        lambda p: st.decimals(
            min_value=min_value,
            max_value=max_value,
            places=p,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    scaled = st.builds(
        lambda m, e: Decimal(m).scaleb(e), st.integers(-(10**6), 10**6), st.integers(-8, 4)
    ).filter(lambda d: min_value <= d <= max_value)
    special = st.sampled_from([d for d in SPECIAL if min_value <= d <= max_value])
    return st.one_of(fixed, scaled, special)


prices = decimals(Decimal("1E-8"), BOUND)
opt_prices = st.none() | prices
money = decimals()
texts = st.text(max_size=40)
cids = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=36)
symbols = st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDC:USDC", "1000PEPE/USDT"])
bot_ids = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
i64 = st.integers(-I64 - 1, I64)

order_records = st.builds(
    OrderRecord,
    client_order_id=cids,
    level=prices,
    side=st.sampled_from(Side),
    role=st.sampled_from(OrderRole),
    price=prices,
    qty=prices,
    generation=st.integers(0, U64),
    order_id=texts,
    status=st.none() | st.sampled_from(OrderStatus),
    filled_qty=money,
    filled_quote=money,
    fee=money,
    cancel_requested=st.booleans(),
    post_only=st.booleans(),
    reduce_only=st.booleans(),
    reject_reason=texts,
    placed_ms=st.integers(0, 2**62),
)
slots = st.builds(
    Slot,
    level=prices,
    status=st.sampled_from(SlotStatus),
    position_qty=money,
    cost_basis=money,
    realized_pnl=money,
    fees_paid=money,
    generation=st.integers(0, U64),
    post_only_fail_count=st.integers(0, U32),
    order=st.none() | order_records,
)
place_requests = st.builds(
    PlaceOrderRequest,
    symbol=symbols,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    time_in_force=st.sampled_from(TimeInForce),
    price=prices,
    qty=prices,
    post_only=st.booleans(),
    reduce_only=st.booleans(),
    client_order_id=cids,
)
cancel_requests = st.builds(
    CancelOrderRequest, symbol=symbols, client_order_id=cids, order_id=texts
)
actions = st.one_of(
    st.builds(OrderAction, kind=st.just(ActionKind.PLACE), slot_level=prices, place=place_requests),
    st.builds(
        OrderAction, kind=st.just(ActionKind.CANCEL), slot_level=prices, cancel=cancel_requests
    ),
)
order_updates = st.builds(
    OrderUpdate,
    symbol=symbols,
    order_id=texts,
    client_order_id=cids,
    side=st.sampled_from(Side),
    status=st.sampled_from(OrderStatus),
    price=prices,
    qty=prices,
    cum_filled_qty=money,
    cum_quote_qty=money,
    cum_fee=money,
    last_fill_price=money,
    last_fill_qty=money,
    last_fee=money,
    trade_id=texts,
    liquidity=st.none() | st.sampled_from(Liquidity),
    ts_ms=i64,
    reject_reason=texts,
    post_only_reject=st.booleans(),
)
candles = st.builds(
    Candle,
    symbol=symbols,
    open_time_ms=i64,
    interval_s=i64,
    open=prices,
    high=prices,
    low=prices,
    close=prices,
    volume=money,
    closed=st.booleans(),
)
price_updates = st.builds(
    PriceUpdate, symbol=symbols, price=prices, ts_ms=i64, bid=opt_prices, ask=opt_prices
)
atr_snapshots = st.integers(1, U32).flatmap(
    lambda w: st.builds(
        AtrSnapshot,
        window=st.just(w),
        method=st.sampled_from(AtrMethod),
        prev_close=opt_prices,
        ranges=st.lists(money, max_size=min(w, 8)).map(tuple),
        value=opt_prices,
    )
)


risk_layers = st.builds(
    RiskLayerSnapshot,
    monitor=st.builds(
        RiskMonitorSnapshot,
        state=st.sampled_from([RiskState.NORMAL, RiskState.RISK_MODE]),
        markets=st.lists(
            st.builds(
                MarketWatchSnapshot,
                symbol=st.sampled_from(["BTC/USDT", "ETH/USDT"]),
                recent=st.lists(
                    st.builds(CandleStats, open_time_ms=i64, close=money, volume=money),
                    max_size=4,
                ).map(tuple),
                atr=atr_snapshots,
                last_closed_open_ms=st.none() | i64,
                anomalous=st.booleans(),
                calm_count=st.integers(0, U32),
                reason=texts,
            ),
            max_size=2,
        ).map(tuple),
    ),
    breaker=st.builds(
        CircuitBreakerSnapshot,
        state=st.sampled_from([RiskState.NORMAL, RiskState.HALTED]),
        consecutive_losses=st.integers(0, U32),
        peak_equity=st.none() | money,
        last_equity=st.none() | money,
        tripped_at_ms=st.none() | i64,
        trip_kind=st.none() | st.sampled_from(RiskEventKind),
        trip_reason=texts,
    ),
    open_round_trips=st.dictionaries(prices, money, max_size=3).map(
        lambda d: tuple(sorted(d.items()))
    ),
)


@st.composite
def grid_states(draw: st.DrawFn) -> GridState:
    bot_id, symbol = draw(bot_ids), draw(symbols)
    book = SlotBook(
        bot_id,
        symbol,
        slots=draw(st.lists(slots, max_size=6, unique_by=lambda s: s.level)),
        retired=draw(st.lists(order_records, max_size=6, unique_by=lambda r: r.client_order_id)),
        order_seq=draw(st.integers(0, U64)),
        realized_pnl=draw(money),
        fees_paid=draw(money),
    )
    return GridState(
        bot_id=bot_id,
        symbol=symbol,
        book=book,
        anchor_price=draw(opt_prices),
        last_price=draw(opt_prices),
        last_update_ms=draw(i64),
        version=draw(st.integers(0, U64)),
        risk_state=draw(st.sampled_from(RiskState)),
        center_price=draw(opt_prices),
        interval=draw(opt_prices),
        baseline_atr=draw(opt_prices),
        atr=draw(st.none() | atr_snapshots),
        position_offset=draw(st.none() | money),
        risk_layer=draw(st.none() | risk_layers),
        last_trade_id=draw(st.none() | st.integers(0, 2**63 - 1)),
    )


# -- exact equality --------------------------------------------------------------------------


def assert_same(a: Any, b: Any, path: str = "value") -> None:
    """Equal, with every Decimal also formatting to the same decimal string."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, Decimal):
        assert a == b, f"{path}: {a} != {b}"
        assert decimal_to_str(a) == decimal_to_str(b), f"{path}: {a} and {b} format differently"
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def assert_same_state(a: GridState, b: GridState) -> None:
    for field in dataclasses.fields(GridState):
        if field.name != "book":
            assert_same(getattr(a, field.name), getattr(b, field.name), field.name)
    x, y = a.book, b.book
    assert (x.bot_id, x.symbol, x.order_seq) == (y.bot_id, y.symbol, y.order_seq)
    assert_same(x.realized_pnl, y.realized_pnl, "book.realized_pnl")
    assert_same(x.fees_paid, y.fees_paid, "book.fees_paid")
    assert_same(x.inventory, y.inventory, "book.inventory")
    assert sorted(x.slots) == sorted(y.slots)
    for level, slot in x.slots.items():
        assert_same(slot, y.slots[level], f"book.slots[{level}]")
    assert_same(list(x.retired.items()), list(y.retired.items()), "book.retired")


# -- round trips -----------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], Any]]] = [
    (order_records, cv.order_record_to_pb, cv.order_record_from_pb),
    (slots, cv.slot_to_pb, cv.slot_from_pb),
    (place_requests, cv.place_request_to_pb, cv.place_request_from_pb),
    (cancel_requests, cv.cancel_request_to_pb, cv.cancel_request_from_pb),
    (actions, cv.action_to_pb, cv.action_from_pb),
    (order_updates, cv.order_update_to_pb, cv.order_update_from_pb),
    (candles, cv.candle_to_pb, cv.candle_from_pb),
    (price_updates, cv.price_update_to_pb, cv.price_update_from_pb),
    (atr_snapshots, cv.atr_to_pb, cv.atr_from_pb),
]


@pytest.mark.parametrize(
    ("strategy", "to_pb", "from_pb"),
    ROUND_TRIPS,
    ids=[to_pb.__name__.removesuffix("_to_pb") for _, to_pb, _ in ROUND_TRIPS],
)
def test_round_trip_is_exact(
    strategy: st.SearchStrategy[Any], to_pb: Callable[[Any], Any], from_pb: Callable[[Any], Any]
) -> None:
    @given(strategy)
    def check(value: Any) -> None:
        msg = to_pb(value)
        wire = type(msg).FromString(msg.SerializeToString(deterministic=True))
        assert_same(from_pb(wire), value)

    check()


@given(grid_states())
def test_state_round_trip_is_exact(state: GridState) -> None:
    msg = cv.state_to_pb(state)
    wire = state_pb2.State.FromString(msg.SerializeToString(deterministic=True))
    assert_same_state(cv.state_from_pb(wire), state)
    assert cv.state_to_pb(cv.state_from_pb(wire)) == msg


@given(slots)
def test_slot_fields_are_written_as_documented(slot: Slot) -> None:
    msg = cv.slot_to_pb(slot)
    assert msg.price == decimal_to_str(slot.level)
    if slot.entry_price is None:
        assert msg.entry_price == ""
    else:
        assert Decimal(msg.entry_price) == slot.entry_price
    assert msg.position_status == cb.POSITION_STATUS.to_pb(slot.position_status)
    if slot.order is None:
        assert msg.client_order_id == ""
        assert msg.order_side == enums_pb2.SIDE_UNSPECIFIED
    else:
        assert msg.client_order_id == slot.order.client_order_id
        assert msg.order_price == decimal_to_str(slot.order.price)
        assert msg.order_filled_qty == decimal_to_str(slot.order.filled_qty)


def test_a_state_from_a_real_book_round_trips() -> None:
    book = SlotBook("rt1", "BTC/USDT")
    level = Decimal("61556.04")
    cid = make_client_order_id("rt1", "BTC/USDT", level, Side.BUY, 1)
    request = PlaceOrderRequest(
        "BTC/USDT",
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        level,
        Decimal("0.015"),
        True,
        False,
        cid,
    )
    book.record_intent(OrderAction(ActionKind.PLACE, level, place=request))
    book.apply_update(
        OrderUpdate(
            "BTC/USDT",
            "ex-1",
            cid,
            Side.BUY,
            OrderStatus.FILLED,
            level,
            Decimal("0.015"),
            cum_filled_qty=Decimal("0.015"),
            cum_quote_qty=Decimal("923.3406"),
            cum_fee=Decimal("0.0923"),
            liquidity=Liquidity.MAKER,
            ts_ms=1_700_000_000_000,
        )
    )
    state = GridState("rt1", "BTC/USDT", book, anchor_price=level, version=3)
    back = cv.state_from_pb(cv.state_to_pb(state))
    assert_same_state(back, state)
    assert back.book.slots[level].entry_price == level
    assert back.book.find_order(cid) == book.find_order(cid)


# -- mappings are complete -------------------------------------------------------------------

ENUM_MAPS: list[tuple[cb.EnumMap[Any, Any], type, Any]] = [
    (cb.SIDE, Side, enums_pb2.Side),
    (cb.ORDER_TYPE, OrderType, enums_pb2.OrderType),
    (cb.TIME_IN_FORCE, TimeInForce, enums_pb2.TimeInForce),
    (cb.ORDER_STATUS, OrderStatus, enums_pb2.OrderStatus),
    (cb.SLOT_STATUS, SlotStatus, enums_pb2.SlotStatus),
    (cb.POSITION_STATUS, PositionStatus, enums_pb2.PositionStatus),
    (cb.ORDER_ROLE, OrderRole, enums_pb2.OrderRole),
    (cb.RISK_STATE, RiskState, enums_pb2.RiskState),
    (cb.LIQUIDITY, Liquidity, enums_pb2.Liquidity),
    (cb.ACTION_KIND, ActionKind, enums_pb2.ActionKind),
    (cb.ATR_METHOD, AtrMethod, enums_pb2.AtrMethod),
    (cb.RISK_EVENT_KIND, RiskEventKind, enums_pb2.RiskEventKind),
]


@pytest.mark.parametrize(
    ("mapping", "py_enum", "pb_enum"), ENUM_MAPS, ids=[m.name for m, _, _ in ENUM_MAPS]
)
def test_enum_maps_are_bijections_by_name(mapping: Any, py_enum: Any, pb_enum: Any) -> None:
    assert set(mapping.members) == set(py_enum)
    assert sorted(mapping.members.values()) == sorted(v for v in pb_enum.values() if v != 0)
    assert mapping.unset == 0
    prefix = pb_enum.Name(0).removesuffix("UNSPECIFIED")
    for member, value in mapping.members.items():
        assert pb_enum.Name(value) == prefix + member.name.upper()
        assert mapping.from_pb(value, "f") is member


def test_flat_order_fields_cover_every_order_record_field() -> None:
    record_fields = {f.name for f in slot_pb2.OrderRecord.DESCRIPTOR.fields}
    assert set(cv.FLAT_ORDER_FIELDS) == record_fields
    slot_fields = {f.name: f for f in slot_pb2.InventorySlot.DESCRIPTOR.fields}
    for name, flat in cv.FLAT_ORDER_FIELDS.items():
        record_field = slot_pb2.OrderRecord.DESCRIPTOR.fields_by_name[name]
        assert slot_fields[flat].type == record_field.type
    own = set(slot_fields) - set(cv.FLAT_ORDER_FIELDS.values())
    assert all(not f.startswith("order_") for f in own)


# -- strict reading --------------------------------------------------------------------------

RECORD = OrderRecord(
    "b-BTCUSDT-B1-1",
    Decimal(100),
    Side.BUY,
    OrderRole.OPEN,
    Decimal(100),
    Decimal(1),
    1,
    status=OrderStatus.NEW,
)
SLOT = Slot(Decimal(100), SlotStatus.LOCKED, generation=1, order=RECORD)


def slot_msg(**changes: Any) -> slot_pb2.InventorySlot:
    msg = cv.slot_to_pb(SLOT)
    for name, value in changes.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"slot_status": 0}, "InventorySlot.slot_status: expected a SlotStatus"),
        ({"order_side": 0}, "InventorySlot.order_side: expected a Side"),
        ({"order_role": 0}, "InventorySlot.order_role"),
        ({"order_side": 7}, "unknown value 7"),
        ({"position_status": 0}, "InventorySlot.position_status"),
        ({"position_status": enums_pb2.POSITION_STATUS_FILLED}, "expected EMPTY"),
        ({"position_qty": "1", "cost_basis": "100"}, "expected FILLED"),
        ({"entry_price": "100"}, "InventorySlot.entry_price"),
        ({"order_qty": ""}, "InventorySlot.order_qty"),
        ({"order_price": "NaN"}, "InventorySlot.order_price: expected a finite"),
        ({"price": "abc"}, "InventorySlot.price"),
        ({"client_order_id": ""}, "order_side, order_role"),
    ],
)
def test_bad_slot_messages_are_refused_naming_the_field(
    changes: dict[str, Any], needle: str
) -> None:
    with pytest.raises(StateIntegrityError, match=needle):
        cv.slot_from_pb(slot_msg(**changes))


def test_unspecified_required_enums_are_refused() -> None:
    update = orders_pb2.OrderUpdate(
        side=enums_pb2.SIDE_BUY,
        price="1",
        qty="1",
        cum_filled_qty="0",
        cum_quote_qty="0",
        cum_fee="0",
        last_fill_price="0",
        last_fill_qty="0",
        last_fee="0",
    )
    with pytest.raises(StateIntegrityError, match=r"OrderUpdate\.status: expected an? OrderStatus"):
        cv.order_update_from_pb(update)
    with pytest.raises(StateIntegrityError, match=r"PlaceOrderRequest\.side"):
        cv.place_request_from_pb(orders_pb2.PlaceOrderRequest(price="1", qty="1"))
    with pytest.raises(StateIntegrityError, match=r"OrderAction\.kind"):
        cv.action_from_pb(orders_pb2.OrderAction(slot_level="1"))
    with pytest.raises(StateIntegrityError, match=r"AtrState\.method"):
        cv.atr_from_pb(state_pb2.AtrState(window=3))
    with pytest.raises(StateIntegrityError, match=r"State\.risk_mode"):
        cv.state_from_pb(
            state_pb2.State(bot_id="b", symbol="BTC/USDT", realized_pnl="0", fees_paid="0")
        )


def test_action_kind_must_match_its_request() -> None:
    msg = orders_pb2.OrderAction(
        kind=enums_pb2.ACTION_KIND_CANCEL,
        slot_level="1",
        place=orders_pb2.PlaceOrderRequest(),
    )
    with pytest.raises(StateIntegrityError, match="expected a cancel request"):
        cv.action_from_pb(msg)
    with pytest.raises(StateIntegrityError, match="must carry only a place request"):
        cv.action_to_pb(OrderAction(ActionKind.PLACE, Decimal(1)))


def test_market_messages_require_their_prices() -> None:
    with pytest.raises(StateIntegrityError, match=r"Candle\.high"):
        cv.candle_from_pb(market_pb2.Candle(open="1", low="1", close="1", volume="1"))
    with pytest.raises(StateIntegrityError, match=r"PriceChange\.price"):
        cv.price_update_from_pb(market_pb2.PriceChange())


def test_atr_window_must_hold_its_ranges() -> None:
    method = enums_pb2.ATR_METHOD_SIMPLE
    with pytest.raises(StateIntegrityError, match="window 2 with 3 ranges"):
        cv.atr_from_pb(state_pb2.AtrState(window=2, method=method, ranges=["1", "2", "3"]))
    with pytest.raises(StateIntegrityError, match="window 0"):
        cv.atr_from_pb(state_pb2.AtrState(window=0, method=method))


def base_state() -> state_pb2.State:
    book = SlotBook(
        "b",
        "BTC/USDT",
        slots=[SLOT],
        retired=[
            dataclasses.replace(
                RECORD, client_order_id="b-BTCUSDT-B0-1", status=OrderStatus.CANCELED
            )
        ],
    )
    return cv.state_to_pb(GridState("b", "BTC/USDT", book))


def test_state_slot_keys_must_equal_their_levels() -> None:
    msg = base_state()
    msg.slots["100.0"].CopyFrom(msg.slots["100"])
    with pytest.raises(StateIntegrityError, match=r"State\.slots\['100.0'\]\.price"):
        cv.state_from_pb(msg)
    msg.slots["100.0"].price = "100.0"
    with pytest.raises(StateIntegrityError, match="appears twice"):
        cv.state_from_pb(msg)


def test_state_retired_ids_must_be_unique() -> None:
    msg = base_state()
    msg.retired_orders.add().CopyFrom(msg.retired_orders[0])
    with pytest.raises(StateIntegrityError, match="client_order_id appears twice"):
        cv.state_from_pb(msg)


def test_state_with_unusable_symbol_is_refused() -> None:
    msg = base_state()
    msg.symbol = "///"
    with pytest.raises(StateIntegrityError, match="cannot rebuild the slot book"):
        cv.state_from_pb(msg)


def test_writing_refuses_what_it_cannot_represent() -> None:
    with pytest.raises(StateIntegrityError, match="empty client_order_id"):
        cv.order_record_to_pb(dataclasses.replace(RECORD, client_order_id=""))
    state = GridState("other", "BTC/USDT", SlotBook("b", "BTC/USDT"))
    with pytest.raises(StateIntegrityError, match="refusing to persist"):
        cv.state_to_pb(state)
