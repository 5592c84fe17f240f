"""Binance's error answers: ``{"code": <negative int>, "msg": <text>}`` with its HTTP status.

ccxt recognises Binance errors by their code and, for a few, by their exact message (a
-2010 is ``InsufficientFunds`` or ``OrderImmediatelyFillable`` depending on the text), so
codes, messages and statuses here are Binance's own, word for word.
"""

from dataclasses import dataclass

from market_maker.domain.orders import OrderUpdate
from market_maker.exchanges.reduce_only import REDUCE_ONLY_REJECT

DUPLICATE_REASON = "duplicate client order id"
"""The simulated exchange's reject reason for a client order id sent again."""
INSUFFICIENT_REASON = "insufficient balance"
"""How the simulated exchange's reason for an unaffordable spot order starts."""
MARGIN_REASON = "insufficient margin"
"""How the paper venue's reason for an order the futures margin cannot cover starts."""
FILTER_REASON = "filter failure"
"""How the reason of an order refused by a symbol filter starts."""


@dataclass(frozen=True, slots=True)
class BinanceError(Exception):
    """An error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    code: int
    msg: str
    status: int = 400

    def body(self) -> dict[str, object]:
        """The JSON body Binance sends."""
        return {"code": self.code, "msg": self.msg}


def bad_api_key_format() -> BinanceError:
    """-2014: the ``X-MBX-APIKEY`` header is missing or malformed."""
    return BinanceError(-2014, "API-key format invalid.", 401)


def invalid_api_key() -> BinanceError:
    """-2015: the API key is not this venue's."""
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceError:
    """-1022: the HMAC does not match the request."""
    return BinanceError(-1022, "Signature for this request is not valid.")


def outside_recv_window() -> BinanceError:
    """-1021: ``timestamp`` is too old (beyond ``recvWindow``) or ahead of the server."""
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceError:
    """-1021: ``timestamp`` is more than a second ahead of the server's clock."""
    return BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def missing(name: str) -> BinanceError:
    """-1102: a mandatory parameter is absent or empty."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str) -> BinanceError:
    """-1100: a parameter's value cannot be read."""
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]+$'."
    )


def bad_value(name: str, found: str) -> BinanceError:
    """-1130: a parameter's value is not one the endpoint accepts."""
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid: {found!r}.")


def bad_interval() -> BinanceError:
    """-1120: a kline interval the venue does not serve."""
    return BinanceError(-1120, "Invalid interval.")


def bad_symbol() -> BinanceError:
    """-1121: a symbol the venue does not trade."""
    return BinanceError(-1121, "Invalid symbol.")


def bad_order_type() -> BinanceError:
    """-1116: an order type the venue does not take."""
    return BinanceError(-1116, "Invalid orderType.")


def bad_time_in_force() -> BinanceError:
    """-1115: a time in force the venue does not take."""
    return BinanceError(-1115, "Invalid timeInForce.")


def filter_failure(name: str) -> BinanceError:
    """-1013: a symbol filter (PRICE_FILTER, LOT_SIZE, NOTIONAL, ...) refuses the order."""
    return BinanceError(-1013, f"Filter failure: {name}")


def order_not_found() -> BinanceError:
    """-2013: a lookup of an order the venue does not have."""
    return BinanceError(-2013, "Order does not exist.")


def unknown_order() -> BinanceError:
    """-2011: a cancel of an order the venue does not have or that has finished."""
    return BinanceError(-2011, "Unknown order sent.")


def no_listen_key() -> BinanceError:
    """-1125: a listen key the venue did not issue (or closed)."""
    return BinanceError(-1125, "This listenKey does not exist.")


def rate_limited() -> BinanceError:
    """-1003 with HTTP 429: too many requests (answered with ``Retry-After``)."""
    return BinanceError(
        -1003,
        "Too many requests; current limit of IP is 6000 requests per minute. Please use "
        "the websocket for live updates to avoid polling the API.",
        429,
    )


def ip_banned() -> BinanceError:
    """-1003 with HTTP 418: the IP is banned for a while after ignoring 429s."""
    return BinanceError(-1003, "Way too many requests; IP banned. Please use the websocket.", 418)


def order_rejection(report: OrderUpdate, *, spot: bool) -> BinanceError:
    """The error Binance answers for an order the venue refused (a REJECTED report)."""
    reason = report.reject_reason
    if report.post_only_reject:
        if spot:
            return BinanceError(-2010, "Order would immediately match and take.")
        return BinanceError(
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected.",
        )
    if reason == DUPLICATE_REASON:
        if spot:
            return BinanceError(-2010, "Duplicate order sent.")
        return BinanceError(-4116, "ClientOrderId is duplicated.")
    if reason.startswith(REDUCE_ONLY_REJECT):
        return BinanceError(-2022, "ReduceOnly Order is rejected.")
    if reason.startswith(MARGIN_REASON):
        return BinanceError(-2019, "Margin is insufficient.")
    if reason.startswith(INSUFFICIENT_REASON):
        if spot:
            return BinanceError(-2010, "Account has insufficient balance for requested action.")
        return BinanceError(-2019, "Margin is insufficient.")
    if reason.startswith(FILTER_REASON):
        return filter_failure(reason.removeprefix(FILTER_REASON).strip(": ") or "PRICE_FILTER")
    return BinanceError(-2010, f"Order rejected: {reason}" if reason else "Order rejected.")
