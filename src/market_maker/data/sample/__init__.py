"""Small real datasets that ship with the package, for the demo, docs and tests.

- Candles: three days of one-minute Binance USDT-M perpetual BTCUSDT candles (2025-05-14 →
  05-16 UTC, 4,320 rows) in which the price moves sideways, so a grid trades.
- Trades: every Binance spot BTCUSDT trade over about 11 minutes (2024-08-08 23:54:15 →
  08-09 00:05:05 UTC, 19,904 trades), for backtests on trade ticks.

Both are MIT licensed; see ``NOTICE.md`` beside this file for the sources, the rows taken and
the license texts.
"""

from importlib.resources import files
from pathlib import Path

from market_maker.domain.errors import MarketMakerError

SAMPLE_ARGUMENT = "sample"
"""A data option given this word names the bundled sample (write ``./sample`` for a file)."""

SAMPLE_SYMBOL = "BTC/USDT:USDT"
"""The unified (ccxt) symbol of the candle sample: the BTC/USDT perpetual settled in USDT."""

SAMPLE_FILE = "btcusdt_perp_1m_sample.csv"
"""The candle sample's file name inside this package."""

SAMPLE_TRADES_SYMBOL = "BTC/USDT"
"""The unified symbol of the trade sample: BTC/USDT spot."""

SAMPLE_TRADES_FILE = "btcusdt_spot_trades_sample.csv.gz"
"""The trade sample's file name inside this package (Binance trade-stream layout, gzipped)."""


def _bundled(name: str) -> Path:
    resource = files(__name__) / name
    if not isinstance(resource, Path) or not resource.is_file():
        raise MarketMakerError(
            f"the bundled sample {name} was not found as a file at {resource}: "
            "reinstall market-maker from its wheel or source tree"
        )
    return resource


def sample_candles_path() -> Path:
    """Return the filesystem path of the bundled sample candle CSV.

    Raises:
        MarketMakerError: The package is not installed as plain files (a zipped install),
            so the sample has no path of its own.
    """
    return _bundled(SAMPLE_FILE)


def sample_trades_path() -> Path:
    """Return the filesystem path of the bundled sample of trade ticks (``.csv.gz``).

    Raises:
        MarketMakerError: As ``sample_candles_path``.
    """
    return _bundled(SAMPLE_TRADES_FILE)
