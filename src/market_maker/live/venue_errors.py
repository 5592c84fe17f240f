"""A venue that cannot be reached at start, as an operator reads it: setting, value, why, fix.

``connect`` (the ccxt adapter) loads the venue's markets and balances with bounded retries
of ``venue.timeout_s`` each, then gives up with a ``RetryableExchangeError`` (nothing
answered, or only with temporary errors) or an ``OrderRejectedError`` (something answered,
but not like the exchange). ``venue_unreachable`` turns either into an
``InfrastructureError`` naming ``venue.url`` (or ``venue.exchange`` on the exchange's own
hosts), why (no answer in time, connection refused, unknown host, a foreign answer), how
long the bot tried, and the fix. The reason is read from the exception's causes (the
transport's ``TimeoutError``, ``ConnectionRefusedError``, ``socket.gaierror``), so this
module needs no ccxt.
"""

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from market_maker.config.app import VenueConfig
from market_maker.domain.errors import InfrastructureError
from market_maker.exchanges.base import ExchangeError, RetryableExchangeError

_MAX_DETAIL_CHARS = 160
PAPER_HINT = "the paper exchange prints its URL when it starts: market-maker paper-exchange"
"""Where a local venue's URL comes from, for the fixes."""


def venue_unreachable(
    venue: VenueConfig, exc: ExchangeError, *, attempts: int, elapsed_s: float
) -> InfrastructureError:
    """The operator's message for a connection to ``venue`` that gave up with ``exc``.

    Args:
        venue: The venue section of the configuration.
        exc: What ``connect`` raised (retryable: no usable answer; else a foreign answer).
        attempts: Attempts ``connect`` made of the call that failed.
        elapsed_s: Seconds from the start of ``connect`` to the failure.
    """
    local = venue.url is not None
    if venue.url is not None:
        setting, shown = "venue.url", repr(venue.url)
        where = f"the server at {venue.url}"
        host = f"the host {urlsplit(venue.url).hostname or venue.url!r}"
    else:
        testnet = " (testnet)" if venue.sandbox else ""
        setting, shown = "venue.exchange", repr(venue.exchange) + testnet
        where = f"{venue.exchange}{testnet}"
        host = f"{venue.exchange}'s API host"
    tried = f"{attempts} attempts over {elapsed_s:.0f} s; nothing was traded"
    slow = f"raise venue.timeout_s (now {venue.timeout_s:g} s) if the link is only slow"
    foreign = (
        f"point venue.url at a {venue.exchange}-compatible server ({PAPER_HINT})"
        if local
        else f"check that {venue.exchange} serves this machine's location and that "
        "venue.exchange and venue.sandbox name the venue you meant"
    )
    if not isinstance(exc, RetryableExchangeError):
        problem = f"{where} answered, but not like {venue.exchange}: {_detail(exc)}"
        return InfrastructureError(setting, shown, problem, foreign)
    causes = list(_causes(exc))
    if any(isinstance(c, socket.gaierror) for c in causes):
        problem = f"{host} is not known (its name does not resolve); {tried}"
        fix = (
            "correct the host in venue.url, or check this machine's DNS"
            if local
            else "check this machine's DNS and internet connection"
        )
    elif any(isinstance(c, ConnectionRefusedError) for c in causes):
        problem = f"{where} refused the connection (nothing listens there); {tried}"
        fix = (
            f"start the server, or correct the host and port in venue.url ({PAPER_HINT})"
            if local
            else "check this machine's internet connection (proxy, firewall)"
        )
    elif any(isinstance(c, TimeoutError) for c in causes):
        problem = f"{where} did not answer within venue.timeout_s ({venue.timeout_s:g} s); {tried}"
        fix = (
            f"check that the server at venue.url is running and answering ({PAPER_HINT}), or {slow}"
            if local
            else "check this machine's internet connection (proxy, firewall) and the "
            f"exchange's status page, or {slow}"
        )
    elif any(isinstance(c, OSError) for c in causes):
        problem = f"the connection to {where} failed: {_detail(exc)}; {tried}"
        fix = f"check that {where} is reachable from this machine, or {slow}"
    else:  # it answered, each time with a temporary error (5xx, 404, overload)
        problem = f"{where} answered only with errors: {_detail(exc)}; {tried}"
        fix = (
            f"check that venue.url points at a healthy {venue.exchange}-compatible server "
            f"({PAPER_HINT})"
            if local
            else f"check {venue.exchange}'s status page; {foreign}"
        )
    return InfrastructureError(setting, shown, problem, fix)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _detail(exc: BaseException) -> str:
    """The first line of ``exc``'s message, shortened (an HTML error page is long)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    text = text or type(exc).__name__
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 3] + "..."


__all__ = ["venue_unreachable"]
