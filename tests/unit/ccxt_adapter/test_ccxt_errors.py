"""Failure classification on real ccxt exceptions, raised by ccxt's own Binance error handler.

Each case feeds a Binance error answer to ``handle_errors`` of the real ccxt class, with the
production URL and with a rewritten local one (where ccxt's futures table is skipped), and
checks that the adapter reads the same meaning from both.
"""

import json
from typing import Any

import ccxt
import pytest

from market_maker.exchanges.base import (
    FatalExchangeError,
    OrderRejectedError,
    RetryableExchangeError,
)
from market_maker.exchanges.ccxt.errors import (
    Failure,
    FailureKind,
    classify,
    reject_reason,
    to_exchange_error,
    venue_code,
    venue_message,
)
from market_maker.exchanges.reduce_only import REDUCE_ONLY_REJECT

K = FailureKind
SPOT_URLS = ("https://api.binance.com/api/v3/order", "http://127.0.0.1:9/api/v3/order")
FAPI_URLS = ("https://fapi.binance.com/fapi/v1/order", "http://127.0.0.1:9/fapi/v1/order")


def raised(exchange: Any, url: str, status: int, body: str) -> ccxt.BaseError:
    """What ccxt raises for an answer with ``status`` and ``body`` from ``url``."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    try:
        exchange.handle_errors(status, "reason", url, "POST", {}, body, parsed, {}, "")
        exchange.handle_http_status_code(status, "reason", url, "POST", body)
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {status} {body}")


def answer(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


SPOT_CASES = [
    (400, answer(-2010, "Account has insufficient balance for requested action."), K.INSUFFICIENT),
    (400, answer(-2010, "Order would immediately match and take."), K.POST_ONLY),
    (400, answer(-2010, "Duplicate order sent."), K.DUPLICATE),
    (400, answer(-1013, "Filter failure: LOT_SIZE"), K.REJECTED),
    (400, answer(-1013, "Filter failure: NOTIONAL"), K.REJECTED),
    (400, answer(-1121, "Invalid symbol."), K.FATAL),
    (400, answer(-2011, "Unknown order sent."), K.NOT_FOUND),
    (400, answer(-2013, "Order does not exist."), K.NOT_FOUND),
    (401, answer(-2015, "Invalid API-key, IP, or permissions for action."), K.AUTH),
    (400, answer(-1022, "Signature for this request is not valid."), K.AUTH),
    (400, answer(-1021, "Timestamp for this request is outside of the recvWindow."), K.CLOCK_SKEW),
    (429, answer(-1003, "Too many requests."), K.RATE_LIMITED),
    (418, "banned", K.RATE_LIMITED),
    (400, answer(-1015, "Too many new orders."), K.RATE_LIMITED),
    (400, answer(-1007, "Timeout waiting for response from backend server."), K.RETRYABLE),
    (400, answer(-1001, "Internal error; unable to process your request."), K.RETRYABLE),
    (503, "Service Unavailable", K.RETRYABLE),
    (502, "<html>bad gateway</html>", K.RETRYABLE),
]

FUTURES_CASES = [
    (400, answer(-2019, "Margin is insufficient."), K.INSUFFICIENT),
    (400, answer(-5022, "Due to the order could not be executed as maker."), K.POST_ONLY),
    (400, answer(-2022, "ReduceOnly Order is rejected."), K.REDUCE_ONLY),
    (400, answer(-2021, "Order would immediately trigger."), K.REJECTED),
    (400, answer(-4116, "ClientOrderId is duplicated."), K.DUPLICATE),
    (400, answer(-2011, "Unknown order sent."), K.NOT_FOUND),
    (400, answer(-4164, "Order's notional must be no smaller than 100"), K.REJECTED),
]


@pytest.mark.parametrize("url", SPOT_URLS)
@pytest.mark.parametrize(("status", "body", "kind"), SPOT_CASES)
def test_spot_answers_classify_alike_on_any_url(url: str, status: int, body: str, kind: K) -> None:
    exc = raised(ccxt.binance(), url, status, body)
    assert classify(exc).kind is kind, exc


@pytest.mark.parametrize("url", FAPI_URLS)
@pytest.mark.parametrize(("status", "body", "kind"), FUTURES_CASES)
def test_futures_answers_classify_alike_on_any_url(
    url: str, status: int, body: str, kind: K
) -> None:
    exc = raised(ccxt.binanceusdm(), url, status, body)
    failure = classify(exc)
    assert failure.kind is kind, exc
    assert failure.code == json.loads(body)["code"] or failure.code is None


def test_local_urls_really_lose_ccxts_futures_table() -> None:
    """The reason for reading codes: with a local URL ccxt raises a plain ExchangeError."""
    body = answer(-2022, "ReduceOnly Order is rejected.")
    local = raised(ccxt.binanceusdm(), FAPI_URLS[1], 400, body)
    production = raised(ccxt.binanceusdm(), FAPI_URLS[0], 400, body)
    assert type(local) is ccxt.ExchangeError
    assert isinstance(production, ccxt.InvalidOrder)


def test_a_ban_after_a_good_login_is_a_rate_limit_not_bad_credentials() -> None:
    exchange = ccxt.binance()
    exchange.options["hasAlreadyAuthenticatedSuccessfully"] = True
    body = answer(-2015, "Invalid API-key, IP, or permissions for action.")
    assert classify(raised(exchange, SPOT_URLS[0], 401, body)).kind is K.RATE_LIMITED


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ccxt.RequestTimeout("binance GET https://api.binance.com/api/v3/order"), K.RETRYABLE),
        (ccxt.ExchangeNotAvailable("binance GET http://127.0.0.1:9"), K.RETRYABLE),
        (ccxt.OnMaintenance("binance System is under maintenance."), K.RETRYABLE),
        (ccxt.InvalidNonce("binance nonce"), K.CLOCK_SKEW),
        (ccxt.NotSupported("binance fetchFoo() is not supported"), K.FATAL),
        (ccxt.OrderNotFillable("kraken post only"), K.POST_ONLY),
        (ccxt.InsufficientFunds("kraken EOrder:Insufficient funds"), K.INSUFFICIENT),
        (ccxt.InvalidOrder("kraken EOrder:Invalid price"), K.REJECTED),
        (ccxt.PermissionDenied("kraken EGeneral:Permission denied"), K.AUTH),
        (TimeoutError(), K.RETRYABLE),
        (ConnectionResetError(), K.RETRYABLE),
        (ValueError("a bug"), K.FATAL),
    ],
)
def test_classes_decide_when_no_code_came(exc: BaseException, kind: K) -> None:
    assert classify(exc).kind is kind


def test_other_venues_ignore_binance_codes() -> None:
    exc = ccxt.ExchangeError('okx {"code":-2019,"msg":"something else"}')
    assert classify(exc, binance_codes=False).kind is K.REJECTED
    assert classify(exc).kind is K.INSUFFICIENT


def test_code_and_message_are_read_from_the_answer() -> None:
    text = 'binanceusdm {"code":-2022,"msg":"ReduceOnly \\"Order\\" is rejected."}'
    assert venue_code(text) == -2022
    assert venue_message(text) == 'ReduceOnly "Order" is rejected.'
    assert venue_code("binance Order would immediately match and take.") is None


def test_reject_reasons_tell_the_rejects_apart() -> None:
    reduce = reject_reason(Failure(K.REDUCE_ONLY, -2022, "ReduceOnly Order is rejected."))
    assert reduce.startswith(REDUCE_ONLY_REJECT)
    assert "-2022" in reduce
    assert reject_reason(Failure(K.INSUFFICIENT, -2019, "Margin is insufficient.")).startswith(
        "insufficient balance"
    )


def test_exceptions_of_the_project_by_kind() -> None:
    assert isinstance(to_exchange_error(Failure(K.RATE_LIMITED, -1003, "m"), "w"),
                      RetryableExchangeError)  # fmt: skip
    assert isinstance(to_exchange_error(Failure(K.REJECTED, -1013, "m"), "w"), OrderRejectedError)
    fatal = to_exchange_error(Failure(K.AUTH, -2015, "Invalid API-key"), "connect")
    assert isinstance(fatal, FatalExchangeError)
    assert "authentication failed" in str(fatal)
