"""The simulated exchange with a test's hand on its market.

Tests of the slot book and of the strategy's decisions need the venue's reports without an
engine: they place and cancel orders themselves and move the market to where they want
fills. ``Market`` gives them those verbs on the real ``SimulatedExchange`` (the backtests'
venue), so their reports are the ones a backtest books: a margin account (shorts need no
balance), fills bounded by the traded volume, fees in quote currency.
"""

from collections.abc import Sequence
from decimal import Decimal

from market_maker.domain.market import Candle
from market_maker.domain.orders import (
    ActionKind,
    CancelOrderRequest,
    OrderAction,
    OrderUpdate,
    PlaceOrderRequest,
)
from market_maker.exchanges.simulated import SimOrder, SimulatedExchange, SimulatedExchangeConfig
from market_maker.slots.book import SlotBook, UpdateResult

UNLIMITED = Decimal(10) ** 9
"""Traded volume of a move without a fill limit: more than any order."""


class Market:
    """One symbol of a ``SimulatedExchange`` and the market it trades at.

    Attributes:
        exchange: The venue (its ``orders`` hold every order placed, with its fills).
        ts_ms: Time of the latest market event (a counter: one millisecond per event).
    """

    def __init__(self, symbol: str, fee_rate: Decimal = Decimal("0.001")) -> None:
        self.symbol = symbol
        self.exchange = SimulatedExchange(
            symbol,
            {},
            SimulatedExchangeConfig(
                maker_fee=fee_rate, taker_fee=fee_rate, spot=False, max_fill_fraction=Decimal(1)
            ),
        )
        self.ts_ms = 0

    @property
    def last_price(self) -> Decimal | None:
        """The market price (post-only orders are checked against it)."""
        return self.exchange.last_price

    @property
    def orders(self) -> dict[str, SimOrder]:
        """Every order placed, by client order id."""
        return self.exchange.orders

    def open_orders(self) -> list[SimOrder]:
        """Orders still resting."""
        return list(self.exchange.resting.values())

    def place(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Send an order; the venue's answer (NEW, REJECTED or an immediate fill)."""
        return self.exchange.place_order(request)

    def cancel(self, client_order_id: str) -> OrderUpdate | None:
        """Cancel an order; ``None`` when it is unknown or finished."""
        return self.exchange.cancel_order(CancelOrderRequest(self.symbol, client_order_id))

    def quote(self, price: Decimal) -> None:
        """Set the market price without filling anything (a trade of no volume)."""
        assert self.trade(price, Decimal(0)) == []

    def fill(self, client_order_id: str, qty: Decimal) -> OrderUpdate:
        """Fill ``qty`` of one resting order at its limit: a trade of ``qty`` at its price.

        The trade must reach no other order first (the tests that use it rest at most one
        order per side at a time, or fill the best one).
        """
        order = self.exchange.orders[client_order_id]
        reports = self.trade(order.request.price, qty)
        assert [(r.client_order_id, r.last_fill_qty) for r in reports] == [
            (client_order_id, qty)
        ], f"a trade of {qty} at {order.request.price} filled {reports}"
        return reports[0]

    def move_to(self, price: Decimal, fill_step: Decimal | None = None) -> list[OrderUpdate]:
        """Move the market straight to ``price`` (a one-minute candle from the last price).

        Every resting order the move passes fills at its limit; with ``fill_step`` the
        candle's volume is that quantity, which the orders it reaches share (partial fills).
        """
        last = self.exchange.last_price
        start = price if last is None else last
        self.ts_ms += 60_000
        candle = Candle(
            self.symbol,
            self.ts_ms,
            60,
            start,
            max(start, price),
            min(start, price),
            price,
            UNLIMITED if fill_step is None else fill_step,
        )
        return self.exchange.on_candle(candle)

    def trade(self, price: Decimal, qty: Decimal) -> list[OrderUpdate]:
        """A trade of ``qty`` prints at ``price``: the resting orders it reaches (best first)
        share its volume, each at its limit. Returns their fill reports."""
        self.ts_ms += 1
        return self.exchange.on_trade(self.ts_ms, price, qty)


def execute(book: SlotBook, market: Market, actions: Sequence[OrderAction]) -> list[UpdateResult]:
    """Send ``actions`` in order as an engine does: write-ahead intent (or cancel mark), the
    exchange call, then book the exchange's answer. For tests that build a book by hand or
    check single decisions; trading along a path is the engine's job (``simple_engine``)."""
    results = []
    for action in actions:
        if action.kind is ActionKind.PLACE:
            assert action.place is not None
            book.record_intent(action)
            results.append(book.apply_update(market.place(action.place)))
        else:
            book.record_cancel_sent(action.slot_level)
            update = market.cancel(action.client_order_id)
            if update is not None:
                results.append(book.apply_update(update))
    return results
