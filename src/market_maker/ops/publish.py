"""The running bot's published view: built on the runner's thread, read by everyone else.

``Publisher`` is a runner hook (``LiveRunner(on_poll=...)``): every ``every_ms`` it builds
the bot's *view* (the engine's read model plus what only the running process knows: price
age, balances and equity, counters, the latest corrections and error) and

* keeps it in memory (``latest``: one reference swapped whole, so the HTTP server's thread
  reads a consistent view without ever touching the engine);
* writes it to the bot's ``mm_runs`` row (``BotRun.beat``), where ``market-maker status``
  reads it from any process.

Balances cost a request, so they are read at most every ``balances_every_ms``.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from market_maker.domain.decimals import decimal_to_plain, decimal_to_str
from market_maker.domain.instrument import split_symbol
from market_maker.exchanges.base import Balance, RetryableExchangeError
from market_maker.ops.commands import wall_ms
from market_maker.ops.heartbeat import BotRun

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner

PUBLISH_EVERY_MS = 2000
"""Least time between two published views."""
BALANCES_EVERY_MS = 10_000
"""Least time between two reads of the account's balances."""
RECENT_CORRECTIONS = 20
"""Corrections the view lists (the newest)."""


class Publisher:
    """Builds and publishes the bot's view (see the module docstring).

    Args:
        run: Where the view is written (None: kept in memory only).
        clock: Wall-clock milliseconds.
        every_ms: Least time between two views.
        balances_every_ms: Least time between two balance reads.
    """

    def __init__(
        self,
        run: BotRun | None,
        *,
        clock: Callable[[], int] = wall_ms,
        every_ms: int = PUBLISH_EVERY_MS,
        balances_every_ms: int = BALANCES_EVERY_MS,
    ) -> None:
        self.run = run
        self.clock = clock
        self.every_ms = every_ms
        self.balances_every_ms = balances_every_ms
        self.latest: Mapping[str, Any] = {}
        self.started = False
        self._due_ms = 0
        self._balances: dict[str, Balance] | None = None
        self._balances_ms = 0

    def __call__(self, runner: "LiveRunner") -> None:
        """After a poll: publish when due."""
        now = self.clock()
        if self.started and now < self._due_ms:
            return
        self._due_ms = now + self.every_ms
        if now - self._balances_ms >= self.balances_every_ms or self._balances is None:
            try:
                self._balances = runner.sources.venue.balances()
                self._balances_ms = now
            except RetryableExchangeError:
                pass  # keep the last ones; their time says how old they are
        self.latest = view = build_view(runner, now, self._balances, self._balances_ms)
        if self.run is None:
            self.started = True
            return
        if not self.started:
            self.run.start(view)
            self.started = True
        else:
            self.run.beat(view)

    def stop(self, runner: "LiveRunner") -> None:
        """Record a clean stop with the final view."""
        if self.run is not None and self.started:
            self.latest = view = build_view(
                runner, self.clock(), self._balances, self._balances_ms, running=False
            )
            self.run.stop(view)


def build_view(
    runner: "LiveRunner",
    now_ms: int,
    balances: Mapping[str, Balance] | None,
    balances_ms: int,
    *,
    running: bool = True,
) -> dict[str, Any]:
    """The bot's view now: its read model, price age, account, counters, latest corrections."""
    engine = runner.engine
    state = engine.state
    view = engine.status()
    book = state.book
    price = state.last_price
    unrealized = book.unrealized_pnl(price) if price is not None else Decimal(0)
    base, quote = split_symbol(state.symbol)
    equity = None
    if balances is not None and price is not None:
        held = {a: b.total for a, b in balances.items()}
        equity = held.get(quote, Decimal(0)) + held.get(base, Decimal(0)) * price
    counts = runner.counts
    view.update(
        running=running,
        wall_ms=now_ms,
        price_wall_ms=runner.price_wall_ms,
        price_age_s=(
            None if runner.price_wall_ms is None else (now_ms - runner.price_wall_ms) / 1000
        ),
        unrealized_pnl=decimal_to_str(unrealized),
        equity=None if equity is None else decimal_to_plain(equity),
        balances=(
            None
            if balances is None
            else {
                a: {"free": decimal_to_plain(b.free), "locked": decimal_to_plain(b.locked)}
                for a, b in sorted(balances.items())
            }
        ),
        balances_ms=balances_ms if balances is not None else None,
        counts={
            "candles": counts.candles,
            "prices": counts.prices,
            "superseded": counts.superseded,
            "order_updates": counts.order_updates,
            "ignored": counts.ignored,
            "orders_placed": engine.orders_placed,
            "orders_canceled": engine.orders_canceled,
            "decisions": engine.decisions,
            "reconciliations": engine.reconciliations,
            "commands": runner.commands_done,
        },
        corrections=dict(sorted(engine.corrections.items())),
        recent_corrections=[c.as_json() for c in engine.recent_corrections[-RECENT_CORRECTIONS:]],
        last_error=(
            None
            if runner.last_error is None
            else {"wall_ms": runner.last_error[0], "message": runner.last_error[1]}
        ),
    )
    return view


__all__ = ["Publisher", "build_view"]
