"""A database lost while the bot trades: it stops trading, says so clearly, loses nothing.

The bot runs on its own PostgreSQL database; mid-run the server stops accepting
connections to it and ends the bot's sessions (what a failover or an operator's mistake
looks like). Nothing can be recorded, so nothing may be traded. Which write fails first
decides what the operator sees: DBOS retries its own tables inside the workflow in flight
(the bot waits there; `/health` says `unhealthy: database unreachable`), or the bot's own
write fails and `run` ends with status 2 and a message naming `durable.database_url` and
the fix. Either way no traceback is printed (DBOS's are cut to their error line),
`status` exits 2 with the same kind of message, and once the database is back the bot
carries on (or the next start resumes) with books equal to the exchange's ledger.
"""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.paper_binance import wait_until
from tests.support.paper_process import (
    BotProcess,
    audit_books,
    live_config,
    paper_exchange_process,
    sample_slice,
    wait_for_bot,
)

pytestmark = pytest.mark.timeout(240)

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NAME = "mm_midrun_e2e"


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def cut_off() -> None:
    admin(f"ALTER DATABASE {NAME} ALLOW_CONNECTIONS false")
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{NAME}'")


def health(url: str) -> Any:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503: unhealthy, with its reasons
        return json.loads(exc.read())


@pytest.fixture
def database() -> Iterator[str]:
    admin(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
    admin(f"CREATE DATABASE {NAME}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{NAME}"
    admin(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


def test_a_database_lost_mid_run_stops_trading_clearly_and_nothing_is_lost(
    tmp_path: Path, database: str
) -> None:
    from market_maker.config.loader import load_config

    data = sample_slice(tmp_path, 400, 1700)
    exchange_config = live_config(tmp_path, None, "spot", name="exchange.yaml")
    with paper_exchange_process(tmp_path, "spot", config=exchange_config, data=data) as px:
        config = live_config(tmp_path, px.url, "spot", durable={"database_url": database})
        control = px.control
        control.advance(1)
        bot = BotProcess(config, tmp_path, name="lost")
        wait_for_bot(bot, lambda s: len(s["open_orders"]) > 0, "the first grid")
        url = next(
            line.split()[1] for line in bot.out.splitlines() if line.startswith("operations:")
        )
        cut_off()
        control.advance(30)  # prices and fills: the bot must record them, and cannot

        def noticed() -> bool:
            if bot.process.poll() is not None:
                return True  # its own write failed first: it ended the run
            return "database unreachable" in json.dumps(health(url))  # waiting in DBOS

        wait_until(noticed, "the bot to notice", 90)
        shown = subprocess.run(
            [sys.executable, "-m", "market_maker", "status", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 2 and "durable.database_url" in shown.stderr, shown.stderr
        assert "fix" in shown.stderr and "Traceback" not in shown.stdout + shown.stderr
        # the database comes back: the bot carries on from its last commit, or, if its own
        # write failed first and it ended the run, the next start resumes from there
        admin(f"ALTER DATABASE {NAME} ALLOW_CONNECTIONS true")
        market = control.market()

        def carried_on() -> bool:
            if bot.process.poll() is not None:
                return True
            status = bot.status()
            return status is not None and market.seen_by(status["last_update_ms"])

        wait_until(carried_on, "the bot to carry on or end the run", 150)
        if bot.process.poll() is not None:
            assert bot.process.returncode == 2, bot.err[-3000:]
            assert "error: durable.database_url" in bot.err and "fix:" in bot.err
            assert "Traceback" not in bot.out + bot.err, bot.err[-3000:]
            bot = BotProcess(config, tmp_path, name="back")
            wait_for_bot(bot, lambda s: market.seen_by(s["last_update_ms"]), "the restart", 120)
        assert "Traceback" not in bot.out + bot.err, bot.err[-3000:]
        assert bot.stop() == 0, bot.err[-3000:]
        _, mismatches = audit_books(load_config(config), control)
        assert mismatches == [], mismatches
        assert not control.ledger().duplicates
