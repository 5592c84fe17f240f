"""The backtest loop: candles through the simulated exchange and the Simple engine.

The same decision code as live trading; only the exchange adapter differs. Per candle:
the exchange fills what the candle's path reaches, the engine books those reports, folds the
candle into its indicators and runs a decision cycle at the close.
"""

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from market_maker.backtest.replay import replay
from market_maker.backtest.result import (
    BacktestResult,
    FillRecord,
    RiskEventRecord,
    Summary,
)
from market_maker.config.app import AppConfig
from market_maker.domain.decimals import ZERO
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle
from market_maker.engine.base import EngineObserver
from market_maker.engine.simple import CheckpointPolicy, SimpleEngine
from market_maker.engine.startup import safety_checks
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill
from market_maker.stores.base import Store
from market_maker.stores.memory import MemoryStore

HUNDRED = Decimal(100)


class _Recorder(EngineObserver):
    def __init__(self) -> None:
        self.fills: list[FillRecord] = []
        self.risk_events: list[RiskEventRecord] = []
        self.volume_quote = ZERO

    def on_risk_event(self, event: RiskEvent) -> None:
        self.risk_events.append(
            RiskEventRecord(
                event.ts_ms,
                event.kind.value,
                event.reason,
                event.state_before.value,
                event.state_after.value,
            )
        )

    def on_fill(self, fill: BookedFill) -> None:
        self.volume_quote += fill.quote
        self.fills.append(
            FillRecord(
                ts_ms=fill.ts_ms,
                side=fill.side.value,
                price=fill.price,
                qty=fill.qty,
                fee=fill.fee,
                liquidity=fill.liquidity.value if fill.liquidity else "maker",
                client_order_id=fill.client_order_id,
                slot=fill.level,
                realized_pnl=fill.realized_pnl,
            )
        )


def simulated_exchange(config: AppConfig) -> SimulatedExchange:
    """The simulated venue a backtest of ``config`` trades on."""
    bt = config.backtest
    base, quote = split_symbol(config.symbol)
    return SimulatedExchange(
        config.symbol,
        {quote: bt.initial_quote, base: bt.initial_base},
        SimulatedExchangeConfig(
            maker_fee=bt.maker_fee,
            taker_fee=bt.taker_fee,
            latency_events=bt.latency_events,
            max_fill_fraction=bt.max_fill_fraction,
            spot=bt.spot,
            qty_step=config.instrument.step_size,
        ),
    )


def run_backtest(
    config: AppConfig,
    candles: Sequence[Candle],
    *,
    store: Store | None = None,
    exchange: SimulatedExchange | None = None,
    checkpoint: CheckpointPolicy = CheckpointPolicy.ON_STOP,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 2048,
    start_index: int = 0,
    always_decide: bool = False,
    durable_url: str | None = None,
) -> BacktestResult:
    """Run ``config`` over ``candles`` and return the result.

    Args:
        config: The bot configuration (its ``backtest`` section sets up the venue).
        candles: Candles in time order.
        store: Where the engine checkpoints (default: in memory).
        exchange: A venue to continue on (default: a fresh one from ``config``).
        checkpoint: When the engine saves its state.
        progress: Called with the number of candles done, every ``progress_every``.
        progress_every: Candles between progress calls.
        start_index: Resume after a crash: ``exchange`` already processed
            ``candles[:start_index]``; the engine restarts from ``store`` and first decides
            at the close of the last processed candle, as a restarted bot decides at the
            current price.
        always_decide: Decide on every candle instead of skipping provably unchanged
            decisions (for tests that prove the skipping exact).
        durable_url: Run through the Durable engine on this database (slower; proves the
            two engines trade alike). ``store`` and ``checkpoint`` are then unused.
    """
    if not 0 <= start_index < len(candles):
        raise ValueError(f"start_index {start_index} is outside the {len(candles)} candles")
    resume_from = candles[start_index - 1] if start_index else None
    candles = candles[start_index:]
    exchange = exchange or simulated_exchange(config)
    base, quote = exchange.base, exchange.quote
    initial = {quote: exchange.total(quote), base: exchange.total(base)}
    first_mark = candles[0].open
    initial_equity = initial[quote] + initial[base] * first_mark
    recorder = _Recorder()
    engine: SimpleEngine
    if durable_url is not None:
        from market_maker.durable.engine import DurableEngine  # DBOS only when asked for

        engine = DurableEngine(
            config,
            exchange,
            database_url=durable_url,
            observer=recorder,
            always_decide=always_decide,
        )
    else:
        engine = SimpleEngine(
            config,
            exchange,
            store if store is not None else MemoryStore(),
            observer=recorder,
            checkpoint=checkpoint,
            always_decide=always_decide,
        )
    bt = config.backtest
    checks = safety_checks(
        config,
        exchange.balances(),
        candles[0].open,
        maker_fee=bt.maker_fee,
        taker_fee=bt.taker_fee,
        spot=bt.spot,
    )
    started = time.perf_counter()
    try:
        curve, track = replay(
            engine,
            exchange,
            candles,
            config,
            resume_from,
            progress,
            progress_every,
            initial,
            initial_equity,
        )
    except BaseException:
        abort = getattr(engine, "abort", None)  # the Durable engine releases DBOS
        if abort is not None:
            abort()
        raise
    engine.stop()
    elapsed = time.perf_counter() - started
    mark = candles[-1].close
    final = {quote: exchange.total(quote), base: exchange.total(base)}
    final_equity = final[quote] + final[base] * mark
    book = engine.state.book
    # Unrealised PnL of the grid's positions, plus the revaluation of any base held at start.
    unrealized = book.unrealized_pnl(mark) + initial[base] * (mark - first_mark)
    summary = Summary(
        symbol=config.symbol,
        start_ms=candles[0].open_time_ms,
        end_ms=candles[-1].open_time_ms,
        initial_equity=initial_equity,
        final_equity=final_equity,
        realized_pnl=book.realized_pnl,
        unrealized_pnl=unrealized,
        fees_paid=book.fees_paid,
        return_pct=(final_equity - initial_equity) / initial_equity * HUNDRED
        if initial_equity
        else ZERO,
        max_drawdown_pct=track.max_drawdown * HUNDRED,
        fills=len(recorder.fills),
        orders_placed=engine.orders_placed,
        orders_canceled=engine.orders_canceled,
        max_inventory=track.max_inventory,
        final_inventory=book.inventory,
        volume_quote=recorder.volume_quote,
        events=len(candles),
        elapsed_s=elapsed,
        events_per_s=len(candles) / elapsed if elapsed > 0 else 0.0,
    )
    return BacktestResult(
        extra={
            "decisions": engine.decisions,
            "safety_checks": [
                {"check": c.name, "passed": c.passed, "message": c.message} for c in checks
            ],
            "reconciliation": dict(sorted(engine.upkeep.corrections.items())),
        },
        summary=summary,
        fills=recorder.fills,
        equity_curve=curve,
        initial_balances=initial,
        final_balances=final,
        config=config.model_dump(mode="json"),
        warnings=[f"safety check {c.name} failed: {c.message}" for c in checks if not c.passed],
        risk_events=recorder.risk_events,
    )
