"""Several bots on one database, one process each: ``market-maker run`` as operators run it.

Two bots (different bot ids, each on its own paper-exchange account) run as separate
processes on one database, SQLite file and PostgreSQL: both trade, and their rows and
workflows stay apart. A second process of a running bot exits 2 with a message that names
the bot, the database and the holder, and the running one carries on; after ``kill -9``
of a bot a new process of it starts at once.
"""

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from devtools.scratch_db import scratch_database
from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.live.status import bot_status
from market_maker.paper.control import PaperControl
from market_maker.slots.client_ids import id_prefix

pytestmark = pytest.mark.timeout(300)

DEADLINE_S = 90.0
POLL_S = 0.1


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bots.db'}"
        return
    with scratch_database("mm_bots") as url:
        yield url


@pytest.fixture
def start_exchange(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Paper exchanges (packaged backtest config, bundled sample, manual time): one account each."""
    procs: list[subprocess.Popen[str]] = []

    def start() -> str:
        command = [sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0"]
        with (tmp_path / f"exchange-{len(procs)}.log").open("w") as log:
            proc = subprocess.Popen(
                [*command, "--speed", "0"], stdout=subprocess.PIPE, stderr=log, text=True
            )
        procs.append(proc)
        assert proc.stdout is not None
        for _ in range(5):  # the URL line follows a line about the data
            if found := re.search(r"http://\S+", proc.stdout.readline()):
                return found.group(0)
        raise AssertionError("the paper exchange did not print its URL")

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def bot_config(tmp_path: Path, bot_id: str, url: str, database_url: str) -> Path:
    raw: dict[str, Any] = yaml.safe_load(default_backtest_config_path().read_text())
    raw["bot_id"] = bot_id
    raw["venue"] = {"url": url, "poll_interval_s": 0.05}
    raw["durable"] = {"database_url": database_url}
    raw["operations"] = {"http_port": 0}  # two bots at once: any free port each
    path = tmp_path / f"{bot_id}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


class Bot:
    """One ``market-maker run`` process and the venue it trades on."""

    def __init__(self, config_path: Path, url: str) -> None:
        self.config_path = config_path
        self.config: AppConfig = load_config(config_path)
        self.venue = PaperControl(url)
        self.proc = self.spawn()

    def spawn(self) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "market_maker", "run", "--config", str(self.config_path)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def caught_up(self) -> bool:
        """True once the bot's saved state has reached the venue's latest candle."""
        assert self.proc.poll() is None, self.proc.communicate()[1]
        try:
            status = bot_status(self.config)
        except sa.exc.OperationalError:
            return False  # the database is being created
        latest = self.venue.market().last_open_ms
        assert latest is not None
        # Through ccxt the bot's market time is a candle's close: past its open time.
        return status is not None and status["last_update_ms"] >= latest

    def stop(self) -> tuple[str, str]:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=60)

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(POLL_S)


def trade(bots: list[Bot], candles: int) -> None:
    """Move each venue on one candle at a time, each time after its bot caught up."""
    for _ in range(candles):
        for bot in bots:
            wait_until(f"{bot.config.bot_id} caught up", bot.caught_up)
            bot.venue.advance(1)
    for bot in bots:
        wait_until(f"{bot.config.bot_id} caught up", bot.caught_up)


def test_two_bots_share_a_database_and_a_second_process_of_one_is_refused(
    tmp_path: Path, database_url: str, start_exchange: Callable[[], str]
) -> None:
    urls = [start_exchange(), start_exchange()]
    for url in urls:
        PaperControl(url).advance(5)
    alpha_path = bot_config(tmp_path, "alpha", urls[0], database_url)
    bots = [
        Bot(alpha_path, urls[0]),
        Bot(bot_config(tmp_path, "beta", urls[1], database_url), urls[1]),
    ]
    alpha = bots[0]
    try:
        trade(bots, 40)
        for bot in bots:  # both trade: orders rest, fills happened, each on its own venue
            ledger = bot.venue.ledger()
            assert any(not o.state.status.is_terminal for o in ledger.orders)
            assert ledger.fills
        assert_rows_apart(database_url, bots)

        # A second process of alpha is refused at once; alpha keeps running.
        second = alpha.spawn()
        out, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert err.startswith(f"error: bot alpha on {alpha.config.symbol} is already running on ")
        assert f"pid {alpha.proc.pid} on " in err
        assert "Stop that process first" in err
        assert "Traceback" not in out + err
        trade(bots, 2)

        # kill -9 leaves no stale lock: a new alpha starts, resumes and trades.
        alpha.proc.send_signal(signal.SIGKILL)
        alpha.proc.wait(timeout=30)
        alpha.end()
        alpha.proc = alpha.spawn()
        trade(bots, 3)
        for bot in bots:
            out, err = bot.stop()
            assert bot.proc.returncode == 0, err
            assert "Traceback" not in err
        assert_rows_apart(database_url, bots)
    finally:
        for bot in bots:
            bot.end()


def assert_rows_apart(database_url: str, bots: list[Bot]) -> None:
    """Each bot's state, orders, fills and workflows carry its own id and nothing else."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            states = conn.execute(sa.text("SELECT bot_id, symbol FROM mm_state")).all()
            assert sorted(states) == sorted((b.config.bot_id, b.config.symbol) for b in bots)
            for bot in bots:
                prefix = id_prefix(bot.config.bot_id, bot.config.symbol)
                orders = (
                    conn.execute(
                        sa.text("SELECT client_order_id FROM mm_orders WHERE bot_id = :b"),
                        {"b": bot.config.bot_id},
                    )
                    .scalars()
                    .all()
                )
                assert orders and all(cid.startswith(prefix) for cid in orders)
                fills = (
                    conn.execute(
                        sa.text("SELECT client_order_id FROM mm_fills WHERE bot_id = :b"),
                        {"b": bot.config.bot_id},
                    )
                    .scalars()
                    .all()
                )
                assert fills and all(cid.startswith(prefix) for cid in fills)
            schema = "" if engine.dialect.name == "sqlite" else "dbos."
            workflows = conn.execute(
                sa.text(f"SELECT workflow_uuid, application_name FROM {schema}workflow_status")
            ).all()
    finally:
        engine.dispose()
    by_prefix: dict[str, set[str]] = {
        id_prefix(b.config.bot_id, b.config.symbol): set() for b in bots
    }
    for workflow_id, app_name in workflows:
        (prefix,) = [p for p in by_prefix if workflow_id.startswith(p)]
        by_prefix[prefix].add(app_name)
    assert all(len(names) == 1 for names in by_prefix.values())  # one DBOS application per bot
    assert len(set().union(*by_prefix.values())) == len(bots)
