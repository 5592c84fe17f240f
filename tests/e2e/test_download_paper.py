"""``market-maker download`` against the paper exchange's Binance klines, as a user runs it.

The paper exchange (``market-maker paper-exchange``, manual time) replays the bundled
sample; the download runs in two steps (the second resumes after the first's last candle)
and the file must hold exactly the candles the exchange served, which the backtest reads.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from market_maker.cli.paper_trading import PaperExchangeProcess, paper_config_path
from market_maker.data.candles import load_candles
from market_maker.data.sample import sample_candles_path
from market_maker.paper.control import PaperControl

SYMBOL = "BTC/USDT:USDT"
SERVED = 2500
"""Candles market time has reached when the download runs."""

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def exchange() -> Iterator[str]:
    exchange = PaperExchangeProcess(paper_config_path(), None, 0.0, "usdm")
    try:
        PaperControl(exchange.url).advance(SERVED)
        yield exchange.url
    finally:
        exchange.stop()


def download(url: str, out: Path, until: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "market_maker", "download", "--exchange", "binanceusdm"]
    command += ["--symbol", SYMBOL, "--since", "2025-05-14", "--until", until]
    command += ["--url", url, "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=150, check=False)


def test_a_resumed_download_holds_exactly_the_served_candles(exchange: str, tmp_path: Path) -> None:
    sample = load_candles(sample_candles_path(), symbol=SYMBOL).candles
    out = tmp_path / "btc.csv"
    first = download(exchange, out, "2025-05-14T10:00")
    assert first.returncode == 0, first.stderr
    assert len(load_candles(out, symbol=SYMBOL).candles) == 600  # 00:00 to 09:59
    second = download(exchange, out, "2025-05-16")
    assert second.returncode == 0, second.stderr
    assert "resuming after its last candle" in second.stdout
    got = load_candles(out, symbol=SYMBOL).candles
    # Every candle market time has reached, no gap, no repeat, every digit.
    assert list(got) == list(sample[:SERVED])
    backtest = subprocess.run(
        [sys.executable, "-m", "market_maker", "backtest", "--data", str(out)],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert backtest.returncode == 0, backtest.stderr
