"""The paper exchange's own test endpoints under ``/paper/`` (no authentication).

What a test or an operator needs to see and steer the venue from outside, beside the
Binance API: health, the full ledger, open orders, balances and position, market time,
and advancing it. The fault endpoints (``/paper/faults``) live with the faults
(``market_maker.paper.faults``).
"""

from typing import Annotated, Any

from fastapi import FastAPI, Query
from starlette.concurrency import run_in_threadpool

from market_maker.paper.binance_format import Json, dec
from market_maker.paper.binance_service import BinanceService
from market_maker.paper.journal import Trade
from market_maker.paper.paper_json import candle_to_json, request_to_json, update_to_json


def trade_to_json(trade: Trade) -> Json:
    """A trade of the ledger."""
    return {
        "id": trade.id,
        "order_id": trade.order_id,
        "client_order_id": trade.client_order_id,
        "side": trade.side.value,
        "price": dec(trade.price),
        "qty": dec(trade.qty),
        "fee": dec(trade.fee),
        "time_ms": trade.time_ms,
        "maker": trade.maker,
        "realized_pnl": dec(trade.realized_pnl),
    }


def install_paper_routes(app: FastAPI, service: BinanceService, *, speed: float) -> None:
    """Add the ``/paper/`` endpoints over ``service``'s venue."""
    venue, market = service.venue, service.market

    @app.get("/paper/health")
    def health() -> Json:
        snap = venue.market()
        return {
            "status": "ok",
            "market": market.kind,
            "symbol": market.symbol_id,
            "unified_symbol": venue.symbol,
            "index": snap.index,
            "total": venue.total,
            "done": snap.done,
            "speed": speed,
            "time_ms": venue.now_ms(),
        }

    @app.get("/paper/ledger")
    def ledger() -> Json:
        held = venue.ledger()
        with venue.lock:
            refused = list(venue.refused)
            trades = list(venue.journal.trades)
            reasons = dict(venue.journal.reasons)
        orders: list[Any] = [
            {
                "request": request_to_json(o.request),
                "state": update_to_json(o.state),
                "reject_reason": reasons.get(o.request.client_order_id, ""),
            }
            for o in held.orders
        ]
        return {
            "orders": orders,
            "refused": [
                {"request": request_to_json(o.request), "reject_reason": o.state.reject_reason}
                for o in refused
            ],
            "fills": [update_to_json(f) for f in held.fills],
            "trades": [trade_to_json(t) for t in trades],
            "duplicates": list(held.duplicates),
        }

    @app.get("/paper/open-orders")
    def open_orders() -> Json:
        return {"orders": [update_to_json(u) for u in venue.orders(open_only=True)]}

    @app.get("/paper/balances")
    def balances() -> Json:
        held = venue.balances()
        answer: Json = {
            "balances": {a: {"free": dec(b.free), "locked": dec(b.locked)} for a, b in held.items()}
        }
        if not market.spot:
            account = service.margin()
            answer["position"] = {
                "qty": dec(account.position),
                "entry_price": dec(account.entry_price),
                "mark_price": dec(account.mark_price),
                "unrealized_pnl": dec(account.unrealized),
                "wallet_balance": dec(account.wallet),
            }
        return answer

    @app.get("/paper/market")
    def market_now() -> Json:
        snap = venue.market()
        candle = None if snap.candle is None else candle_to_json(snap.candle)
        return {
            "index": snap.index,
            "candle": candle,
            "done": snap.done,
            "total": venue.total,
            "time_ms": venue.now_ms(),
            "closed": snap.closed,
            "unit": venue.unit,
        }

    @app.post("/paper/advance")
    async def advance(n: Annotated[int, Query(ge=1)] = 1) -> Json:
        before, index, fills = await run_in_threadpool(venue.advance, n)
        return {
            "index": index,
            "advanced": index - before,
            "done": index == venue.total,
            "fills": [update_to_json(f) for f in fills],
        }
