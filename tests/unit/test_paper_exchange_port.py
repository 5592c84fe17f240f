"""``paper-exchange --config bot.yaml`` listens where ``run --config bot.yaml`` connects."""

import pytest

from market_maker.cli.paper import DEFAULT_PORT, venue_port
from market_maker.config.app import AppConfig

BASE = {
    "bot_id": "p1",
    "symbol": "BTC/USDT",
    "instrument": {"tick_size": "0.01", "step_size": "0.00001"},
    "grid": {"order_qty": "0.0001", "max_inventory": "0.001"},
}


def config(url: str | None) -> AppConfig:
    return AppConfig.model_validate({**BASE, "venue": {"url": url}})


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:8123", 8123),
        ("http://localhost:9001", 9001),
        ("http://127.0.0.1", DEFAULT_PORT),  # no port written: the default
        ("https://testnet.example.com:8443", DEFAULT_PORT),  # not this host
        (None, DEFAULT_PORT),
    ],
)
def test_the_port_comes_from_a_local_venue_url(url: str | None, port: int) -> None:
    assert venue_port(config(url), "127.0.0.1") == port
