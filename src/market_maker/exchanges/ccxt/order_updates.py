"""``CcxtOrderUpdates``: the runner's ``OrderUpdateSource`` from a venue's order stream or REST.

Two ways to learn what happened to our orders, producing the same cumulative reports:

* **stream** (``watch_orders``): a ``Stream`` buffers the order events on the loop and
  ``poll`` drains them. Each event's trade (Binance ``t l L n``) goes into the
  ``FillLedger`` first, so the report's fee is the sum over the order's trades, never the
  last trade's fee that the event carries; trades the stream missed are fetched.
* **REST**: our trades since the last trade id seen, the open orders, and a lookup of each
  known order that is no longer open; a report is delivered when the venue's status,
  filled quantity or fee differs from the engine's record.

In stream mode REST is the fallback while the stream is down and the catch-up after each
gap (start, disconnect, reconnect, buffer overflow), so no fill is lost; a fill seen both
ways is the same cumulative report twice, which the engine books once.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from market_maker.domain.decimals import ZERO
from market_maker.domain.orders import OrderUpdate
from market_maker.exchanges.base import FatalExchangeError
from market_maker.exchanges.ccxt.convert import order_to_update, stream_trade
from market_maker.exchanges.ccxt.exchange import CcxtExchange, with_ledger
from market_maker.exchanges.ccxt.streams import Stream
from market_maker.slots.model import OrderRecord

log = logging.getLogger(__name__)

TRADE_PAGE = 1000
"""Trades asked for per request when catching up on our trades."""


class CcxtOrderUpdates:
    """Reports about our orders on one symbol, pushed (stream) or polled (REST).

    Args:
        exchange: The adapter (REST calls and the shared fill ledger).
        stream: The ``watch_orders`` stream, or ``None`` for REST polling only.
    """

    def __init__(self, exchange: CcxtExchange, stream: Stream | None = None) -> None:
        self.exchange = exchange
        self.stream = stream
        self.symbol = exchange.symbol
        self.catch_ups = 0  # REST passes made (for tests and metrics)
        self.stream_reports = 0  # reports delivered from stream events
        self.rest_reports = 0  # reports delivered by REST passes
        self._trade_cursor: int | None = None

    def poll(self, known: Sequence[OrderRecord]) -> list[OrderUpdate]:
        """Reports the engine may not have booked yet, oldest first; never blocks long."""
        if self.stream is None:
            return self.rest_poll(known)
        drained = self.stream.drain()
        if self.stream.fatal is not None:
            raise FatalExchangeError(
                f"order stream of {self.symbol}: authentication failed: "
                f"{self.stream.fatal.message}; check the API key and its permissions"
            )
        reports = [self._from_event(e) for e in drained.items if e.get("symbol") == self.symbol]
        self.stream_reports += len(reports)
        if drained.gap or not drained.healthy:
            reports += self.rest_poll(known)
        return reports

    def describe(self) -> str:
        """How the reports arrived so far, for the end of a run (which path delivered)."""
        passes = f"{self.catch_ups:,} pass{'' if self.catch_ups == 1 else 'es'}"
        if self.stream is None:
            return f"order reports: {self.rest_reports:,} by REST polling ({passes}); streams off"
        return (
            f"order reports: {self.stream_reports:,} from the order stream, "
            f"{self.rest_reports:,} by REST ({passes}: start, gaps, stream down)"
        )

    def _from_event(self, event: Mapping[str, Any]) -> OrderUpdate:
        ex = self.exchange
        m = ex.market
        trade = stream_trade(event, base=m.base, quote=m.quote)
        if trade is not None:
            ex.ledger.add(trade)
        draft = order_to_update(event, m.symbol, cum_fee=ZERO, base=m.base, quote=m.quote)
        ex.ledger.remember(draft.order_id, draft.client_order_id)
        ex.complete_fills(draft.order_id, draft.cum_filled_qty)
        return with_ledger(draft, ex.ledger)

    def rest_poll(self, known: Sequence[OrderRecord]) -> list[OrderUpdate]:
        """One REST pass: our new trades, open orders, lookups of the orders no longer open."""
        self.catch_ups += 1
        if not known:
            return []  # orders of ours the book does not hold are the reconciler's business
        ex = self.exchange
        self._read_new_trades()
        open_now = {u.client_order_id: u for u in ex.open_orders(self.symbol)}
        out: list[OrderUpdate] = []
        for order in known:
            report = open_now.get(order.client_order_id)
            if report is None:
                report = ex.get_order(self.symbol, order.client_order_id)
                if report is None:
                    continue  # pending and unknown: resolved by the engine's lookup
            if (
                report.status == order.status
                and report.cum_filled_qty == order.filled_qty
                and report.cum_fee == order.fee
            ):
                continue
            out.append(report)
        out.sort(key=lambda u: u.ts_ms)
        self.rest_reports += len(out)
        return out

    def _read_new_trades(self) -> None:
        """Our trades since the last one read (the first pass only finds where to start)."""
        ex = self.exchange
        if self._trade_cursor is None:
            self._trade_cursor = ex.ledger.last_trade_id
            if self._trade_cursor is None:
                latest = ex.latest_trade_id()
                self._trade_cursor = latest if latest is not None else -1
            return
        while True:
            page = ex.own_trades(self.symbol, self._trade_cursor, TRADE_PAGE)
            if page:
                self._trade_cursor = page[-1].trade_id
            if len(page) < TRADE_PAGE:
                return
