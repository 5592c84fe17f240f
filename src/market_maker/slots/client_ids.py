"""Deterministic client order ids.

An id is a pure function of (bot id, symbol, slot level, side, generation) and decodes back
to those parts, so a replay after a crash sends the same id (the exchange rejects the
duplicate, or a lookup by id finds the order), and the reconciler can tell our orders from
anyone else's by prefix. No clock, no randomness.

Layout, at most 36 characters of ``[A-Za-z0-9_-]`` (Binance's limit)::

    {bot_id}-{symbol_code}-{B|S}{generation base36}-{level mantissa base36}{level exponent}

``symbol_code`` is the symbol's letters and digits upper-cased (``BTC/USDT`` -> ``BTCUSDT``).
The level is written as its normalised decimal mantissa in base 36 followed by one character
for the decimal exponent (``-18..17`` -> ``0..z``): 61556.04 -> ``3nxp0`` + ``g``.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from market_maker.domain.enums import Side
from market_maker.domain.errors import ClientOrderIdError

MAX_LENGTH = 36
MAX_BOT_ID_LENGTH = 8
MAX_PREFIX_LENGTH = 18
"""Longest ``bot_id`` + ``symbol_code``; leaves room for side, generation and level."""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
_EXP_MIN = -18
_EXP_MAX = _EXP_MIN + len(_ALPHABET) - 1
_BOT_ID = re.compile(r"[A-Za-z0-9]{1,8}")
_SIDE_CODE = {Side.BUY: "B", Side.SELL: "S"}
_CODE_SIDE = {v: k for k, v in _SIDE_CODE.items()}


@dataclass(frozen=True, slots=True)
class ClientOrderIdParts:
    """The decoded parts of a client order id."""

    bot_id: str
    symbol_code: str
    level: Decimal
    side: Side
    generation: int


@lru_cache(maxsize=256)
def symbol_code(symbol: str) -> str:
    """Compact form of a unified symbol used inside ids: letters and digits, upper-case."""
    code = "".join(ch for ch in symbol.upper() if ch.isascii() and ch.isalnum())
    if not code:
        raise ClientOrderIdError(f"symbol {symbol!r} has no letters or digits to build an id from")
    return code


@lru_cache(maxsize=256)
def validate_prefix(bot_id: str, symbol: str) -> None:
    """Raise ``ClientOrderIdError`` unless ids for this bot and symbol fit the limits."""
    if not _BOT_ID.fullmatch(bot_id):
        raise ClientOrderIdError(
            f"bot_id must be 1 to {MAX_BOT_ID_LENGTH} letters or digits, found {bot_id!r}"
        )
    code = symbol_code(symbol)
    if len(bot_id) + len(code) > MAX_PREFIX_LENGTH:
        raise ClientOrderIdError(
            f"bot_id {bot_id!r} and symbol code {code!r} together take "
            f"{len(bot_id) + len(code)} characters; at most {MAX_PREFIX_LENGTH} fit in a "
            f"{MAX_LENGTH}-character client order id: shorten bot_id"
        )


def id_prefix(bot_id: str, symbol: str) -> str:
    """The prefix every id of this bot on this symbol starts with."""
    return f"{bot_id}-{symbol_code(symbol)}-"


def _to_base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def _from_base36(text: str, what: str, client_order_id: str) -> int:
    if not text or any(c not in _DIGIT for c in text) or (len(text) > 1 and text[0] == "0"):
        raise ClientOrderIdError(f"client order id {client_order_id!r}: bad {what} {text!r}")
    n = 0
    for c in text:
        n = n * 36 + _DIGIT[c]
    return n


@lru_cache(maxsize=65536)
def encode_level(level: Decimal) -> str:
    """Encode a positive price level as base-36 mantissa plus one exponent character."""
    if not level.is_finite() or level <= 0:
        raise ClientOrderIdError(f"a slot level must be a positive price, found {level}")
    sign, digits, exponent = level.normalize().as_tuple()
    assert isinstance(exponent, int)
    assert sign == 0
    if not _EXP_MIN <= exponent <= _EXP_MAX:
        raise ClientOrderIdError(f"level {level} is out of the encodable range")
    mantissa = int("".join(map(str, digits)))
    return _to_base36(mantissa) + _ALPHABET[exponent - _EXP_MIN]


def decode_level(code: str, client_order_id: str = "") -> Decimal:
    """Inverse of ``encode_level``."""
    if len(code) < 2 or code[-1] not in _DIGIT:
        raise ClientOrderIdError(f"client order id {client_order_id!r}: bad level {code!r}")
    mantissa = _from_base36(code[:-1], "level", client_order_id)
    if mantissa == 0 or mantissa % 10 == 0:  # encode_level always normalises
        raise ClientOrderIdError(f"client order id {client_order_id!r}: bad level {code!r}")
    return Decimal(mantissa).scaleb(_DIGIT[code[-1]] + _EXP_MIN)


def make_client_order_id(
    bot_id: str, symbol: str, level: Decimal, side: Side, generation: int
) -> str:
    """Build the deterministic client order id of one order of one slot."""
    validate_prefix(bot_id, symbol)
    if generation < 0:
        raise ClientOrderIdError(f"generation must be zero or positive, found {generation}")
    cid = (
        f"{id_prefix(bot_id, symbol)}{_SIDE_CODE[side]}{_to_base36(generation)}"
        f"-{encode_level(level)}"
    )
    if len(cid) > MAX_LENGTH:
        raise ClientOrderIdError(
            f"client order id {cid!r} is {len(cid)} characters, over the limit of {MAX_LENGTH}: "
            "shorten bot_id, or use a coarser tick size so levels have fewer digits"
        )
    return cid


def parse_client_order_id(client_order_id: str) -> ClientOrderIdParts:
    """Decode an id built by ``make_client_order_id``; raise ``ClientOrderIdError`` otherwise."""
    parts = client_order_id.split("-")
    if len(parts) != 4 or len(client_order_id) > MAX_LENGTH:
        raise ClientOrderIdError(f"{client_order_id!r} is not one of our client order ids")
    bot_id, code, side_gen, level_code = parts
    if not _BOT_ID.fullmatch(bot_id) or not code.isalnum() or code.upper() != code:
        raise ClientOrderIdError(f"{client_order_id!r} is not one of our client order ids")
    if len(side_gen) < 2 or side_gen[0] not in _CODE_SIDE:
        raise ClientOrderIdError(f"client order id {client_order_id!r}: bad side {side_gen!r}")
    generation = _from_base36(side_gen[1:], "generation", client_order_id)
    level = decode_level(level_code, client_order_id)
    return ClientOrderIdParts(bot_id, code, level, _CODE_SIDE[side_gen[0]], generation)
