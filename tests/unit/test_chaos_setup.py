"""The crash harness's set-up: the fault mix the paper exchange accepts, the bot's config."""

from pathlib import Path

import pytest

from market_maker.config.loader import load_config
from market_maker.live.chaos_setup import FaultMix, bot_config
from market_maker.paper.faults import FaultSettings

pytestmark = pytest.mark.timeout(60)


def test_a_fault_mix_is_the_paper_exchanges_fault_settings() -> None:
    mix = FaultMix(rate_limit=0.1, server_errors=0.05, lost_acks=0.05, ws_drops=0.02)
    settings = FaultSettings.model_validate(mix.settings(seed=7))
    assert (settings.seed, settings.rate_limit_rate, settings.server_error_rate) == (7, 0.1, 0.05)
    assert (settings.lost_ack_rate, settings.ws_drop_rate, settings.ban_rate) == (0.05, 0.02, 0)
    assert mix.any and not FaultMix().any
    assert FaultMix(ws_drop_every_s=5).any


@pytest.mark.parametrize("field", ["rate_limit", "lost_acks", "ws_reorders"])
def test_a_share_outside_0_to_1_is_refused_naming_it(field: str) -> None:
    with pytest.raises(ValueError, match=rf"{field}: 1.5 is not a share of 0 to 1"):
        FaultMix(**{field: 1.5})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("market", "symbol", "ccxt_id", "spot"),
    [("usdm", "BTC/USDT:USDT", "binanceusdm", False), ("spot", "BTC/USDT", "binance", True)],
)
def test_the_bot_trades_each_market_through_its_ccxt_class(
    tmp_path: Path, market: str, symbol: str, ccxt_id: str, spot: bool
) -> None:
    path = tmp_path / "bot.yaml"
    bot_config(path, market, "sqlite:///x.db", "http://127.0.0.1:9")  # type: ignore[arg-type]
    config = load_config(path)
    assert (config.symbol, config.venue.exchange, config.backtest.spot) == (symbol, ccxt_id, spot)
    assert config.venue.url == "http://127.0.0.1:9" and config.venue.streams
    assert config.durable.database_url == "sqlite:///x.db"
