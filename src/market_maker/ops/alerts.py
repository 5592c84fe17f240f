"""Alerts of a running bot: rate-limited, queued, delivered on a thread of their own.

``Alerter.notify(kind, message, **fields)`` is the one way to raise an alert (the risk
observer, the run's poll hook and, later, the health check call it). It never blocks and
never raises: trading must not notice a slow, failing or unreachable receiver.

* **Kinds**: only the kinds enabled in ``alerts.kinds`` are sent.
* **Rate limit**: at most one alert of a kind per ``alerts.min_interval_s``; the ones in
  between are counted, and the next one sent carries the count (``suppressed``).
* **Queue**: alerts wait in a bounded queue (``alerts.queue_size``) for a background
  thread that hands each to every sender (``market_maker.ops.alert_senders``), each
  request bounded by ``alerts.timeout_s``. A full queue drops the alert: drops are counted
  and logged once. A failed delivery is counted and logged once per sender until that
  sender delivers again.

``alerter_from_config`` builds one from the configuration and the environment (the
Telegram token is read from ``MARKET_MAKER_TELEGRAM_TOKEN``, never from the file).
"""

import contextlib
import logging
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType

from market_maker.config.alerts import TELEGRAM_TOKEN_ENV, AlertKind
from market_maker.config.app import AppConfig
from market_maker.domain.errors import MarketMakerError
from market_maker.ops.alert_senders import (
    Alert,
    AlertSender,
    DeliveryError,
    TelegramSender,
    WebhookSender,
    json_value,
)

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
"""Longest wait at exit for the alerts still queued to be delivered."""
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]+")
"""The shape of a Telegram bot token (``123456789:AAE...``)."""


class Alerter:
    """Raises alerts for one bot: kinds, rate limit, bounded queue, delivery thread.

    Args:
        bot_id: The bot's id (in every alert).
        symbol: The market it trades (in every alert).
        senders: Where alerts go (each alert goes to every sender).
        kinds: The kinds sent; others are ignored.
        min_interval_s: Least time between two alerts of one kind (0: no limit).
        queue_size: Alerts waiting for delivery at most.
        monotonic: Seconds on a monotonic clock (the rate limit; injected in tests).
        wall_ms: Milliseconds since the epoch (the alerts' ``ts``; injected in tests).

    Attributes:
        queued: Alerts accepted for delivery.
        suppressed: Alerts held back by the rate limit.
        dropped: Alerts dropped because the queue was full.
        delivered: Deliveries that succeeded (one per alert and sender).
        failed: Deliveries that failed.
    """

    def __init__(
        self,
        bot_id: str,
        symbol: str,
        senders: Sequence[AlertSender],
        *,
        kinds: Collection[AlertKind] = tuple(AlertKind),
        min_interval_s: float = 300.0,
        queue_size: int = 100,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.bot_id = bot_id
        self.symbol = symbol
        self.senders = tuple(senders)
        self.kinds = frozenset(kinds)
        self.min_interval_s = min_interval_s
        self.monotonic = monotonic
        self.wall_ms = wall_ms
        self.queued = self.suppressed = self.dropped = self.delivered = self.failed = 0
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._last: dict[AlertKind, float] = {}  # monotonic time of the last one queued
        self._held: Counter[AlertKind] = Counter()  # suppressed since the last one queued
        self._failing: set[str] = set()  # senders whose last delivery failed
        self._thread = threading.Thread(target=self._deliver, name="alerts", daemon=True)

    # -- raising ----------------------------------------------------------------------------

    def notify(self, kind: AlertKind, message: str, **fields: object) -> bool:
        """Raise an alert; True when it was queued for delivery.

        Never blocks, never raises. False when its kind is not enabled, the rate limit
        holds it back (counted in the next one) or the queue is full (counted, dropped).
        """
        if kind not in self.kinds:
            return False
        first_drop = False
        with self._lock:
            now = self.monotonic()
            last = self._last.get(kind)
            if last is not None and self.min_interval_s and now - last < self.min_interval_s:
                self._held[kind] += 1
                self.suppressed += 1
                return False
            details = {key: json_value(value) for key, value in fields.items()}
            if held := self._held[kind]:
                details["suppressed"] = held
            alert = Alert(self.bot_id, self.symbol, kind, message, details, self.wall_ms())
            try:
                self._queue.put_nowait(alert)
            except queue.Full:
                self.dropped += 1
                first_drop = self.dropped == 1
            else:
                self._last[kind] = now
                self._held[kind] = 0
                self.queued += 1
                return True
        if first_drop:  # logged once; the count is in the summary at close
            log.warning(
                "alert queue full: dropping alerts (the receivers are slow or unreachable); "
                "dropped %s: %s",
                kind.value,
                message,
                extra={"alert_kind": kind.value},
            )
        return False

    # -- delivering -------------------------------------------------------------------------

    def start(self) -> "Alerter":
        """Start the delivery thread (once); return self."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Deliver what is queued (waiting ``timeout_s`` at most), then stop the thread.

        Returns True when the thread finished; False when a receiver still holds it (it
        is a daemon thread: it does not keep the process alive). Logs a summary when
        alerts were dropped or deliveries failed.
        """
        finished = True
        if self._thread.ident is not None:
            deadline = time.monotonic() + timeout_s
            with contextlib.suppress(queue.Full):  # a receiver holds the thread: give up
                self._queue.put(None, timeout=timeout_s)
            self._thread.join(max(deadline - time.monotonic(), 0.0))
            finished = not self._thread.is_alive()
        if self.dropped or self.failed or not finished:
            log.warning(
                "alerts: %d delivered, %d failed deliveries, %d dropped (queue full), "
                "%d still queued at exit",
                self.delivered,
                self.failed,
                self.dropped,
                self._queue.qsize(),
                extra={
                    "delivered": self.delivered,
                    "failed": self.failed,
                    "dropped": self.dropped,
                },
            )
        return finished

    def __enter__(self) -> "Alerter":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _deliver(self) -> None:
        while (alert := self._queue.get()) is not None:
            for sender in self.senders:
                self._send(sender, alert)

    def _send(self, sender: AlertSender, alert: Alert) -> None:
        name = sender.name
        try:
            sender.send(alert)
        except Exception as exc:  # a sender's bug must not end the thread either
            why = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
            with self._lock:
                self.failed += 1
                first = name not in self._failing
                self._failing.add(name)
            level = logging.WARNING if first else logging.DEBUG
            log.log(
                level,
                "alert to %s not delivered: %s (%s alert dropped; further failures are "
                "counted, not logged)",
                name,
                why,
                alert.kind.value,
                extra={"alert_kind": alert.kind.value, "receiver": name},
            )
            return
        with self._lock:
            self.delivered += 1
            recovered = name in self._failing
            self._failing.discard(name)
        if recovered:
            log.info("alerts to %s are delivered again", name, extra={"receiver": name})


def alerter_from_config(config: AppConfig, environ: Mapping[str, str]) -> Alerter | None:
    """The bot's alerter (not started), or None when ``alerts`` names no destination.

    Raises:
        MarketMakerError: ``alerts.telegram_chat_id`` is set and the token is missing or
            malformed in the environment (the token itself is never quoted).
    """
    settings = config.alerts
    if not settings.enabled:
        return None
    senders: list[AlertSender] = []
    if settings.webhook_url is not None:
        senders.append(WebhookSender(settings.webhook_url, settings.timeout_s))
    if settings.telegram_chat_id is not None:
        token = environ.get(TELEGRAM_TOKEN_ENV, "").strip()
        if not token:
            raise MarketMakerError(
                f"alerts.telegram_chat_id is {settings.telegram_chat_id!r} but "
                f"{TELEGRAM_TOKEN_ENV} is not set: export the bot's token (from Telegram's "
                "@BotFather) in the environment, or remove alerts.telegram_chat_id"
            )
        if not TOKEN_PATTERN.fullmatch(token):
            raise MarketMakerError(
                f"{TELEGRAM_TOKEN_ENV} does not look like a Telegram bot token (digits, a "
                "colon, then letters, digits, '_' or '-'; its value is not shown): copy it "
                "again from Telegram's @BotFather"
            )
        senders.append(
            TelegramSender(
                token, settings.telegram_chat_id, settings.telegram_api_url, settings.timeout_s
            )
        )
    return Alerter(
        config.bot_id,
        config.symbol,
        senders,
        kinds=settings.kinds,
        min_interval_s=settings.min_interval_s,
        queue_size=settings.queue_size,
    )


__all__ = ["CLOSE_TIMEOUT_S", "Alerter", "alerter_from_config"]
