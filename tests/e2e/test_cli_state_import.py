"""``market-maker state import`` as a user runs it: a Simple engine bot moves to Durable.

The Simple engine trades the bundled sample with an ``SqliteStore``; the user checks the
import with ``--dry-run``, imports, and ``market-maker status`` / ``orders`` on the
(stopped) Durable bot show the position and the resting orders the Simple bot left.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from market_maker.backtest.runner import run_backtest, simulated_exchange
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.engine.execution import CheckpointPolicy
from market_maker.state.views import state_view
from market_maker.stores.sqlite import SqliteStore

pytestmark = pytest.mark.timeout(180)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "market_maker", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_simple_engine_bot_imported_shows_its_position_and_orders_in_status(
    tmp_path: Path,
) -> None:
    raw = yaml.safe_load(default_backtest_config_path().read_text())
    raw["durable"] = {"database_url": f"sqlite:///{tmp_path / 'durable' / 'bot.db'}"}
    (tmp_path / "durable").mkdir()
    config_path = tmp_path / "bot.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    config = load_config(config_path)
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles[:900]
    store_path = tmp_path / "simple.db"
    with SqliteStore(store_path, bot_id=config.bot_id, symbol=config.symbol) as store:
        run_backtest(
            config,
            candles,
            store=store,
            exchange=simulated_exchange(config),
            checkpoint=CheckpointPolicy.EVERY_CHANGE,
        )
        state = store.load()
    assert state is not None
    expected = state_view(state)
    assert expected["open_orders"] and expected["position"] != "0"
    args = ("state", "import", "--from", str(store_path), "--config", str(config_path))

    checked = _cli(*args, "--dry-run", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["imported"] is False and report["state_version"] == state.version
    assert report["open_orders"] == len(expected["open_orders"])
    assert report["position"] == expected["position"]
    assert not (tmp_path / "durable" / "bot.db").exists()  # a dry run writes nothing

    imported = _cli(*args)
    assert imported.returncode == 0, imported.stderr
    assert f"imported bot sample on {config.symbol}" in imported.stdout
    assert f"next: market-maker run --config {config_path}" in imported.stdout

    shown = _cli("status", "--config", str(config_path), "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["running"] is False and status["run"] is None  # imported, never started
    assert status["state_version"] == state.version
    assert status["position"] == expected["position"]
    assert status["realized_pnl"] == expected["realized_pnl"]
    assert status["open_orders"] == expected["open_orders"]
    orders = _cli("orders", "--config", str(config_path), "--json")
    assert orders.returncode == 0, orders.stderr
    assert json.loads(orders.stdout) == expected["open_orders"]

    again = _cli(*args)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "already holds a Durable engine state" in again.stderr
