import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import Side
from market_maker.domain.errors import ClientOrderIdError
from market_maker.slots.client_ids import (
    MAX_LENGTH,
    decode_level,
    encode_level,
    id_prefix,
    make_client_order_id,
    parse_client_order_id,
    symbol_code,
)

ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,36}")
bot_ids = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)
symbols = st.sampled_from(["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "SOL/BTC", "DOGE/USDC"])
levels = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal(9_999_999), places=8
).filter(lambda d: d > 0)
generations = st.integers(min_value=0, max_value=36**6 - 1)


@given(bot_ids, symbols, levels, st.sampled_from(list(Side)), generations)
def test_ids_fit_the_exchange_and_decode_back(bot, symbol, level, side, gen) -> None:  # type: ignore[no-untyped-def]
    error = ""
    try:
        cid = make_client_order_id(bot, symbol, level, side, gen)
    except ClientOrderIdError as exc:
        error = str(exc)
    if error:  # the only allowed failure: too long, with a clear fix
        assert "over the limit" in error or "at most" in error
        return
    assert ALPHABET.fullmatch(cid) and len(cid) <= MAX_LENGTH
    parts = parse_client_order_id(cid)
    assert (parts.bot_id, parts.symbol_code, parts.level, parts.side, parts.generation) == (
        bot,
        symbol_code(symbol),
        level,
        side,
        gen,
    )
    assert cid.startswith(id_prefix(bot, symbol))
    assert make_client_order_id(bot, symbol, level, side, gen) == cid  # deterministic


@given(st.lists(st.tuples(levels, st.sampled_from(list(Side)), generations), max_size=50))
def test_ids_are_unique_per_level_side_generation(keys) -> None:  # type: ignore[no-untyped-def]
    ids = {}
    for level, side, gen in keys:
        try:
            cid = make_client_order_id("bot1", "BTC/USDT", level, side, gen)
        except ClientOrderIdError:
            continue
        key = (level.normalize(), side, gen)
        assert ids.setdefault(cid, key) == key


def test_realistic_id_is_short_and_readable() -> None:
    cid = make_client_order_id("demo", "BTC/USDT", Decimal("61556.04"), Side.BUY, 12345)
    assert cid == "demo-BTCUSDT-B9ix-3nxp0g"
    assert len(cid) <= 36


@pytest.mark.parametrize(("level", "code"), [(Decimal("62000"), "1ql"), (Decimal("0.5"), "5h")])
def test_levels_are_normalised(level: Decimal, code: str) -> None:
    assert encode_level(level) == code
    assert decode_level(code) == level
    assert encode_level(level.quantize(Decimal("0.0001"))) == code  # trailing zeros ignored


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "random-order-id",
        "demo-BTCUSDT-X1-3nxp0g",  # bad side
        "demo-BTCUSDT-B-3nxp0g",  # no generation
        "demo-BTCUSDT-B01-3nxp0g",  # non-canonical generation
        "demo-btcusdt-B1-3nxp0g",  # lower-case symbol code
        "demo-BTCUSDT-B1-g",  # no mantissa
        "demo-BTCUSDT-B1-3nxp0!",  # bad exponent char
        "demo-BTCUSDT-B1-ag",  # mantissa 10 is not normalised (trailing zero)
        "de mo-BTCUSDT-B1-3nxp0g",
        "x" * 40,
    ],
)
def test_foreign_or_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ClientOrderIdError):
        parse_client_order_id(bad)


@pytest.mark.parametrize(
    ("bot", "symbol", "level", "gen", "match"),
    [
        ("toolongbot", "BTC/USDT", Decimal(1), 0, "1 to 8"),
        ("bad_id", "BTC/USDT", Decimal(1), 0, "1 to 8"),
        ("abcdefgh", "BTC/USDT:USDT", Decimal(1), 0, "shorten bot_id"),
        ("bot", "BTC/USDT", Decimal(0), 0, "positive"),
        ("bot", "BTC/USDT", Decimal(-5), 0, "positive"),
        ("bot", "BTC/USDT", Decimal(1), -1, "generation"),
        ("bot", "BTC/USDT", Decimal("1E-40"), 0, "range"),
        ("abcdefgh", "BTC/USDT", Decimal("1234567.891234"), 36**8, "over the limit"),
        ("bot", "//", Decimal(1), 0, "no letters"),
    ],
)
def test_ids_that_cannot_be_built_fail_with_a_fix(bot, symbol, level, gen, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientOrderIdError, match=match):
        make_client_order_id(bot, symbol, level, Side.SELL, gen)
