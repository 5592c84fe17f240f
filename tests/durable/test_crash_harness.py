"""Kill -9 the bot at random moments (and inside each workflow step) while it trades through
ccxt on the Binance-compatible paper exchange in its own process; after the last restart
the exchange's ledger must agree with the bot. The second test adds the exchange's faults
(429s, 5xx, lost acks, websocket drops, duplicated and reordered events) on spot."""

from pathlib import Path

import pytest

from market_maker.live.chaos import run_chaos
from market_maker.live.chaos_setup import FaultMix


@pytest.mark.timeout(1500)  # about 2.5 min per backend alone
def test_25_sigkill_restart_cycles_keep_every_invariant(database_url: str) -> None:
    report = run_chaos(25, database_url=database_url, seed=7)
    assert report.violations == []
    assert report.cycles == 25
    # The crashes really happened, inside the steps too, and the bot really traded.
    assert sum(report.kills.values()) == 25
    assert {"intents", "after-place", "reports"} & set(report.kills)
    assert report.fills > 0 and report.orders > report.fills


@pytest.mark.timeout(600)
def test_a_faulty_exchange_and_kills_lose_no_fill_and_make_no_second_order(
    tmp_path: Path,
) -> None:
    mix = FaultMix(
        rate_limit=0.10,
        server_errors=0.05,
        lost_acks=0.10,
        ws_drops=0.02,
        ws_duplicates=0.05,
        ws_reorders=0.05,
        ws_drop_every_s=5,
    )
    report = run_chaos(
        5,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        seed=3,
        market="spot",
        fault_mix=mix,
    )
    assert report.violations == []
    assert report.duplicates == 0 and report.cycles == 5
    assert report.fills > 0
    # The faults really hit the bot: refused and failed requests, broken streams.
    assert {"rate_limit", "server_error"} <= set(report.faults)
    assert {"ws_drop", "ws_duplicate", "ws_reorder", "ws_timed_drop"} & set(report.faults)


@pytest.mark.timeout(300)
def test_the_harness_refuses_a_database_that_holds_the_bots_state_already(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    report = run_chaos(1, database_url=database_url, seed=5, workdir=tmp_path / "first")
    assert report.violations == [] and report.cycles == 1
    with pytest.raises(RuntimeError, match=r"already holds the state of bot 'sample'"):
        run_chaos(1, database_url=database_url, workdir=tmp_path / "second")
