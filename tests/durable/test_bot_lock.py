"""One process per bot: the bot lock, on real SQLite files and a real PostgreSQL server."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from market_maker.domain.errors import MarketMakerError
from market_maker.durable.bot_lock import (
    BotAlreadyRunningError,
    BotLock,
    acquire_bot_lock,
    lock_key,
)
from market_maker.durable.execution import dbos_app_name

pytestmark = pytest.mark.timeout(60)

SYMBOL = "BTC/USDT"

HOLDER = """\
import sys
from market_maker.durable.bot_lock import acquire_bot_lock
lock = acquire_bot_lock(sys.argv[1], "alpha", "BTC/USDT")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until killed
"""


@pytest.fixture
def held() -> Iterator[list[BotLock]]:
    """Locks a test took; released afterwards."""
    locks: list[BotLock] = []
    yield locks
    for lock in locks:
        lock.release()


def test_a_second_holder_of_the_same_bot_is_refused_with_bot_database_and_pid(
    database_url: str, held: list[BotLock]
) -> None:
    held.append(acquire_bot_lock(database_url, "alpha", SYMBOL))
    with pytest.raises(BotAlreadyRunningError) as refused:
        acquire_bot_lock(database_url, "alpha", SYMBOL, wait_s=0)
    message = str(refused.value)
    assert message.startswith(f"bot alpha on {SYMBOL} is already running on ")
    assert database_url.rsplit("/", maxsplit=1)[-1] in message  # which database
    assert f"market-maker alpha {SYMBOL} pid {os.getpid()} on " in message  # which process
    assert "Stop that process first" in message


def test_other_bots_and_other_symbols_hold_their_own_locks_side_by_side(
    database_url: str, held: list[BotLock]
) -> None:
    held.append(acquire_bot_lock(database_url, "alpha", SYMBOL))
    held.append(acquire_bot_lock(database_url, "beta", SYMBOL))
    held.append(acquire_bot_lock(database_url, "alpha", "ETH/USDT"))
    assert all(lock.held for lock in held)


def test_a_released_lock_can_be_taken_again(database_url: str, held: list[BotLock]) -> None:
    first = acquire_bot_lock(database_url, "alpha", SYMBOL)
    first.release()
    first.release()  # idempotent
    assert not first.held
    held.append(acquire_bot_lock(database_url, "alpha", SYMBOL))


def test_kill_9_of_the_holder_leaves_no_stale_lock(database_url: str, held: list[BotLock]) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BotAlreadyRunningError, match=f"pid {holder.pid} on "):
            acquire_bot_lock(database_url, "alpha", SYMBOL, wait_s=0.3)  # a live holder
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            assert stream is not None
            stream.close()
    # The kernel closed the file (SQLite) or the socket (PostgreSQL: the server ends the
    # session on EOF, a moment later, which the default wait covers): the lock is free
    # without anyone cleaning up.
    held.append(acquire_bot_lock(database_url, "alpha", SYMBOL))


def test_an_in_memory_database_needs_no_lock() -> None:
    lock = acquire_bot_lock("sqlite://", "alpha", SYMBOL)
    assert not lock.held


def test_keys_and_dbos_application_names_tell_bots_apart() -> None:
    bots = [("alpha", SYMBOL), ("beta", SYMBOL), ("alpha", "ETH/USDT"), ("ALPHA", SYMBOL)]
    assert len({lock_key(*bot) for bot in bots}) == len(bots)
    names = [dbos_app_name(*bot) for bot in bots]
    assert len(set(names)) == len(bots)
    assert names[0].startswith("market-maker-alpha-btcusdt-")
    assert all(name == name.lower() for name in names)  # DBOS accepts lower case only
    assert all(-(2**63) <= lock_key(*bot) < 2**63 for bot in bots)


def test_a_database_in_a_missing_directory_is_refused_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "bot.db"
    with pytest.raises(MarketMakerError, match=r"cannot open the bot's lock file .*no-such-dir"):
        acquire_bot_lock(f"sqlite:///{missing}", "alpha", SYMBOL)
