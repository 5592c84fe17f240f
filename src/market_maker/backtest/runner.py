"""The backtest runs: candles or trade ticks through the simulated exchange and the engine.

The same decision code as live trading; only the exchange adapter differs. Per candle:
the exchange fills what the candle's path reaches, the engine books those reports, folds the
candle into its indicators and runs a decision cycle at the close. Per trade
(``run_trade_backtest``): the exchange fills what the trade prints at or through, the engine
books those reports, gets the candle the trade finished (if any) and decides at the trade's
price.
"""

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from market_maker.backtest.replay import EquityTracker, replay
from market_maker.backtest.result import (
    MAX_EQUITY_POINTS,
    BacktestResult,
    EquityPoint,
    FillLog,
    RiskEventRecord,
    Summary,
)
from market_maker.backtest.tick_replay import TRADE_SAMPLE_MS, replay_trades
from market_maker.config.app import AppConfig
from market_maker.data.trades import Trade
from market_maker.domain.decimals import ZERO
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle
from market_maker.engine.base import Engine, EngineObserver
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import GridEngine, simple_engine
from market_maker.engine.startup import safety_checks
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig
from market_maker.risk.events import RiskEvent
from market_maker.slots.book import BookedFill
from market_maker.stores.base import Store
from market_maker.stores.memory import MemoryStore

HUNDRED = Decimal(100)

ORDER_HISTORY = 1024
"""Finished orders a backtest's venue remembers for lookups by client order id (the engine
only looks up its pending orders, which are recent); older ones are forgotten, so a long
run holds no more orders than a short one."""


class FillRecorder(EngineObserver):
    """Records what a run's engine reports, for the run's result (backtests and live runs).

    Every fill (a ``FillLog``), the quote volume traded and every risk event.
    """

    def __init__(self) -> None:
        self.fills = FillLog()
        self.risk_events: list[RiskEventRecord] = []
        self.volume_quote = ZERO

    def on_risk_event(self, event: RiskEvent) -> None:
        """Record the change of the risk state."""
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
        """Record the fill and its quote volume."""
        self.volume_quote += fill.quote
        self.fills.add(
            fill.ts_ms,
            fill.side.value,
            fill.price,
            fill.qty,
            fill.fee,
            fill.liquidity.value if fill.liquidity else "maker",
            fill.client_order_id,
            fill.level,
            fill.realized_pnl,
        )


def simulated_exchange(config: AppConfig, *, ledger: bool = True) -> SimulatedExchange:
    """The simulated venue a backtest of ``config`` trades on.

    With ``ledger`` it keeps every order and every fill report (the paper venue serves
    them); without, it remembers the last ``ORDER_HISTORY`` finished orders and only counts
    fills (the backtest runs books them as they come), so its memory stays flat.
    """
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
            order_history=None if ledger else ORDER_HISTORY,
            fill_ledger=ledger,
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
    refine: int = 1,
    max_equity_points: int = MAX_EQUITY_POINTS,
) -> BacktestResult:
    """Run ``config`` over ``candles`` and return the result.

    Args:
        config: The bot configuration (its ``backtest`` section sets up the venue).
        candles: Candles in time order.
        store: Where the engine checkpoints (default: in memory).
        exchange: A venue to continue on (default: a fresh one from ``config``, without
            a ledger: ``simulated_exchange(config, ledger=False)``).
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
        refine: Walk each candle as this many shorter candles along its path, deciding at
            each (the risk monitor and the ATR still get the whole candles): a grid should
            trade alike on a finer path, as it sees one live.
        max_equity_points: Most points the equity curve keeps (an even number; see
            ``EquityCurve``).
    """
    if refine < 1:
        raise ValueError(f"refine: expected at least 1, found {refine}")
    if not 0 <= start_index < len(candles):
        raise ValueError(f"start_index {start_index} is outside the {len(candles)} candles")
    resume_from = candles[start_index - 1] if start_index else None
    candles = candles[start_index:]
    run = _Run(config, exchange, candles[0].open)
    engine = run.engine(store, checkpoint, always_decide, durable_url)
    started = time.perf_counter()
    try:
        curve, track = replay(
            engine,
            run.exchange,
            candles,
            config,
            resume_from,
            progress,
            progress_every,
            run.initial,
            run.initial_equity,
            refine,
            max_equity_points,
        )
    except BaseException:
        engine.abort()  # the Durable engine releases DBOS
        raise
    engine.stop()
    elapsed = time.perf_counter() - started
    return run.result(
        engine,
        curve,
        track,
        (candles[0].open_time_ms, candles[-1].open_time_ms, candles[-1].close),
        len(candles),
        elapsed,
        {"kind": "candles", "interval_s": candles[0].interval_s, "refine": refine},
    )


def run_trade_backtest(
    config: AppConfig,
    trades: Sequence[Trade],
    *,
    candle_s: int = 60,
    store: Store | None = None,
    exchange: SimulatedExchange | None = None,
    checkpoint: CheckpointPolicy = CheckpointPolicy.ON_STOP,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 2048,
    always_decide: bool = False,
    sample_ms: int = TRADE_SAMPLE_MS,
    max_equity_points: int = MAX_EQUITY_POINTS,
) -> BacktestResult:
    """Run ``config`` over trade ticks, one decision per trade, and return the result.

    Each trade first fills the resting orders it prints at or through (at their limit, as
    maker), then the engine decides at its price. Candles of ``candle_s`` seconds are built
    from the trades on the fly for the risk monitor and the ATR (see ``tick_replay``).
    ``summary.events`` counts trades; the JSON report's ``data`` section says so.

    Args:
        config: The bot configuration (its ``backtest`` section sets up the venue).
        trades: Trades of ``config.symbol`` in time order (e.g. ``load_trades(...).trades``).
        candle_s: Length of the candles built from the trades, seconds (at least 1).
        store: Where the engine checkpoints (default: in memory).
        exchange: A venue to continue on (default: a fresh one from ``config``, without
            a ledger: ``simulated_exchange(config, ledger=False)``).
        checkpoint: When the engine saves its state.
        progress: Called with the number of trades done, every ``progress_every``.
        progress_every: Trades between progress calls.
        always_decide: Decide on every trade instead of skipping provably unchanged
            decisions (for tests that prove the skipping exact).
        sample_ms: Least trade time between two equity-curve points.
        max_equity_points: Most points the equity curve keeps (an even number).

    Raises:
        ValueError: No trades, or ``candle_s`` below 1.
    """
    if not trades:
        raise ValueError("expected at least one trade, found none")
    if candle_s < 1:
        raise ValueError(f"candle_s: expected at least 1 second, found {candle_s}")
    run = _Run(config, exchange, trades[0].price)
    engine = run.engine(store, checkpoint, always_decide, None)
    started = time.perf_counter()
    curve, track, bars = replay_trades(
        engine,
        run.exchange,
        trades,
        config,
        candle_s,
        progress,
        progress_every,
        run.initial,
        run.initial_equity,
        sample_ms,
        max_equity_points,
    )
    engine.stop()
    elapsed = time.perf_counter() - started
    return run.result(
        engine,
        curve,
        track,
        (trades[0].ts_ms, trades[-1].ts_ms, trades[-1].price),
        len(trades),
        elapsed,
        {"kind": "trades", "candle_s": candle_s, "candles": bars, "equity_sample_ms": sample_ms},
    )


class _Run:
    """What both loops share: the venue, its starting point, the engine and the result."""

    def __init__(
        self, config: AppConfig, exchange: SimulatedExchange | None, first_mark: Decimal
    ) -> None:
        self.config = config
        self.exchange = exchange = exchange or simulated_exchange(config, ledger=False)
        base, quote = exchange.base, exchange.quote
        self.initial = {quote: exchange.total(quote), base: exchange.total(base)}
        self.first_mark = first_mark
        self.initial_equity = self.initial[quote] + self.initial[base] * first_mark
        self.recorder = FillRecorder()
        bt = config.backtest
        self.checks = safety_checks(
            config,
            exchange.balances(),
            first_mark,
            maker_fee=bt.maker_fee,
            taker_fee=bt.taker_fee,
            spot=bt.spot,
        )

    def engine(
        self,
        store: Store | None,
        checkpoint: CheckpointPolicy,
        always_decide: bool,
        durable_url: str | None,
    ) -> GridEngine:
        """The engine that trades on the venue, reporting to the recorder."""
        if durable_url is not None:
            from market_maker.durable.execution import durable_engine  # DBOS only when asked for

            return durable_engine(
                self.config,
                self.exchange,
                database_url=durable_url,
                observer=self.recorder,
                always_decide=always_decide,
            )
        return simple_engine(
            self.config,
            self.exchange,
            store if store is not None else MemoryStore(),
            observer=self.recorder,
            checkpoint=checkpoint,
            always_decide=always_decide,
        )

    def result(
        self,
        engine: Engine,
        curve: list[EquityPoint],
        track: EquityTracker,
        span: tuple[int, int, Decimal],
        events: int,
        elapsed: float,
        data: dict[str, object],
    ) -> BacktestResult:
        """The result of the finished run; ``span`` is (first time, last time, last price)."""
        config, exchange, initial, recorder = (
            self.config,
            self.exchange,
            self.initial,
            self.recorder,
        )
        start_ms, end_ms, mark = span
        base, quote = exchange.base, exchange.quote
        final = {quote: exchange.total(quote), base: exchange.total(base)}
        final_equity = final[quote] + final[base] * mark
        initial_equity = self.initial_equity
        book = engine.state.book
        # Unrealised PnL of the grid's positions, plus the revaluation of any base held at
        # start.
        unrealized = book.unrealized_pnl(mark) + initial[base] * (mark - self.first_mark)
        summary = Summary(
            symbol=config.symbol,
            start_ms=start_ms,
            end_ms=end_ms,
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
            events=events,
            elapsed_s=elapsed,
            events_per_s=events / elapsed if elapsed > 0 else 0.0,
        )
        checks = self.checks
        return BacktestResult(
            extra={
                "data": data,
                "decisions": engine.decisions,
                "safety_checks": [
                    {"check": c.name, "passed": c.passed, "message": c.message} for c in checks
                ],
                "reconciliation": dict(sorted(engine.corrections.items())),
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
