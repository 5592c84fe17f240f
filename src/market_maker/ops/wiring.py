"""A live bot's operations, wired from its configuration: commands, view, metrics, health."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from market_maker.config.alerts import AlertKind
from market_maker.config.app import AppConfig
from market_maker.ops.commands import CommandQueue
from market_maker.ops.health import SlotWatch, stuck_slots
from market_maker.ops.heartbeat import BotRun
from market_maker.ops.history import History
from market_maker.ops.metrics import BotMetrics
from market_maker.ops.publish import Publisher

if TYPE_CHECKING:
    from market_maker.live.runner import LiveRunner


@dataclass
class BotOperations:
    """What ``run_live`` needs to take operator commands, publish and measure the bot.

    ``on_poll`` is the runner hook: it publishes the view when due (``publisher``) and,
    with each new view, updates the metrics, the dashboard's history and the slot watch
    of the health rule, all on the runner's thread. The HTTP server (``ops.http``) reads
    only what these hold.

    Attributes:
        config: The bot's configuration.
        database: The bot's database (``durable.database_url``).
        commands: The bot's command channel.
        publisher: Builds and publishes its view (``publisher.latest`` for the HTTP server).
        metrics: Its Prometheus metrics.
        history: The dashboard's time series.
        slots: Since when slots have been PENDING or LOCKED (the health rule).
        notify: The run's alerts (``ops.alerts.Alerter.notify``), told of stuck slots at
            each new view (the alerter rate-limits); None: no alerts.
    """

    config: AppConfig
    database: sa.Engine
    commands: CommandQueue
    publisher: Publisher
    metrics: BotMetrics
    history: History
    slots: SlotWatch = field(default_factory=SlotWatch)
    notify: Callable[..., object] | None = None

    @classmethod
    def for_config(cls, config: AppConfig) -> "BotOperations":
        """The operations of ``config``'s bot, on its durable database."""
        from market_maker.durable.database import create_engine

        database = create_engine(config.durable.database_url, connect=False)
        return cls(
            config,
            database,
            CommandQueue(database, config.bot_id, config.symbol),
            Publisher(BotRun(database, config.bot_id, config.symbol)),
            BotMetrics(config.bot_id, config.symbol, config.grid.max_inventory),
            History(config.operations.history_points),
        )

    def on_poll(self, runner: "LiveRunner") -> None:
        """After a poll: publish when due; take each new view into metrics and history."""
        before = self.publisher.latest
        self.publisher(runner)
        view = self.publisher.latest
        if view is not before and view:
            self.metrics.update(runner, view)
            self.history.record(view)
            self.slots.observe(view)
            self._alert_stuck(view)

    def _alert_stuck(self, view: Mapping[str, Any]) -> None:
        """Raise the stuck-slot alert (rate-limited by the alerter) while slots are stuck."""
        if self.notify is None:
            return
        stuck = stuck_slots(view, self.slots.since, int(view["wall_ms"]), self.config.operations)
        if stuck:
            self.notify(AlertKind.STUCK_SLOTS, "; ".join(stuck), slots=len(stuck))

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


__all__ = ["BotOperations"]
