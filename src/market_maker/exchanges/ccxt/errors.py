"""What a ccxt exception means for the bot: classified on ccxt's class and on the venue's code.

ccxt picks its exception class from tables keyed by the venue's error code, and for
Binance the futures table is chosen by the request's host: with a rewritten base URL (a
Binance-compatible server, the paper exchange) -2019, -5022, -2022, -2021 and -4116 arrive
as a plain ``ExchangeError``. So ``classify`` reads the Binance ``code`` from the
exception's text (ccxt puts the raw answer there) and decides on it first, then on the
message, then on the class. The result is a ``Failure``: its ``kind`` says what the
adapter does (retry, resync the clock, return a REJECTED report, look the order up, stop).
"""

import json
import re
from dataclasses import dataclass
from enum import Enum

import ccxt

from market_maker.exchanges.base import (
    ExchangeError,
    FatalExchangeError,
    OrderRejectedError,
    RetryableExchangeError,
)
from market_maker.exchanges.reduce_only import REDUCE_ONLY_REJECT


class FailureKind(Enum):
    """What the adapter does about one failed call."""

    RETRYABLE = "retryable"
    """Timeout, disconnect, 5xx, overload: the outcome is unknown; retry with backoff."""
    RATE_LIMITED = "rate_limited"
    """429/418 or a request-weight error: wait (``Retry-After`` when given), then retry."""
    CLOCK_SKEW = "clock_skew"
    """The request's timestamp is outside the venue's window: resync the clock, retry."""
    NOT_FOUND = "not_found"
    """The order is unknown to the venue (or already finished, for a cancel)."""
    DUPLICATE = "duplicate"
    """The client order id is already in use: the order exists; look it up."""
    POST_ONLY = "post_only"
    """A post-only order would have taken liquidity."""
    REDUCE_ONLY = "reduce_only"
    """A reduce-only order would open, increase or flip the position."""
    INSUFFICIENT = "insufficient"
    """Not enough balance or margin for the order."""
    REJECTED = "rejected"
    """Any other refusal of this one request (bad price, filter failure...)."""
    AUTH = "auth"
    """Bad API key or secret, missing permission, IP not allowed: stop."""
    FATAL = "fatal"
    """Misconfiguration or a call the venue does not support: stop."""


RETRY_KINDS = frozenset({FailureKind.RETRYABLE, FailureKind.RATE_LIMITED, FailureKind.CLOCK_SKEW})
"""Kinds worth another attempt of the same request."""

REJECT_KINDS = frozenset(
    {
        FailureKind.POST_ONLY,
        FailureKind.REDUCE_ONLY,
        FailureKind.INSUFFICIENT,
        FailureKind.REJECTED,
        FailureKind.DUPLICATE,
    }
)
"""Kinds that refuse one order request for good (a place answers them with REJECTED)."""

BINANCE_CODES: dict[int, FailureKind] = {
    -1000: FailureKind.RETRYABLE,  # unknown error
    -1001: FailureKind.RETRYABLE,  # disconnected
    -1006: FailureKind.RETRYABLE,  # unexpected response from the message bus
    -1007: FailureKind.RETRYABLE,  # timeout waiting for the backend
    -1008: FailureKind.RETRYABLE,  # server overloaded (futures: too many requests)
    -1003: FailureKind.RATE_LIMITED,  # too much request weight
    -1015: FailureKind.RATE_LIMITED,  # too many new orders
    -1021: FailureKind.CLOCK_SKEW,  # timestamp outside recvWindow
    -1022: FailureKind.AUTH,  # invalid signature
    -2014: FailureKind.AUTH,  # bad API-key format
    -2015: FailureKind.AUTH,  # invalid API-key, IP or permissions
    -2008: FailureKind.AUTH,  # invalid API-key id
    -1121: FailureKind.FATAL,  # invalid symbol
    -1013: FailureKind.REJECTED,  # filter failure (LOT_SIZE, PRICE_FILTER, NOTIONAL)
    -4164: FailureKind.REJECTED,  # futures notional below the minimum
    -2011: FailureKind.NOT_FOUND,  # unknown order sent (cancel)
    -2013: FailureKind.NOT_FOUND,  # order does not exist
    -2018: FailureKind.INSUFFICIENT,  # futures: balance insufficient
    -2019: FailureKind.INSUFFICIENT,  # futures: margin insufficient
    -2021: FailureKind.REJECTED,  # order would immediately trigger (stop orders)
    -2022: FailureKind.REDUCE_ONLY,  # ReduceOnly order is rejected
    -5022: FailureKind.POST_ONLY,  # GTX order would be executed as taker
    -4116: FailureKind.DUPLICATE,  # futures: duplicated clientOrderId
}
"""Binance error codes of the order, account and market endpoints, by meaning.

-2010 (NEW_ORDER_REJECTED) carries several meanings and is read from its message.
"""

# Order matters: the first class in this list that the exception is an instance of decides.
_CLASSES: tuple[tuple[type[BaseException], FailureKind], ...] = (
    (ccxt.InvalidNonce, FailureKind.CLOCK_SKEW),
    (ccxt.DDoSProtection, FailureKind.RATE_LIMITED),
    (ccxt.RateLimitExceeded, FailureKind.RATE_LIMITED),
    (ccxt.NetworkError, FailureKind.RETRYABLE),
    (ccxt.OperationFailed, FailureKind.RETRYABLE),
    (ccxt.AuthenticationError, FailureKind.AUTH),
    (ccxt.OrderNotFound, FailureKind.NOT_FOUND),
    (ccxt.DuplicateOrderId, FailureKind.DUPLICATE),
    (ccxt.OrderImmediatelyFillable, FailureKind.POST_ONLY),
    (ccxt.OrderNotFillable, FailureKind.POST_ONLY),
    (ccxt.InsufficientFunds, FailureKind.INSUFFICIENT),
    (ccxt.BadSymbol, FailureKind.FATAL),
    (ccxt.NotSupported, FailureKind.FATAL),
    (ccxt.ArgumentsRequired, FailureKind.FATAL),
    (ccxt.InvalidOrder, FailureKind.REJECTED),
    (ccxt.BadRequest, FailureKind.REJECTED),
    (ccxt.OperationRejected, FailureKind.REJECTED),
    (ccxt.ExchangeError, FailureKind.REJECTED),
)

# Messages that tell a meaning when no code came with them (ccxt drops the code when it
# matched the message text: "binance Order would immediately match and take.").
_MESSAGES: tuple[tuple[str, FailureKind], ...] = (
    ("would immediately match and take", FailureKind.POST_ONLY),
    ("could not be executed as maker", FailureKind.POST_ONLY),
    ("reduceonly order is rejected", FailureKind.REDUCE_ONLY),
    ("duplicate order sent", FailureKind.DUPLICATE),
    ("clientorderid is duplicated", FailureKind.DUPLICATE),
    ("insufficient balance", FailureKind.INSUFFICIENT),
    ("margin is insufficient", FailureKind.INSUFFICIENT),
    ("unknown order sent", FailureKind.NOT_FOUND),
    ("order does not exist", FailureKind.NOT_FOUND),
)

_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
_MSG = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class Failure:
    """One classified failure.

    Attributes:
        kind: What to do about it.
        code: The venue's error code when the answer carried one.
        message: The venue's own message (``msg``), or the exception's text.
    """

    kind: FailureKind
    code: int | None
    message: str

    @property
    def retryable(self) -> bool:
        """Worth another attempt of the same request."""
        return self.kind in RETRY_KINDS


def venue_code(text: str) -> int | None:
    """The ``"code"`` of a JSON error answer inside an exception's text, if any."""
    match = _CODE.search(text)
    return int(match.group(1)) if match else None


def venue_message(text: str) -> str:
    """The ``"msg"`` of a JSON error answer inside ``text``; the text itself without one."""
    match = _MSG.search(text)
    if match is None:
        return text
    try:
        return str(json.loads(f'"{match.group(1)}"'))
    except ValueError:
        return match.group(1)


def classify(exc: BaseException, *, binance_codes: bool = True) -> Failure:
    """Classify an exception raised by a ccxt call (or by the transport under it).

    Args:
        exc: What the call raised.
        binance_codes: Read Binance error codes from the answer (the ``binance*``
            exchanges; others are classified on message and class only).
    """
    text = str(exc)
    code = venue_code(text) if isinstance(exc, ccxt.BaseError) else None
    message = venue_message(text)
    kind: FailureKind | None = None
    lowered = message.lower()
    if binance_codes and code is not None:
        kind = BINANCE_CODES.get(code)
        if code == -2015 and isinstance(exc, ccxt.DDoSProtection):
            kind = FailureKind.RATE_LIMITED  # ccxt: a key that worked before is banned for a while
    if kind is None and isinstance(exc, ccxt.BaseError):
        kind = next((k for hint, k in _MESSAGES if hint in lowered), None)
    if kind is None:
        kind = _by_class(exc)
    return Failure(kind, code, message)


def _by_class(exc: BaseException) -> FailureKind:
    for cls, kind in _CLASSES:
        if isinstance(exc, cls):
            return kind
    if isinstance(exc, ccxt.BaseError):
        return FailureKind.FATAL  # e.g. UnsubscribeError: a bug, not the market
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return FailureKind.RETRYABLE
    return FailureKind.FATAL


def reject_reason(failure: Failure) -> str:
    """The ``reject_reason`` of the REJECTED report a refused order gets.

    A reduce-only reject starts with ``REDUCE_ONLY_REJECT`` so callers tell it apart,
    whatever the venue wrote.
    """
    code = f" (code {failure.code})" if failure.code is not None else ""
    if failure.kind is FailureKind.REDUCE_ONLY:
        return f"{REDUCE_ONLY_REJECT}: {failure.message}{code}"
    if failure.kind is FailureKind.POST_ONLY:
        return f"post-only order would take liquidity: {failure.message}{code}"
    if failure.kind is FailureKind.INSUFFICIENT:
        return f"insufficient balance: {failure.message}{code}"
    return f"{failure.message}{code}"


def to_exchange_error(failure: Failure, where: str) -> ExchangeError:
    """The project's exception for a failure that is not answered with a report.

    Args:
        failure: The classified failure.
        where: What was being done (``"cancel_order BTC/USDT"``), for the message.
    """
    code = f" (code {failure.code})" if failure.code is not None else ""
    text = f"{where}: {failure.message}{code}"
    if failure.kind in RETRY_KINDS:
        return RetryableExchangeError(text)
    if failure.kind is FailureKind.AUTH:
        return FatalExchangeError(
            f"{where}: authentication failed: {failure.message}{code}; check the API key and "
            "secret, their permissions (reading, spot or futures trading) and the key's IP "
            "whitelist"
        )
    if failure.kind is FailureKind.FATAL:
        return FatalExchangeError(text)
    return OrderRejectedError(text)
