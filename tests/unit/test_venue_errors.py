"""A venue that cannot be reached at start: the setting, the value, why, how long, the fix.

The reason is read from the exception's causes as the ccxt adapter chains them (ccxt's
error, then the transport's); the e2e tests run the same against real sockets.
"""

import socket

import pytest

from market_maker.config.app import VenueConfig
from market_maker.exchanges.base import OrderRejectedError, RetryableExchangeError
from market_maker.live.venue_errors import venue_unreachable

LOCAL = VenueConfig(exchange="binanceusdm", url="http://127.0.0.1:8765", timeout_s=2)
BINANCE = VenueConfig(exchange="binance", timeout_s=5)
TESTNET = VenueConfig(exchange="binance", sandbox=True)


def _gave_up(*causes: BaseException) -> RetryableExchangeError:
    """What ``connect`` raises after its retries: ccxt's error, then the transport's."""
    error = RetryableExchangeError("load markets of binanceusdm: binanceusdm GET http://...")
    current: BaseException = error
    for cause in causes:
        current.__cause__ = cause
        current = cause
    return error


CAUSES = {
    "silent": (TimeoutError(),),
    "refused": (ConnectionError("Cannot connect"), ConnectionRefusedError(111, "refused")),
    "unknown-host": (OSError("Cannot connect"), socket.gaierror(-2, "Name or service not known")),
    "other-os-error": (OSError(113, "No route to host"),),
    "answers-5xx": (),
}


@pytest.mark.parametrize(
    ("kind", "problem", "fix"),
    [
        (
            "silent",
            "the server at http://127.0.0.1:8765 did not answer within venue.timeout_s (2 s)",
            "raise venue.timeout_s (now 2 s)",
        ),
        (
            "refused",
            "the server at http://127.0.0.1:8765 refused the connection (nothing listens there)",
            "start the server, or correct the host and port in venue.url",
        ),
        (
            "unknown-host",
            "the host '127.0.0.1' is not known",
            "correct the host in venue.url",
        ),
        (
            "other-os-error",
            "the connection to the server at http://127.0.0.1:8765 failed: load markets",
            "reachable from this machine",
        ),
        (
            "answers-5xx",
            "the server at http://127.0.0.1:8765 answered only with errors: load markets",
            "points at a healthy binanceusdm-compatible server",
        ),
    ],
)
def test_a_local_venue_names_venue_url_the_reason_and_the_attempts(
    kind: str, problem: str, fix: str
) -> None:
    error = venue_unreachable(LOCAL, _gave_up(*CAUSES[kind]), attempts=4, elapsed_s=12.6)

    assert (error.setting, error.value) == ("venue.url", "'http://127.0.0.1:8765'")
    assert error.problem.startswith(problem), error.problem
    assert error.problem.endswith("; 4 attempts over 13 s; nothing was traded")
    assert fix in error.fix
    assert str(error).startswith("venue.url: ")


def test_the_exchange_itself_is_named_by_venue_exchange() -> None:
    silent = venue_unreachable(BINANCE, _gave_up(TimeoutError()), attempts=4, elapsed_s=24)
    unknown = venue_unreachable(
        TESTNET, _gave_up(socket.gaierror(-2, "unknown")), attempts=4, elapsed_s=3
    )

    assert (silent.setting, silent.value) == ("venue.exchange", "'binance'")
    assert silent.problem.startswith("binance did not answer within venue.timeout_s (5 s)")
    assert "internet connection" in silent.fix and "status page" in silent.fix
    assert unknown.value == "'binance' (testnet)"
    assert unknown.problem.startswith("binance's API host is not known")


def test_a_venue_answering_unlike_the_exchange_is_named_without_retry_figures() -> None:
    html = "load markets of binanceusdm: 404 <!DOCTYPE HTML>\n<html>" + "x" * 500
    error = venue_unreachable(LOCAL, OrderRejectedError(html), attempts=4, elapsed_s=1)

    assert error.problem == (
        "the server at http://127.0.0.1:8765 answered, but not like binanceusdm: "
        "load markets of binanceusdm: 404 <!DOCTYPE HTML>"
    )
    assert "binanceusdm-compatible server" in error.fix


def test_a_long_answer_is_shortened_to_its_first_line_and_160_characters() -> None:
    error = venue_unreachable(
        LOCAL, RetryableExchangeError("y" * 400 + "\nmore"), attempts=1, elapsed_s=0
    )

    assert "y" * 157 + "..." in error.problem and "y" * 158 not in error.problem
    assert "more" not in error.problem
