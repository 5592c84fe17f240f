"""ccxt markets as ``MarketRules``; ccxt balances and positions as the bot's balances."""

from decimal import Decimal

import pytest

from market_maker.domain.errors import InstrumentError
from market_maker.exchanges.base import Balance
from market_maker.exchanges.ccxt.markets import (
    DECIMAL_PLACES_MODE,
    TICK_SIZE_MODE,
    account_fee_rates,
    derivative_balances,
    market_rules,
    spot_balances,
)
from market_maker.exchanges.ccxt.numbers import plain
from tests.support.ccxt_payloads import spot_exchange, usdm_exchange

D = Decimal


def test_spot_rules_from_binance_filters_written_shortest() -> None:
    ex = spot_exchange()
    rules = market_rules(ex.market("BTC/USDT"), precision_mode=ex.precisionMode)
    i = rules.instrument
    assert i.symbol == "BTC/USDT"
    assert [str(v) for v in (i.tick_size, i.step_size, i.min_qty, i.min_notional)] == [
        "0.01", "0.00001", "0.00001", "5",
    ]  # fmt: skip
    assert rules.spot is True
    assert (rules.maker_fee, rules.taker_fee) == (D("0.001"), D("0.001"))


def test_usdm_rules_with_the_accounts_fee_rates() -> None:
    ex = usdm_exchange()
    rates = account_fee_rates(
        {"info": {"symbol": "BTCUSDT", "makerCommissionRate": "0.000180",
                  "takerCommissionRate": "0.000450"}, "maker": 0.00018, "taker": 0.00045}
    )  # fmt: skip
    assert rates == (D("0.000180"), D("0.000450"))
    rules = market_rules(
        ex.market("BTC/USDT:USDT"), precision_mode=ex.precisionMode,
        maker_fee=rates[0], taker_fee=rates[1],
    )  # fmt: skip
    i = rules.instrument
    assert (str(i.tick_size), str(i.step_size), str(i.min_notional)) == ("0.1", "0.001", "100")
    assert rules.spot is False
    assert (str(rules.maker_fee), str(rules.taker_fee)) == ("0.00018", "0.00045")


def test_markets_without_raw_filters_use_ccxts_precision() -> None:
    market = {
        "symbol": "ETH/EUR", "spot": True, "maker": 0.0016, "taker": 0.0026,
        "precision": {"price": 2, "amount": 8}, "limits": {"amount": {"min": 0.002},
                                                            "cost": {"min": 0.5}},
    }  # fmt: skip
    rules = market_rules(market, precision_mode=DECIMAL_PLACES_MODE)
    i = rules.instrument
    assert (str(i.tick_size), str(i.step_size), str(i.min_qty), str(i.min_notional)) == (
        "0.01", "1E-8", "0.002", "0.5",
    )  # fmt: skip
    tick_mode = market | {"precision": {"price": 0.5, "amount": 0.001}}
    assert str(market_rules(tick_mode, precision_mode=TICK_SIZE_MODE).instrument.tick_size) == "0.5"


def test_a_market_without_increments_is_refused_by_name() -> None:
    with pytest.raises(InstrumentError, match="XYZ/USD: the venue's market gives no tick"):
        market_rules({"symbol": "XYZ/USD", "precision": {}}, precision_mode=TICK_SIZE_MODE)
    with pytest.raises(InstrumentError, match="significant digits"):
        market_rules({"symbol": "XYZ/USD", "precision": {"price": 3, "amount": 3}},
                     precision_mode=3)  # fmt: skip


@pytest.mark.parametrize(("raw", "shown"), [("0.01000000", "0.01"), ("10.000", "10"),
                                            ("1", "1"), ("0.00001000", "0.00001")])  # fmt: skip
def test_plain_keeps_no_trailing_zeros_and_no_exponent(raw: str, shown: str) -> None:
    assert format(plain(D(raw)), "f") == shown and plain(D(raw)) == D(raw)


def test_spot_balances_exact_from_the_raw_answer() -> None:
    answer = {
        "info": {"balances": [{"asset": "BTC", "free": "0.12345678", "locked": "0.00100000"},
                              {"asset": "USDT", "free": "1000.5", "locked": "0"}]},
        "free": {"BTC": 0.12345678}, "used": {"BTC": 0.001},
    }  # fmt: skip
    got = spot_balances(answer)
    assert got["BTC"] == Balance("BTC", D("0.12345678"), D("0.001"))
    assert got["USDT"].total == D("1000.5")
    assert spot_balances({"free": {"ETH": 1.5}, "used": {"ETH": 0.5}})["ETH"].total == D(2)


def test_a_margin_account_shows_the_signed_position_and_the_cash_equivalent() -> None:
    answer = {"info": {"assets": [
        {"asset": "USDT", "walletBalance": "1000", "marginBalance": "1010",
         "availableBalance": "900", "unrealizedProfit": "10"},
    ]}, "free": {"USDT": 900.0}, "used": {"USDT": 110.0}}  # fmt: skip
    short = {"info": {"symbol": "BTCUSDT", "positionAmt": "-0.010", "entryPrice": "30000"},
             "symbol": "BTC/USDT:USDT", "contracts": 0.01, "side": "short"}  # fmt: skip
    got = derivative_balances(answer, [short], base="BTC", quote="USDT")
    assert got["BTC"] == Balance("BTC", D("-0.010"), D(0))
    cash = got["USDT"].total
    assert cash == D("1300")  # 1000 + 0.01 x 30000
    # equity at any price: quote + position x price = wallet + unrealized PnL
    assert cash + got["BTC"].total * D("29000") == D("1010")
    assert got["USDT"].free == D("900")
    flat = derivative_balances(answer, [], base="BTC", quote="USDT")
    assert flat["BTC"].total == 0 and flat["USDT"] == Balance("USDT", D("900"), D("100"))
