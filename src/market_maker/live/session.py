"""A live run through ccxt: credentials, the venue's ports, the Durable engine, the runner.

``run_live`` is what ``market-maker run --config`` does: it reads the credentials
(``config.credentials``), connects to the market through the ccxt adapter
(``market_maker.exchanges.ccxt``), takes the instrument rules and fee rates from the venue
(the configuration may only agree: ``live.venue_rules``), builds the Durable engine and
drives it with a ``LiveRunner`` until SIGINT, SIGTERM or the ``on_poll`` hook stops it.
Nothing is placed before the connection has authenticated (``connect`` reads the balances
first) and the start-up safety checks have passed.
"""

import itertools
import logging
import os
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from market_maker.config.app import AppConfig
from market_maker.config.credentials import Credentials, load_credentials
from market_maker.domain.errors import MarketMakerError
from market_maker.engine.base import Engine, EngineObserver
from market_maker.exchanges.base import OrderRejectedError, RetryableExchangeError
from market_maker.live.runner import LiveRunner, LiveSources
from market_maker.live.venue_errors import venue_unreachable

if TYPE_CHECKING:
    from market_maker.domain.orders import OrderAction, OrderUpdate
    from market_maker.exchanges.ccxt import CcxtSettings, CcxtVenue
    from market_maker.exchanges.ccxt.caller import RequestObserver
    from market_maker.ops.wiring import BotOperations
    from market_maker.risk.events import RiskEvent
    from market_maker.slots.book import BookedFill

log = logging.getLogger(__name__)

PollHook = Callable[[LiveRunner], None]
"""Called by the runner after every poll (progress display, end-of-data check)."""
CloseHook = Callable[["CcxtVenue"], None]
"""Called with the venue once the runner has stopped, before the venue is closed."""


def venue_name(config: AppConfig) -> str:
    """Where the run trades, for messages: the exchange id, and the URL when one is set."""
    v = config.venue
    where = f" at {v.url}" if v.url else " (testnet)" if v.sandbox else ""
    return f"{v.exchange}{where}"


def reconciliation_summary(engine: Engine) -> str:
    """One line on what the reconciler did in this run: passes, re-reads, corrections."""
    corrections = ", ".join(f"{kind} {n:,}" for kind, n in sorted(engine.corrections.items()))
    return (
        f"reconciliations: {engine.reconciliations:,} run, {engine.rereads:,} read again "
        f"after a fill landed among the reads; corrections: {corrections or 'none'}"
    )


def ccxt_settings(config: AppConfig, credentials: Credentials) -> "CcxtSettings":
    """The ccxt adapter's settings for ``config``'s venue.

    Raises:
        MarketMakerError: A setting the adapter refuses (unknown exchange id, a symbol
            that is not a ccxt unified symbol); the message names it and the fix.
    """
    from market_maker.exchanges.ccxt import CcxtSettings, SettingsError

    v = config.venue
    try:
        return CcxtSettings(
            exchange_id=v.exchange,
            symbol=config.symbol,
            api_key=credentials.api_key,
            secret=credentials.secret,
            sandbox=v.sandbox,
            base_url=v.url,
            timeout_s=v.timeout_s,
            streams=v.streams,
        )
    except SettingsError as exc:
        raise MarketMakerError(f"venue.{exc}") from None


def run_live(
    config: AppConfig,
    *,
    observer: EngineObserver | None = None,
    on_poll: PollHook | None = None,
    handle_signals: bool = True,
    on_close: CloseHook | None = None,
    operations: "BotOperations | None" = None,
) -> LiveRunner:
    """Trade ``config``'s bot on its venue until stopped; return the finished runner.

    Args:
        config: The bot's configuration.
        observer: Told of every fill and risk event (a run tracker).
        on_poll: Called after every poll; may call ``runner.request_stop()``.
        handle_signals: Stop cleanly on SIGINT and SIGTERM (the main thread only).
        on_close: Called with the venue after the run, before it closes (e.g. to report
            how the order reports arrived: ``venue.order_updates.describe()``).
        operations: The bot's command channel and published view (None: neither).

    Raises:
        MarketMakerError: No credentials, a refused setting, authentication failed
            (``FatalExchangeError``), the venue unreachable or not answering like the
            exchange (``InfrastructureError``, ``live.venue_errors``), the database unusable
            (``InfrastructureError``, ``durable.database_errors``), a configuration that
            disagrees with the venue's rules, or a start-up safety check failed.
    """
    from market_maker.durable.execution import durable_engine
    from market_maker.live.polled import SystemClock
    from market_maker.live.venue_rules import with_venue_rules

    venue = _connect(
        config,
        ccxt_settings(config, load_credentials(config.venue)),
        observer=operations.metrics.observe_request if operations is not None else None,
    )
    try:
        rules = venue.exchange.market_rules(config.symbol)
        config = with_venue_rules(config, rules, venue=venue_name(config))
        sources = LiveSources(
            venue=venue.exchange,
            market=venue.market_data,
            orders=venue.order_updates,
            clock=SystemClock(),
        )
        if operations is not None:
            observer = _Both(operations.metrics.observer, observer)
        engine = durable_engine(config, venue.exchange, observer=observer)
        hooks: list[PollHook] = [] if operations is None else [operations.on_poll]
        hooks += [on_poll] if on_poll is not None else []
        runner = LiveRunner(
            config,
            engine,
            sources,
            rules,
            on_poll=_each(hooks) if hooks else None,
            commands=operations.commands if operations is not None else None,
            on_tick_to_order=(
                operations.metrics.observe_tick_to_order if operations is not None else None
            ),
        )
        venue.attach_wake(runner.wake)
        if handle_signals:
            _run_until_signal(runner)
        else:
            runner.run()
        if operations is not None:
            operations.publisher.stop(runner)
        if on_close is not None:
            on_close(venue)
    finally:
        venue.close()
    return runner


class _Both(EngineObserver):
    """Tells two observers (the metrics' and the caller's, if any) of everything."""

    def __init__(self, first: EngineObserver, second: EngineObserver | None) -> None:
        self.first = first
        self.second = second or EngineObserver()

    def on_fill(self, fill: "BookedFill") -> None:
        self.first.on_fill(fill)
        self.second.on_fill(fill)

    def on_action(self, action: "OrderAction") -> None:
        self.first.on_action(action)
        self.second.on_action(action)

    def on_risk_event(self, event: "RiskEvent") -> None:
        self.first.on_risk_event(event)
        self.second.on_risk_event(event)

    def on_unknown_order(self, update: "OrderUpdate") -> None:
        self.first.on_unknown_order(update)
        self.second.on_unknown_order(update)


def _each(hooks: list[PollHook]) -> PollHook:
    def call(runner: LiveRunner) -> None:
        for hook in hooks:
            hook(runner)

    return call


def _connect(
    config: AppConfig, settings: "CcxtSettings", *, observer: "RequestObserver | None" = None
) -> "CcxtVenue":
    """``connect``, with a venue that cannot be reached reported as the operator reads it.

    ``connect`` gives up after ``settings.retry.attempts`` attempts of ``venue.timeout_s``
    each (with backoff between them), so a venue that never answers ends the start in
    bounded time; authentication failures and unlisted symbols keep their own messages.
    """
    from market_maker.exchanges.ccxt import connect

    started = time.monotonic()
    try:
        return connect(settings, observer=observer)
    except (RetryableExchangeError, OrderRejectedError) as exc:
        raise venue_unreachable(
            config.venue,
            exc,
            attempts=settings.retry.attempts,
            elapsed_s=time.monotonic() - started,
        ) from exc


class SignalStop:
    """The handler of SIGINT and SIGTERM: the first stops gracefully, a second exits at once.

    The signals are counted before anything else: a second signal's handler can run inside
    the first's (Python runs handlers between bytecodes), and ``next`` on a C iterator is one
    step, so a second signal is never taken for a first.
    """

    def __init__(self, runner: LiveRunner, exit_now: Callable[[int], object] = os._exit) -> None:
        self.runner = runner
        self.exit_now = exit_now
        self._received = itertools.count()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        """Handle one signal."""
        if next(self._received):
            log.warning(
                "second signal: exiting now without saving; the next start resumes from the "
                "last checkpoint"
            )
            logging.shutdown()  # flush the handlers: os._exit skips every cleanup
            self.exit_now(130)
            return
        self.runner.request_stop()
        log.info("stopping: finishing the decision in hand, then saving (signal again to exit)")


def _run_until_signal(runner: LiveRunner) -> None:
    """Run; the first SIGINT/SIGTERM stops gracefully, a second one exits at once.

    A graceful stop finishes the poll in hand (its workflow included), cancels the openings
    when ``venue.cancel_on_exit`` says so, saves and returns. The second signal ends the
    process on the spot (exit status 130), as a crash would: the Durable engine resumes
    from its last checkpoint and its recorded workflows at the next start.
    """
    stop = SignalStop(runner)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
