"""``FillLedger``: our fills per order, keyed by trade id, for exact cumulative fees.

A venue's order answer carries the cumulative filled quantity but no fee, and a websocket
order event carries the fee of its *last* trade only. The ledger collects every trade of
our orders once (from order answers, stream events and the trade list, in any order and
any number of times) and sums them: the cumulative fee of an order is the sum of its
trades' fees, complete when their quantities add up to the order's filled quantity.

Bounded: it holds the trades of the ``max_orders`` orders seen last.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.exchanges.base import OwnTrade


@dataclass(frozen=True, slots=True)
class FillTotals:
    """What the ledger knows of one order's fills.

    Attributes:
        qty: Quantity of its known trades.
        quote: Their value (price x quantity).
        fee: Their fees, in quote currency.
        last: The known trade with the highest id, if any.
    """

    qty: Decimal
    quote: Decimal
    fee: Decimal
    last: OwnTrade | None


EMPTY = FillTotals(ZERO, ZERO, ZERO, None)


class FillLedger:
    """Trades of our orders by order id (thread-safe: the stream and the runner share it).

    Args:
        max_orders: Orders kept; the least recently touched is dropped beyond that.
    """

    def __init__(self, max_orders: int = 5000) -> None:
        self.max_orders = max_orders
        self._trades: OrderedDict[str, dict[int, OwnTrade]] = OrderedDict()
        self._client_ids: OrderedDict[str, str] = OrderedDict()
        self.last_trade_id: int | None = None  # the highest trade id seen
        self._lock = threading.Lock()

    def add(self, trade: OwnTrade) -> bool:
        """Record one trade; True when it was new."""
        with self._lock:
            trades = self._trades.setdefault(trade.order_id, {})
            self._trades.move_to_end(trade.order_id)
            if trade.client_order_id:
                self._remember(trade.order_id, trade.client_order_id)
            if self.last_trade_id is None or trade.trade_id > self.last_trade_id:
                self.last_trade_id = trade.trade_id
            new = trade.trade_id not in trades
            if new:
                trades[trade.trade_id] = trade
            while len(self._trades) > self.max_orders:
                self._trades.popitem(last=False)
            return new

    def remember(self, order_id: str, client_order_id: str) -> None:
        """Note which client order id an order id belongs to (trade lists omit it)."""
        if order_id and client_order_id:
            with self._lock:
                self._remember(order_id, client_order_id)

    def _remember(self, order_id: str, client_order_id: str) -> None:
        self._client_ids[order_id] = client_order_id
        self._client_ids.move_to_end(order_id)
        while len(self._client_ids) > self.max_orders:
            self._client_ids.popitem(last=False)

    def client_order_id(self, order_id: str) -> str:
        """The client order id of ``order_id`` when known, else ""."""
        with self._lock:
            return self._client_ids.get(order_id, "")

    def totals(self, order_id: str) -> FillTotals:
        """Sums over the known trades of ``order_id``."""
        with self._lock:
            trades = self._trades.get(order_id)
            if not trades:
                return EMPTY
            ordered = sorted(trades.values(), key=lambda t: t.trade_id)
        return FillTotals(
            qty=sum((t.qty for t in ordered), ZERO),
            quote=sum((t.price * t.qty for t in ordered), ZERO),
            fee=sum((t.fee for t in ordered), ZERO),
            last=ordered[-1],
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._trades)
