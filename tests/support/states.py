"""Build realistic ``GridState`` values by driving the real slot book against the simulated
exchange.

Deterministic: the same arguments always build the same state, byte for byte, so a test (or
a child process) can rebuild the state it expects to load.
"""

from decimal import Decimal

from market_maker.domain.enums import OrderType, RiskState, Side, SlotStatus, TimeInForce
from market_maker.domain.orders import (
    ActionKind,
    CancelOrderRequest,
    OrderAction,
    PlaceOrderRequest,
)
from market_maker.indicators.atr import AtrMethod, AtrSnapshot
from market_maker.slots.book import SlotBook
from market_maker.slots.client_ids import make_client_order_id
from market_maker.state.model import GridState
from support.market import Market, execute

SYMBOL = "BTC/USDT"
BOT = "st1"
TOP = Decimal("61500.5")
STEP = Decimal("12.25")
QTY = Decimal("0.015")


def place(book: SlotBook, level: Decimal, side: Side, qty: Decimal, price: Decimal) -> OrderAction:
    """A PLACE action for the slot at ``level`` with the book's next generation."""
    cid = make_client_order_id(book.bot_id, book.symbol, level, side, book.order_seq + 1)
    request = PlaceOrderRequest(
        book.symbol,
        side,
        OrderType.LIMIT,
        TimeInForce.GTC,
        price,
        qty,
        True,
        side is Side.SELL,
        cid,
    )
    return OrderAction(ActionKind.PLACE, level, place=request)


def cancel(book: SlotBook, level: Decimal) -> OrderAction:
    """A CANCEL action for the slot's current order."""
    order = book.slots[level].order
    assert order is not None
    request = CancelOrderRequest(book.symbol, order.client_order_id, order.order_id)
    return OrderAction(ActionKind.CANCEL, level, cancel=request)


def levels(slots: int) -> list[Decimal]:
    """The buy levels of a ladder of ``slots`` slots, highest first."""
    return [TOP - i * STEP for i in range(slots)]


def trade_round(book: SlotBook, market: Market, slots: int, variant: int) -> None:
    """One round of trading: buy at every free slot, dip, close the fills, cancel some.

    ``variant`` picks how deep the price dips, so different variants leave different slots
    filled, partially filled, resting, cancelled and pending.
    """
    ladder = levels(slots)
    market.move_to(TOP + STEP)
    for level in ladder:
        slot = book.get(level)
        if slot is None or (slot.status is SlotStatus.FREE and slot.position_qty == 0):
            execute(book, market, [place(book, level, Side.BUY, QTY, level)])
    depth = 1 + variant % max(1, slots - 1)
    for update in market.move_to(ladder[depth - 1]):
        book.apply_update(update)
    # A partial fill one level below the dip (a trade there), then the market ticks up off
    # that level, so that the recovery below starts above the partly filled buy.
    if depth < slots:
        below = book.slots[ladder[depth]].order
        assert below is not None
        book.apply_update(market.fill(below.client_order_id, QTY / 3))
        market.quote(ladder[depth] + STEP / 2)
    # Closing sells for the filled slots; the price recovers half way, so the lower half
    # takes profit and the upper half keeps its position and its resting closing order.
    for level in ladder[:depth]:
        slot = book.slots[level]
        if slot.status is SlotStatus.FREE and slot.position_qty > 0:
            action = place(book, level, Side.SELL, slot.position_qty, level + STEP)
            execute(book, market, [action])
    for update in market.move_to(ladder[depth // 2] + STEP):
        book.apply_update(update)
    # Cancel the lowest resting buy; leave one intent pending (sent, outcome unknown).
    lowest = book.slots[ladder[-1]]
    if lowest.status is SlotStatus.LOCKED:
        execute(book, market, [cancel(book, ladder[-1])])
    if book.slots[ladder[-1]].status is SlotStatus.FREE:
        book.record_intent(place(book, ladder[-1], Side.BUY, QTY, ladder[-1]))


def build(
    *,
    bot_id: str = BOT,
    symbol: str = SYMBOL,
    slots: int = 50,
    version: int = 1,
    variant: int = 0,
) -> tuple[GridState, Market]:
    """A state with ``slots`` slots, and the market (the exchange) holding its orders.

    The state has positions, resting opening and closing orders, a pending intent, retired
    orders, realized PnL and fees, and ATR; ``variant`` changes how many of each.
    """
    book = SlotBook(bot_id, symbol)
    market = Market(symbol)
    trade_round(book, market, slots, variant)
    atr = AtrSnapshot(3, AtrMethod.WILDER, TOP, (Decimal("12.5"), Decimal(9)), None)
    state = GridState(
        bot_id,
        symbol,
        book,
        anchor_price=TOP,
        last_price=market.last_price,
        last_update_ms=1_700_000_000_000 + market.ts_ms,
        version=version,
        risk_state=RiskState.NORMAL if variant % 3 else RiskState.RISK_MODE,
        center_price=TOP + STEP,
        interval=STEP,
        baseline_atr=Decimal(10),
        atr=atr,
    )
    return state, market


def grid_state(
    *,
    bot_id: str = BOT,
    symbol: str = SYMBOL,
    slots: int = 50,
    version: int = 1,
    variant: int = 0,
) -> GridState:
    """The state of ``build`` alone."""
    return build(bot_id=bot_id, symbol=symbol, slots=slots, version=version, variant=variant)[0]
