"""The simulated exchange: the matching engine behind backtests and paper trading.

An ``Exchange`` implementation of its own (not a flag inside a real adapter). It keeps
resting limit orders, fills them when the market's price path reaches them, charges maker
and taker fees in quote currency, rejects post-only orders that would cross and duplicate
client order ids, optionally fills only part of the traded volume, and tracks balances
exactly.

Fill rules (candles):

* The path of a candle is ``open -> low -> high -> close`` when it closed at or above its
  open (it dipped first), and ``open -> high -> low -> close`` when it closed below.
* An order is eligible from the first market event after it was placed (plus
  ``latency_events``), so an order placed after a candle cannot fill inside that candle.
* A resting buy at ``P`` fills when the candle's low reaches ``P``, at ``P`` (maker); if the
  candle opened below ``P`` (a gap) it fills at the open, the first price that reached it.
  Sells mirror this. Every fill price therefore lies within the candle's [low, high].
* Orders fill in the order the path reaches them. With ``max_fill_fraction`` set, the
  candle's fills share at most that fraction of its volume; the rest keeps resting.
* A limit order that is not post-only and crosses the last price fills at once, at the last
  price, as taker. A post-only order that would cross is rejected.

Trade ticks follow the same rules with a path of one price and a volume of the trade size,
except that a resting order a trade prints at or through fills at its own limit: the
trade's taker swept the book and met our order at its price (there is no gap to fill at).

Reduce-only orders (Binance USD-M rules). The position is the signed base total,
``total(base)``: on a spot account the base balance held (never negative), on a margin
account the signed position.

* At placement a reduce-only order is REJECTED, never rested or filled, when it would open
  or increase the position: the position is zero, or the order is on the position's side (a
  buy against a long or zero position, a sell against a short or zero one), or its quantity
  exceeds the position's size (it would flip it). Binance answers the same orders with -2022
  "ReduceOnly Order is rejected."; the reason starts with ``REDUCE_ONLY_REJECT``. The check
  is per order, as Binance documents it (one order against the position; how it counts
  other resting reduce-only orders is not verified): other resting reduce-only orders on the
  same side are not counted, so together they may exceed the position; the fill-time rule
  below keeps them from flipping it. It comes before the post-only check.
* When the path reaches a reduce-only order (candle, trade or its own immediate taker
  fill), it fills at most the position's size at that moment (rounded down to ``qty_step``).
  If that is less than it would otherwise fill (other fills shrank the position since it was
  placed, or it is gone or on the other side) the order fills that much and then EXPIRES:
  it stops resting and releases what it locked; the fill report is followed by an EXPIRED
  report whose reason starts with ``REDUCE_ONLY_EXPIRED``. A reduce-only fill therefore
  never opens, increases or flips the position. Expiry is checked when the price reaches
  the order, not as soon as the position changes.
"""

from bisect import bisect_left, bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import Liquidity, OrderStatus, OrderType, Side
from market_maker.domain.instrument import floor_to, split_symbol
from market_maker.domain.market import Candle
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges import reduce_only
from market_maker.exchanges.base import Balance, OwnTrade


@dataclass(frozen=True, slots=True)
class SimulatedExchangeConfig:
    """Venue behaviour.

    Attributes:
        maker_fee: Fee rate of resting fills, fraction of the fill value.
        taker_fee: Fee rate of crossing fills.
        latency_events: Market events an order waits before it can fill (0 = the next one).
        max_fill_fraction: Share of a candle's (or trade's) volume our orders may take;
            ``None`` = unlimited.
        spot: Spot account (orders need free balance; sells need base currency held).
            Off = a margin account where the base balance is a signed position.
        qty_step: Partial fills are whole multiples of this (the instrument's step size).
        order_history: Finished orders (filled, cancelled, rejected, expired) the venue
            still answers lookups and duplicate checks for, the most recently finished;
            older ones are forgotten, as a real venue's order history ends somewhere.
            ``None`` = every order ever placed (a full ledger, as the paper venue serves).
            Resting orders are always kept.
        fill_ledger: Keep every fill report in ``SimulatedExchange.fills`` (the paper
            venue serves them). Off, fills are only counted (``fill_count``): a backtest
            books them as they come and needs no copy.
        trade_history: With ``fill_ledger`` off, how many of the latest fills ``own_trades``
            still answers for (older ones are forgotten, as a venue's trade history ends
            somewhere); with the ledger on, every fill is answered from the ledger.
    """

    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    latency_events: int = 0
    max_fill_fraction: Decimal | None = None
    spot: bool = True
    qty_step: Decimal | None = None
    order_history: int | None = None
    fill_ledger: bool = True
    trade_history: int = 1000

    def __post_init__(self) -> None:
        if self.order_history is not None and self.order_history < 0:
            raise ValueError(
                f"order_history: expected 0 or more finished orders, or None for all, "
                f"found {self.order_history}"
            )
        if self.trade_history < 0:
            raise ValueError(f"trade_history: expected 0 or more fills, found {self.trade_history}")


@dataclass(slots=True)
class SimOrder:
    """An order held by the simulated exchange."""

    request: PlaceOrderRequest
    order_id: str
    eligible_from: int
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = ZERO
    quote: Decimal = ZERO
    fee: Decimal = ZERO
    locked: Decimal = ZERO  # quote (buys) or base (sells) reserved on a spot account
    lock_per_unit: Decimal = ZERO  # reserved per unit of quantity
    liquidity: Liquidity | None = None  # of the latest fill (reported by lookups)


_LAST = "\U0010ffff"
"""Sorts after every id: a bisection key past all entries of one price."""


def _own_trade(trade_id: int, fill: OrderUpdate) -> OwnTrade:
    """The trade-list entry of one fill report."""
    assert fill.liquidity is not None  # every fill report names its liquidity
    return OwnTrade(
        trade_id=trade_id,
        order_id=fill.order_id,
        client_order_id=fill.client_order_id,
        side=fill.side,
        price=fill.last_fill_price,
        qty=fill.last_fill_qty,
        fee=fill.last_fee,
        liquidity=fill.liquidity,
        ts_ms=fill.ts_ms,
    )


def _queue_entry(order: SimOrder) -> tuple[Decimal, str, str]:
    request = order.request
    key = -request.price if request.side is Side.BUY else request.price
    return key, order.order_id, request.client_order_id


@dataclass
class SimulatedExchange:
    """One symbol on a simulated venue. Deterministic; no clock, no I/O."""

    symbol: str
    balances_init: dict[str, Decimal]
    config: SimulatedExchangeConfig = field(default_factory=SimulatedExchangeConfig)

    def __post_init__(self) -> None:
        self.base, self.quote = split_symbol(self.symbol)
        self.free: dict[str, Decimal] = {self.base: ZERO, self.quote: ZERO}
        self.free.update(self.balances_init)
        self.locked: dict[str, Decimal] = {self.base: ZERO, self.quote: ZERO}
        # Orders by client order id, in placement order: resting ones, and finished ones
        # up to ``config.order_history`` (the most recently finished, ``_finished``).
        self.orders: dict[str, SimOrder] = {}
        self._finished: deque[str] = deque()
        self._placed = 0  # orders accepted into ``orders`` so far (numbers the next id)
        self.resting: dict[str, SimOrder] = {}
        self.events = 0
        self.ts_ms = 0
        self.last_price: Decimal | None = None
        self._best_buy: Decimal | None = None
        self._best_sell: Decimal | None = None
        # Resting orders per side, best first: (price key, order id, client order id), the
        # key being -price for buys and price for sells. Sweeps bisect instead of scanning.
        self._queue: dict[Side, list[tuple[Decimal, str, str]]] = {Side.BUY: [], Side.SELL: []}
        # Every fill report, in order (the venue's ledger), when ``config.fill_ledger``.
        self.fills: list[OrderUpdate] = []
        self.fill_count = 0  # fill reports sent so far
        # Without the ledger, the latest fill reports ``own_trades`` answers for (bounded).
        self._recent_fills: deque[OrderUpdate] = deque(maxlen=self.config.trade_history)

    # -- Exchange interface ----------------------------------------------------------------

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Accept, fill at once (crossing, not post-only) or reject an order."""
        order_id = str(self._placed + 1)
        if request.client_order_id in self.orders:
            dup = SimOrder(request, order_id, self.events, OrderStatus.REJECTED)
            return self._report(dup, reason="duplicate client order id")
        order = SimOrder(request, order_id, self.events + self.config.latency_events)
        self.orders[request.client_order_id] = order
        self._placed += 1
        if request.reduce_only and (reason := self._reduce_only_reject(request)):
            return self._reject(order, reason)
        side, price = request.side, request.price
        last = self.last_price
        crosses = last is not None and (
            request.order_type is OrderType.MARKET
            or (side is Side.BUY and price >= last)
            or (side is Side.SELL and price <= last)
        )
        if crosses and request.post_only:
            return self._reject(order, "post-only order would cross", post_only=True)
        reason = self._lock(order, last if crosses and last is not None else price)
        if reason:
            return self._reject(order, reason)
        if crosses:
            assert last is not None
            # A reduce-only order passed its check above against this very position, so
            # filling all of it reduces the position without flipping it: no cap needed.
            return self._fill(order, request.qty, last, Liquidity.TAKER)
        self._rest(order)
        return self._report(order)

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel a resting order; ``None`` when it is unknown or already finished."""
        order = self.orders.get(request.client_order_id)
        if order is None or order.status.is_terminal:
            return None
        order.status = OrderStatus.CANCELED
        self._unrest(order)
        report = self._report(order)
        self._finish(order)
        return report

    def get_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """Current state of one order, or ``None`` (also once it left ``order_history``)."""
        order = self.orders.get(client_order_id)
        return None if order is None else self._report(order, liquidity=order.liquidity)

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        """Every resting order."""
        return [self._report(o) for o in self.resting.values()]

    def balances(self) -> dict[str, Balance]:
        """Free and locked balances by asset."""
        return {a: Balance(a, self.free[a], self.locked.get(a, ZERO)) for a in self.free}

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        """Our fills with a trade id above ``after_id``, oldest first, at most ``limit``.

        The trade id is the fill's 1-based sequence number on this venue. Without the fill
        ledger only the latest ``config.trade_history`` fills are still answered for.
        """
        if self.config.fill_ledger:
            held, first_id = self.fills, 1
        else:
            held, first_id = list(self._recent_fills), self.fill_count - len(self._recent_fills) + 1
        start = max(0, (after_id or 0) + 1 - first_id)
        return [
            _own_trade(first_id + i, held[i]) for i in range(start, min(len(held), start + limit))
        ]

    def total(self, asset: str) -> Decimal:
        """Free plus locked amount of ``asset`` (the base total is the position)."""
        return self.free.get(asset, ZERO) + self.locked.get(asset, ZERO)

    def reduce_only_room(self, side: Side) -> Decimal:
        """How much a reduce-only ``side`` order may fill now (0 when it cannot reduce)."""
        return reduce_only.room(self.total(self.base), side)

    # -- market data -----------------------------------------------------------------------

    def on_candle(self, candle: Candle) -> list[OrderUpdate]:
        """Advance the market by one candle; return the fill reports it caused."""
        self.events += 1
        self.ts_ms = candle.open_time_ms
        best_buy, best_sell = self._best_buy, self._best_sell
        if (best_buy is None or candle.low > best_buy) and (
            best_sell is None or candle.high < best_sell
        ):
            self.last_price = candle.close  # nothing reached: the common case, kept cheap
            return []
        reports: list[OrderUpdate] = []
        budget = (
            None
            if self.config.max_fill_fraction is None
            else candle.volume * self.config.max_fill_fraction
        )
        if candle.close >= candle.open:
            legs = ((Side.BUY, candle.low), (Side.SELL, candle.high))
        else:
            legs = ((Side.SELL, candle.high), (Side.BUY, candle.low))
        for side, extreme in legs:
            budget = self._sweep(side, extreme, candle.open, budget, reports)
        self.last_price = candle.close
        return reports

    def on_trade(self, ts_ms: int, price: Decimal, qty: Decimal) -> list[OrderUpdate]:
        """Advance the market by one trade; return the fill reports it caused."""
        self.events += 1
        self.ts_ms = ts_ms
        best_buy, best_sell = self._best_buy, self._best_sell
        if (best_buy is None or price > best_buy) and (best_sell is None or price < best_sell):
            self.last_price = price  # nothing reached: the common case, kept cheap
            return []
        reports: list[OrderUpdate] = []
        budget = (
            None if self.config.max_fill_fraction is None else qty * self.config.max_fill_fraction
        )
        budget = self._sweep(Side.BUY, price, None, budget, reports)
        self._sweep(Side.SELL, price, None, budget, reports)
        self.last_price = price
        return reports

    # -- internals -------------------------------------------------------------------------

    def _sweep(
        self,
        side: Side,
        extreme: Decimal,
        open_price: Decimal | None,
        budget: Decimal | None,
        reports: list[OrderUpdate],
    ) -> Decimal | None:
        """Fill resting ``side`` orders the path reaches on its way to ``extreme``."""
        sign = side.sign  # buys are reached top-down, sells bottom-up
        queue = self._queue[side]
        reached = bisect_right(queue, (-sign * extreme, _LAST, _LAST))
        resting, events = self.resting, self.events
        hit = [
            order for _, _, cid in queue[:reached] if (order := resting[cid]).eligible_from < events
        ]
        for order in hit:
            if budget is not None and budget <= 0:
                break
            request = order.request
            limit = request.price
            # A candle that opened beyond the limit reached it first at its open; a trade
            # (``open_price`` None) prints through the book and meets the order at its limit.
            price = limit
            if open_price is not None and (
                open_price < limit if side is Side.BUY else open_price > limit
            ):
                price = open_price
            qty = request.qty - order.filled
            if budget is not None:
                qty = min(qty, budget)
                if self.config.qty_step is not None:
                    qty = floor_to(qty, self.config.qty_step)
                if qty <= 0:
                    break
            expire = False
            if request.reduce_only:
                qty, expire = self._reduce_only_cap(request.side, qty)
            if qty > 0:
                if budget is not None:
                    budget -= qty
                reports.append(self._fill(order, qty, price, Liquidity.MAKER))
            if expire:
                reports.append(self._expire(order))
        return budget

    def _reduce_only_reject(self, request: PlaceOrderRequest) -> str:
        """Why a reduce-only order may not be placed now, or "" when it reduces."""
        position = self.total(self.base)
        return reduce_only.reject_reason(request.side, request.qty, position, self.base)

    def _reduce_only_cap(self, side: Side, qty: Decimal) -> tuple[Decimal, bool]:
        """What a reduce-only ``side`` order about to fill ``qty`` may fill, and if it expires."""
        return reduce_only.cap(side, qty, self.total(self.base), self.config.qty_step)

    def _expire(self, order: SimOrder) -> OrderUpdate:
        """End a reduce-only order that can no longer reduce; partial fills stand."""
        order.status = OrderStatus.EXPIRED
        self._unrest(order)
        request = order.request
        reason = reduce_only.expired_reason(
            request.side, request.qty, request.qty - order.filled, self.total(self.base), self.base
        )
        report = self._report(order, reason=reason)
        self._finish(order)
        return report

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, liq: Liquidity) -> OrderUpdate:
        request = order.request
        value = qty * price
        rate = self.config.maker_fee if liq is Liquidity.MAKER else self.config.taker_fee
        fee = value * rate
        base, quote = self.base, self.quote
        self._release(order, quote if request.side is Side.BUY else base, qty * order.lock_per_unit)
        if request.side is Side.BUY:
            self.free[quote] -= value + fee
            self.free[base] += qty
        else:
            self.free[base] -= qty
            self.free[quote] += value - fee
        order.filled += qty
        order.quote += value
        order.fee += fee
        order.liquidity = liq
        if order.filled == request.qty:
            order.status = OrderStatus.FILLED
            self._unrest(order)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
        report = self._report(order, qty, price, fee, liq)
        self.fill_count += 1
        if self.config.fill_ledger:
            self.fills.append(report)
        else:
            self._recent_fills.append(report)
        if order.status is OrderStatus.FILLED:
            self._finish(order)
        return report

    def _reject(self, order: SimOrder, reason: str, *, post_only: bool = False) -> OrderUpdate:
        """Refuse a placed order for good; its REJECTED report."""
        order.status = OrderStatus.REJECTED
        report = self._report(order, reason=reason, post_only=post_only)
        self._finish(order)
        return report

    def _finish(self, order: SimOrder) -> None:
        """Note that ``order`` finished; forget the oldest finished beyond ``order_history``."""
        keep = self.config.order_history
        if keep is None:
            return
        finished = self._finished
        finished.append(order.request.client_order_id)
        while len(finished) > keep:
            del self.orders[finished.popleft()]

    def _lock(self, order: SimOrder, price: Decimal) -> str:
        """Reserve what a spot order needs; return a reject reason, or "" when it fits.

        A buy reserves its value at ``price`` plus the larger fee rate; a sell its quantity.
        """
        if not self.config.spot:
            return ""
        request = order.request
        if request.side is Side.BUY:
            per_unit = price * (1 + max(self.config.maker_fee, self.config.taker_fee))
            asset = self.quote
        else:
            per_unit = Decimal(1)
            asset = self.base
        need = request.qty * per_unit
        if self.free[asset] < need:
            return f"insufficient balance: {asset} free {self.free[asset]}, needed {need}"
        self.free[asset] -= need
        self.locked[asset] += need
        order.locked = need
        order.lock_per_unit = per_unit
        return ""

    def _release(self, order: SimOrder, asset: str, amount: Decimal) -> None:
        amount = min(amount, order.locked)
        if amount:
            order.locked -= amount
            self.locked[asset] -= amount
            self.free[asset] += amount

    def _rest(self, order: SimOrder) -> None:
        request = order.request
        self.resting[request.client_order_id] = order
        insort(self._queue[request.side], _queue_entry(order))
        self._refresh_best()

    def _unrest(self, order: SimOrder) -> None:
        request = order.request
        if self.resting.pop(request.client_order_id, None) is not None:
            asset = self.quote if request.side is Side.BUY else self.base
            self._release(order, asset, order.locked)
            queue = self._queue[request.side]
            del queue[bisect_left(queue, _queue_entry(order))]
            self._refresh_best()

    def _refresh_best(self) -> None:
        buys, sells = self._queue[Side.BUY], self._queue[Side.SELL]
        self._best_buy = -buys[0][0] if buys else None
        self._best_sell = sells[0][0] if sells else None

    def _report(
        self,
        order: SimOrder,
        last_qty: Decimal = ZERO,
        last_price: Decimal = ZERO,
        last_fee: Decimal = ZERO,
        liquidity: Liquidity | None = None,
        reason: str = "",
        post_only: bool = False,
    ) -> OrderUpdate:
        request = order.request
        return OrderUpdate(
            symbol=request.symbol,
            order_id=order.order_id,
            client_order_id=request.client_order_id,
            side=request.side,
            status=order.status,
            price=request.price,
            qty=request.qty,
            cum_filled_qty=order.filled,
            cum_quote_qty=order.quote,
            cum_fee=order.fee,
            last_fill_price=last_price,
            last_fill_qty=last_qty,
            last_fee=last_fee,
            trade_id=f"{order.order_id}-{order.filled}" if last_qty else "",
            liquidity=liquidity,
            ts_ms=self.ts_ms,
            reject_reason=reason,
            post_only_reject=post_only,
        )
