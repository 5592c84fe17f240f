"""Kill -9 the bot at random moments (and inside each workflow step) against a paper exchange
in its own process; after the last restart the exchange's ledger must agree with the bot."""

import pytest

from market_maker.live.chaos import run_chaos


@pytest.mark.timeout(1500)  # about 2.5 min per backend alone
def test_25_sigkill_restart_cycles_keep_every_invariant(database_url: str) -> None:
    report = run_chaos(25, database_url=database_url, seed=7)
    assert report.violations == []
    assert report.cycles == 25
    # The crashes really happened, inside the steps too, and the bot really traded.
    assert sum(report.kills.values()) == 25
    assert {"intents", "after-place", "reports"} & set(report.kills)
    assert report.fills > 0 and report.orders > report.fills
