"""Point an unmodified ccxt Binance class (REST and ``ccxt.pro``) at a paper exchange.

ccxt takes every endpoint from ``exchange.urls['api']``. ``point_ccxt_at`` keeps each
REST URL's path and replaces its scheme and host with the paper exchange's, and sets the
websocket URLs to the paper exchange's stream paths:

* ``ws.spot`` = ``ws://HOST:PORT/stream``: ccxt tells spot streams by ``/stream`` in the
  URL (on Binance the host name holds it), and appends ``/<n>`` per connection;
* ``ws.linear`` = ``ws://HOST:PORT/fstream/ws``: ccxt rewrites it to
  ``/fstream/{market|public|private}/ws``;
* ``ws-api.spot`` = ``ws://HOST:PORT/ws-api/v3``: the spot user-data stream.

It imports nothing from ccxt, so it works with the sync, async and pro classes alike.
"""

from typing import Any
from urllib.parse import urlsplit

WS_PATHS = {
    "spot": "/stream",
    "margin": "/stream",
    "linear": "/fstream/ws",
    "inverse": "/dstream/ws",
}
"""Websocket base paths by ccxt market type."""
WS_API_PATHS = {"spot": "/ws-api/v3", "linear": "/ws-fapi/v1", "inverse": "/ws-dapi/v1"}
"""Websocket API paths by ccxt market type."""


def point_ccxt_at(exchange: Any, base_url: str) -> None:
    """Rewrite ``exchange.urls['api']`` (a ccxt ``binance``/``binanceusdm``) to ``base_url``.

    ``base_url`` is the paper exchange's ``http://HOST:PORT``; websockets use ``ws://``
    (``wss://`` for ``https://``).
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url: expected http://HOST:PORT or https://HOST:PORT, found {base_url!r}"
        )
    http = f"{parts.scheme}://{parts.netloc}"
    ws = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    api = exchange.urls["api"]
    for name, value in list(api.items()):
        if isinstance(value, str):
            api[name] = http + urlsplit(value).path
    streams = {
        kind: ws + urlsplit(url).path if isinstance(url, str) else url
        for kind, url in (api.get("ws") or {}).items()
    }  # every stream URL points here, then the ones the paper exchange serves:
    streams.update({kind: ws + path for kind, path in WS_PATHS.items()})
    streams["ws-api"] = {kind: ws + path for kind, path in WS_API_PATHS.items()}
    api["ws"] = streams
