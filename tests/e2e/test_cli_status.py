"""``market-maker status`` prints the bot's state from its database, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from market_maker.backtest.runner import run_backtest
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "market_maker", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_status_json_of_a_stopped_bot_and_a_clear_error_without_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    raw = yaml.safe_load(default_backtest_config_path().read_text())
    raw["durable"] = {"database_url": url}
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(raw))

    missing = _cli("status", "--config", str(path), "--json")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no state for bot sample" in missing.stderr and "market-maker run" in missing.stderr
    assert not (tmp_path / "bot.db").exists()  # a status check never creates the database

    config = load_config(path)
    candles = load_candles(sample_candles_path(), symbol=config.symbol).candles[:300]
    result = run_backtest(config, candles, durable_url=url)

    shown = _cli("status", "--config", str(path), "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["bot_id"] == "sample" and report["state_version"] > 0
    assert report["risk_state"] != "HALTED" and report["halt"] is None
    assert report["realized_pnl"] == str(result.summary.realized_pnl)
    assert report["fees_paid"] == str(result.summary.fees_paid)
    assert report["open_orders"] and all(
        o["client_order_id"].startswith("sample-") and isinstance(o["price"], str)
        for o in report["open_orders"]
    )
    table = _cli("status", "--config", str(path))
    assert table.returncode == 0 and "open orders" in table.stdout
