"""``CcxtExchange``: the ``Exchange`` (and ``VenueInfo``) of a venue reached through ccxt.

* Placing is idempotent. After a failure whose outcome is unknown (timeout, 5xx, lost
  answer) the order is looked up by client order id before it is sent again, and a
  duplicate-id answer (Binance -2010 "Duplicate order sent.", -4116) is answered with the
  existing order's report: a retry never makes a second order, also on a venue (Binance
  spot) that checks ids only among open orders.
* Refusals are REJECTED reports, not exceptions: ``post_only_reject`` for a post-only order
  that would take; a reason starting with ``REDUCE_ONLY_REJECT`` for a reduce-only reject;
  "insufficient balance: ..." and the venue's message otherwise.
* Cancels go by order id when known, else by client order id; the answer is matched by
  order id (Binance puts the cancel's own id in ``clientOrderId``). An order the venue no
  longer has (or that already finished) answers ``None``.
* Every report's cumulative fee comes from the order's trades (``FillLedger``), fetched
  when the known ones do not add up to the order's filled quantity.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import decimal_to_str
from market_maker.domain.enums import OrderStatus, OrderType
from market_maker.domain.instrument import MarketRules
from market_maker.domain.orders import CancelOrderRequest, OrderUpdate, PlaceOrderRequest
from market_maker.exchanges.base import Balance, FatalExchangeError, OwnTrade
from market_maker.exchanges.ccxt.caller import Caller
from market_maker.exchanges.ccxt.convert import fills_of_answer, order_to_update, trade_to_own
from market_maker.exchanges.ccxt.errors import (
    Failure,
    FailureKind,
    reject_reason,
    to_exchange_error,
)
from market_maker.exchanges.ccxt.ledger import FillLedger
from market_maker.exchanges.ccxt.markets import (
    account_fee_rates,
    derivative_balances,
    market_rules,
    spot_balances,
)

log = logging.getLogger(__name__)

_PLACE_ANSWERS = frozenset(
    {
        FailureKind.DUPLICATE,
        FailureKind.POST_ONLY,
        FailureKind.REDUCE_ONLY,
        FailureKind.INSUFFICIENT,
        FailureKind.REJECTED,
        FailureKind.RETRYABLE,
        FailureKind.RATE_LIMITED,
        FailureKind.CLOCK_SKEW,
    }
)


TRANSIENT = frozenset({FailureKind.RETRYABLE, FailureKind.RATE_LIMITED, FailureKind.CLOCK_SKEW})
"""Failures whose outcome says nothing about the request: retried, never taken as an answer."""


@dataclass(frozen=True, slots=True)
class Market:
    """The one market an adapter trades, as ccxt loaded it.

    Attributes:
        symbol: ccxt's unified symbol (``BTC/USDT``, ``BTC/USDT:USDT``): the bot's symbol.
        base: Base asset.
        quote: Quote asset (the fee currency of the reports).
        spot: Spot market (else derivatives: a signed position, reduce-only orders).
        info: ccxt's market structure.
    """

    symbol: str
    base: str
    quote: str
    spot: bool
    info: Mapping[str, Any]


class CcxtExchange:
    """``Exchange`` and ``VenueInfo`` over one ccxt exchange object and one market.

    Args:
        caller: Runs the ccxt calls (pacing, retries, error translation).
        market: The market traded.
        ledger: Trades of our orders (shared with the order-update source).
    """

    def __init__(self, caller: Caller, market: Market, ledger: FillLedger) -> None:
        self.caller = caller
        self.ex = caller.exchange
        self.market = market
        self.ledger = ledger
        self.symbol = market.symbol
        self._rules: MarketRules | None = None

    # -- Exchange --------------------------------------------------------------------------

    def place_order(self, request: PlaceOrderRequest) -> OrderUpdate:
        """Send a new order; the first report (NEW, FILLED or REJECTED), never a second order."""
        self._check_symbol(request.symbol)
        where = f"place {request.client_order_id} on {request.symbol}"
        retry = 0
        while True:
            answer = self.caller.call(
                where, lambda: self._create_order(request), answers=_PLACE_ANSWERS, retry=False
            )
            if not isinstance(answer, Failure):
                return self._report(answer, request.client_order_id)
            if answer.kind is FailureKind.DUPLICATE:
                existing = self.get_order(request.symbol, request.client_order_id)
                if existing is not None:
                    return existing
                return self._rejected(request, answer)
            if not answer.retryable:
                return self._rejected(request, answer)
            retry += 1
            if not self.caller.pause(answer, retry):
                raise to_exchange_error(answer, where)
            existing = self.get_order(request.symbol, request.client_order_id)
            if existing is not None:
                log.info("%s: found after a lost answer: %s", where, existing.status.value)
                return existing

    def cancel_order(self, request: CancelOrderRequest) -> OrderUpdate | None:
        """Cancel an order; its final report, or ``None`` when it is unknown or finished."""
        self._check_symbol(request.symbol)
        where = f"cancel {request.client_order_id} on {request.symbol}"
        answer = self.caller.call(
            where, lambda: self._cancel_order(request), answers={FailureKind.NOT_FOUND}
        )
        if isinstance(answer, Failure):
            return None
        if request.order_id and str(answer.get("id") or "") not in ("", request.order_id):
            raise FatalExchangeError(
                f"{where}: the venue answered about order {answer.get('id')}, expected "
                f"{request.order_id}"
            )
        return self._report(answer, request.client_order_id)

    def get_order(self, symbol: str, client_order_id: str) -> OrderUpdate | None:
        """Current state of one order by client order id, or ``None`` if the venue has none."""
        self._check_symbol(symbol)
        answer = self.caller.call(
            f"look up {client_order_id} on {symbol}",
            lambda: self.ex.fetch_order(None, symbol, {"clientOrderId": client_order_id}),
            answers={FailureKind.NOT_FOUND},
        )
        if isinstance(answer, Failure):
            return None
        return self._report(answer, client_order_id)

    def open_orders(self, symbol: str) -> list[OrderUpdate]:
        """Every resting order on ``symbol``."""
        self._check_symbol(symbol)
        answer = self.caller.call(
            f"open orders on {symbol}", lambda: self.ex.fetch_open_orders(symbol)
        )
        return [self._report(order) for order in answer]

    def balances(self) -> dict[str, Balance]:
        """Balances by asset; on a derivatives account the base entry is the signed position."""
        answer = self.caller.call("balances", self.ex.fetch_balance)
        m = self.market
        if m.spot:
            return spot_balances(answer)
        positions = self.caller.call(
            f"positions on {m.symbol}", lambda: self.ex.fetch_positions([m.symbol])
        )
        mine = [p for p in positions if p.get("symbol") == m.symbol]
        return derivative_balances(answer, mine, base=m.base, quote=m.quote)

    def own_trades(self, symbol: str, after_id: int | None, limit: int = 1000) -> list[OwnTrade]:
        """Our fills on ``symbol`` with a trade id above ``after_id``, oldest first."""
        self._check_symbol(symbol)
        params: dict[str, Any] = {}
        if self.caller.binance:
            params["fromId"] = 0 if after_id is None else after_id + 1
        answer = self.caller.call(
            f"own trades on {symbol}",
            lambda: self.ex.fetch_my_trades(symbol, None, limit, params),
        )
        trades = [self._own(t) for t in answer]
        trades = [t for t in trades if after_id is None or t.trade_id > after_id]
        trades.sort(key=lambda t: t.trade_id)
        return trades[:limit]

    def latest_trade_id(self) -> int | None:
        """The id of our most recent trade on the symbol, or ``None`` when there is none."""
        answer = self.caller.call(
            f"latest own trade on {self.symbol}",
            lambda: self.ex.fetch_my_trades(self.symbol, None, 1),
        )
        ids = [int(t["id"]) for t in answer]
        return max(ids) if ids else None

    # -- VenueInfo -------------------------------------------------------------------------

    def market_rules(self, symbol: str) -> MarketRules:
        """The market's rules, with the account's fee rates when the venue tells them."""
        self._check_symbol(symbol)
        if self._rules is None:
            rates = self._account_fee_rates()
            maker, taker = rates if rates is not None else (None, None)
            self._rules = market_rules(
                self.market.info,
                precision_mode=int(self.ex.precisionMode),
                maker_fee=maker,
                taker_fee=taker,
            )
        return self._rules

    def _account_fee_rates(self) -> tuple[Decimal, Decimal] | None:
        """The account's maker and taker rates; None when the venue will not say."""
        if not self.ex.has.get("fetchTradingFee"):
            return None
        # A transient failure (a 429, a 5xx, a timeout) is retried like any call: falling
        # back to the market's rates on one would make a healthy start disagree with a
        # configuration that states the account's rates. Refusals and unsupported calls
        # fall back at once.
        answer = self.caller.call(
            "trading fee",
            lambda: self.ex.fetch_trading_fee(self.symbol),
            answers=set(FailureKind) - {FailureKind.AUTH, *TRANSIENT},
        )
        if isinstance(answer, Failure):
            log.info("the account's fee rates are unavailable (%s): market rates", answer.message)
            return None
        return account_fee_rates(answer)

    # -- helpers ---------------------------------------------------------------------------

    def _check_symbol(self, symbol: str) -> None:
        if symbol != self.symbol:
            raise FatalExchangeError(
                f"this adapter trades {self.symbol}, asked about {symbol}; connect one "
                "adapter per symbol"
            )

    async def _create_order(self, request: PlaceOrderRequest) -> Any:
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if request.post_only:
            params["postOnly"] = True
        elif request.order_type is OrderType.LIMIT:
            params["timeInForce"] = request.time_in_force.value
        if request.reduce_only and not self.market.spot:
            params["reduceOnly"] = True  # spot has no reduce-only flag: a sell needs the base
        return await self.ex.create_order(
            request.symbol,
            request.order_type.value.lower(),
            request.side.value.lower(),
            decimal_to_str(request.qty),
            decimal_to_str(request.price) if request.order_type is OrderType.LIMIT else None,
            params,
        )

    async def _cancel_order(self, request: CancelOrderRequest) -> Any:
        if request.order_id:
            return await self.ex.cancel_order(request.order_id, request.symbol)
        params = {"clientOrderId": request.client_order_id}
        return await self.ex.cancel_order(None, request.symbol, params)

    def _own(self, trade: Mapping[str, Any]) -> OwnTrade:
        m = self.market
        order_id = str(trade.get("order") or "")
        own = trade_to_own(
            trade, base=m.base, quote=m.quote, client_order_id=self.ledger.client_order_id(order_id)
        )
        self.ledger.add(own)
        return own

    def complete_fills(self, order_id: str, filled: Decimal) -> None:
        """Fetch the trades of ``order_id`` when the known ones cover less than ``filled``."""
        if not order_id or filled <= 0 or self.ledger.totals(order_id).qty >= filled:
            return
        params = {"orderId": order_id} if self.caller.binance else {}
        answer = self.caller.call(
            f"trades of order {order_id}",
            lambda: self.ex.fetch_my_trades(self.symbol, None, None, params),
        )
        for trade in answer:
            if str(trade.get("order") or "") == order_id:
                self._own(trade)

    def _report(self, order: Mapping[str, Any], client_order_id: str | None = None) -> OrderUpdate:
        """A ccxt order as a report whose fee (and, when complete, quote) come from its trades."""
        m = self.market
        for fill in fills_of_answer(order, base=m.base, quote=m.quote):
            self.ledger.add(fill)
        draft = order_to_update(
            order, m.symbol, cum_fee=Decimal(0), client_order_id=client_order_id,
            base=m.base, quote=m.quote,
        )  # fmt: skip
        self.ledger.remember(draft.order_id, draft.client_order_id)
        self.complete_fills(draft.order_id, draft.cum_filled_qty)
        return with_ledger(draft, self.ledger)

    def _rejected(self, request: PlaceOrderRequest, failure: Failure) -> OrderUpdate:
        # DEBUG: the execution logs the REJECTED report with its slot and workflow.
        log.debug("order %s rejected: %s", request.client_order_id, failure.message)
        return OrderUpdate(
            symbol=request.symbol,
            order_id="",
            client_order_id=request.client_order_id,
            side=request.side,
            status=OrderStatus.REJECTED,
            price=request.price,
            qty=request.qty,
            reject_reason=reject_reason(failure),
            post_only_reject=failure.kind is FailureKind.POST_ONLY,
        )


def with_ledger(update: OrderUpdate, ledger: FillLedger) -> OrderUpdate:
    """``update`` with the cumulative fee (and quote, when complete) of its known trades."""
    totals = ledger.totals(update.order_id)
    if totals.last is None:
        return update
    complete = totals.qty == update.cum_filled_qty
    return OrderUpdate(
        symbol=update.symbol,
        order_id=update.order_id,
        client_order_id=update.client_order_id,
        side=update.side,
        status=update.status,
        price=update.price,
        qty=update.qty,
        cum_filled_qty=update.cum_filled_qty,
        cum_quote_qty=totals.quote if complete else update.cum_quote_qty,
        cum_fee=totals.fee,
        last_fill_price=update.last_fill_price or totals.last.price,
        last_fill_qty=update.last_fill_qty or totals.last.qty,
        last_fee=update.last_fee if update.last_fill_qty else totals.last.fee,
        trade_id=update.trade_id or str(totals.last.trade_id),
        liquidity=update.liquidity or totals.last.liquidity,
        ts_ms=update.ts_ms,
    )
