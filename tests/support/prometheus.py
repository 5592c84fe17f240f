"""A real Prometheus server scraping a prometheus-client exposition of the bot's metrics.

``BotExposition`` builds every metric family of ``devtools.bot_metrics`` in a registry
of its own and serves it over HTTP; every scrape moves the counters and histograms on, so
``rate()`` and ``histogram_quantile()`` have something to compute. ``prometheus_server``
runs Debian's ``prometheus`` binary (``scripts/ensure_prometheus.sh`` installs it) with
the shipped ``deploy/prometheus/prometheus.yml``, its target and intervals changed for a
test, and stops it at the end.
"""

import json
import shutil
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from devtools.bot_metrics import MetricFamily, MetricKind
from tests.support.paper_binance import wait_until

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0


@dataclass(frozen=True)
class Bot:
    """One bot of the exposition: its labels, gauge values and per-scrape activity."""

    bot_id: str
    symbol: str
    gauges: dict[str, float]
    slots: dict[str, int]
    open_orders: dict[tuple[str, str], int]
    per_scrape: int
    """How many orders, errors and corrections each scrape adds (differs between bots)."""
    latency_s: float
    """The exchange request and tick-to-order latency each scrape observes."""


class BotExposition:
    """Every metric family of the catalogue, for each bot, in a registry of its own."""

    def __init__(self, bots: list[Bot], families: tuple[MetricFamily, ...]) -> None:
        self.bots = bots
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self.metrics: dict[str, Gauge | Counter | Histogram] = {}
        for family in families:
            kind = {MetricKind.GAUGE: Gauge, MetricKind.COUNTER: Counter}.get(
                family.kind, Histogram
            )
            self.metrics[family.name] = kind(
                family.name, family.meaning, family.all_labels, registry=self.registry
            )
        for bot in bots:
            for name, value in bot.gauges.items():
                self._gauge(name).labels(bot.bot_id, bot.symbol).set(value)
            for status, count in bot.slots.items():
                self._gauge("market_maker_active_slots").labels(bot.bot_id, bot.symbol, status).set(
                    count
                )
            for (side, role), count in bot.open_orders.items():
                self._gauge("market_maker_open_orders").labels(
                    bot.bot_id, bot.symbol, side, role
                ).set(count)
        self.advance()

    def _gauge(self, name: str) -> Gauge:
        metric = self.metrics[name]
        assert isinstance(metric, Gauge), name
        return metric

    def _counter(self, name: str) -> Counter:
        metric = self.metrics[name]
        assert isinstance(metric, Counter), name
        return metric

    def _histogram(self, name: str) -> Histogram:
        metric = self.metrics[name]
        assert isinstance(metric, Histogram), name
        return metric

    def advance(self) -> None:
        """What a bot does between two scrapes: orders, errors, corrections, latencies."""
        with self._lock:
            for bot in self.bots:
                labels = (bot.bot_id, bot.symbol)
                for name in ("placed", "filled", "cancelled", "rejected"):
                    self._counter(f"market_maker_orders_{name}").labels(*labels).inc(bot.per_scrape)
                self._counter("market_maker_reconciliation_corrections").labels(
                    *labels, "missing_order"
                ).inc(bot.per_scrape)
                for error_class in ("retryable", "fatal"):
                    self._counter("market_maker_exchange_errors").labels(*labels, error_class).inc(
                        bot.per_scrape
                    )
                self._histogram("market_maker_tick_to_order_seconds").labels(*labels).observe(
                    bot.latency_s
                )
                for operation in ("create_order", "cancel_order"):
                    self._histogram("market_maker_exchange_request_seconds").labels(
                        *labels, operation
                    ).observe(bot.latency_s)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve ``/metrics`` on a free local port; yields the ``host:port`` to scrape."""
        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            self.advance()
            return metrics_app(environ, start_response)

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes are not worth a line on stderr each."""

        server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="exposition", daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=STOP_DEADLINE_S)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus server and its HTTP API."""

    url: str
    log: Path

    def api(self, path: str, **params: str | float) -> Any:
        """``GET /api/v1/<path>`` with ``params``; the ``data`` of a successful answer."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as answer:
            body = json.loads(answer.read())
        assert body["status"] == "success", body
        return body["data"]

    def ready(self) -> bool:
        """Whether the server answers ``/-/ready`` with 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False


def scrape_configuration(target: str, scrape_interval_s: int) -> dict[str, Any]:
    """The shipped prometheus.yml, scraping ``target`` every ``scrape_interval_s``."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    interval = f"{scrape_interval_s}s"
    config["global"] = {"scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(ALERTS)]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    return dict(config)


@contextmanager
def prometheus_server(folder: Path, config: dict[str, Any]) -> Iterator[Prometheus]:
    """Run Prometheus with ``config`` (data and log in ``folder``) until the block ends."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise AssertionError("prometheus not found: run scripts/ensure_prometheus.sh to install it")
    config_path = folder / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = folder / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", log)
    try:
        try:
            wait_until(
                lambda: process.poll() is not None or server.ready(), "Prometheus", START_DEADLINE_S
            )
        except AssertionError:
            raise AssertionError(
                f"Prometheus never became ready: {log.read_text()[-2000:]}"
            ) from None
        if process.poll() is not None:
            raise AssertionError(
                f"Prometheus exited {process.returncode}: {log.read_text()[-2000:]}"
            )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_DEADLINE_S)
