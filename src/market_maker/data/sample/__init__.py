"""A small real dataset that ships with the package, for the demo, docs and tests.

Three days of one-minute Binance USDT-M perpetual BTCUSDT candles (2025-05-14 → 05-16 UTC,
4,320 rows) in which the price moves sideways, so a grid trades. MIT licensed; see
``NOTICE.md`` beside this file for the source, the rows taken and the license text.
"""

from importlib.resources import files
from pathlib import Path

from market_maker.domain.errors import MarketMakerError

SAMPLE_SYMBOL = "BTC/USDT:USDT"
"""The unified (ccxt) symbol of the sample: the BTC/USDT perpetual settled in USDT."""

SAMPLE_FILE = "btcusdt_perp_1m_sample.csv"
"""The sample's file name inside this package."""


def sample_candles_path() -> Path:
    """Return the filesystem path of the bundled sample candle CSV.

    Raises:
        MarketMakerError: The package is not installed as plain files (a zipped install),
            so the sample has no path of its own.
    """
    resource = files(__name__) / SAMPLE_FILE
    if not isinstance(resource, Path) or not resource.is_file():
        raise MarketMakerError(
            f"the bundled sample {SAMPLE_FILE} was not found as a file at {resource}: "
            "reinstall market-maker from its wheel or source tree"
        )
    return resource
