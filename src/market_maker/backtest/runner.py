"""The backtest loop: candles through the simulated exchange and the Simple engine.

The same decision code as live trading; only the exchange adapter differs. Per candle:
the exchange fills what the candle's path reaches, the engine books those reports, folds the
candle into its indicators and runs a decision cycle at the close.
"""

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from market_maker.backtest.result import (
    BacktestResult,
    EquityPoint,
    FillRecord,
    RiskEventRecord,
    Summary,
)
from market_maker.config.app import AppConfig
from market_maker.domain.decimals import ZERO
from market_maker.domain.instrument import split_symbol
from market_maker.domain.market import Candle, PriceUpdate
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


class _Equity:
    """Equity, drawdown and inventory of the venue's account, marked candle by candle."""

    def __init__(
        self, exchange: SimulatedExchange, initial: dict[str, Decimal], initial_equity: Decimal
    ) -> None:
        self.exchange = exchange
        self.initial_base = initial[exchange.base]
        self.peak = self.trough = initial_equity
        self.max_drawdown = ZERO
        self.max_inventory = ZERO
        self.inventory = self.cash = ZERO
        self._fills_seen = -1

    def mark(self, price: Decimal) -> Decimal:
        """Equity at ``price``; updates the drawdown and inventory extremes."""
        exchange = self.exchange
        if len(exchange.fills) != self._fills_seen:  # balances only move on fills
            self._fills_seen = len(exchange.fills)
            self.inventory = exchange.total(exchange.base)
            self.cash = exchange.total(exchange.quote)
            self.max_inventory = max(self.max_inventory, abs(self.inventory - self.initial_base))
        equity = self.cash + self.inventory * price
        if equity > self.peak:
            self.peak = self.trough = equity
        elif equity < self.trough:  # the deepest point since the peak sets its drawdown
            self.trough = equity
            peak = self.peak
            if peak > 0 and (dd := (peak - equity) / peak) > self.max_drawdown:
                self.max_drawdown = dd
        return equity


def _replay(
    engine: SimpleEngine,
    exchange: SimulatedExchange,
    candles: Sequence[Candle],
    config: AppConfig,
    resume_from: Candle | None,
    progress: Callable[[int], None] | None,
    progress_every: int,
    initial: dict[str, Decimal],
    initial_equity: Decimal,
) -> tuple[list[EquityPoint], _Equity]:
    """Start the engine and feed it every candle; return the equity curve and tracker."""
    engine.start()
    if resume_from is not None:
        engine.on_price_update(
            PriceUpdate(config.symbol, resume_from.close, resume_from.open_time_ms)
        )
    symbol = config.symbol
    sample_every = config.backtest.equity_sample_every
    curve: list[EquityPoint] = []
    on_order_update, on_candle, on_price = (
        engine.on_order_update,
        engine.on_candle,
        engine.on_price_update,
    )
    track = _Equity(exchange, initial, initial_equity)
    last = len(candles) - 1
    for i, candle in enumerate(candles):
        reports = exchange.on_candle(candle)
        if reports:
            for report in reports:
                on_order_update(report)
        on_candle(candle)
        close = candle.close
        on_price(PriceUpdate(symbol, close, candle.open_time_ms))
        equity = track.mark(close)
        if i % sample_every == 0 or i == last:
            state = engine.state
            curve.append(
                EquityPoint(
                    candle.open_time_ms,
                    close,
                    equity,
                    track.inventory,
                    state.center_price,
                    state.interval,
                )
            )
        if progress is not None and i % progress_every == 0:
            progress(i)
    return curve, track


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
        curve, track = _replay(
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
