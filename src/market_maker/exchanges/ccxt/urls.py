"""Pointing a ccxt exchange at a Binance-compatible server (the paper exchange, a proxy).

Every REST URL of ``exchange.urls['api']`` keeps its path on the new host
(``https://fapi.binance.com/fapi/v1`` -> ``http://127.0.0.1:8765/fapi/v1``). Websocket
URLs move under a path named after the first label of their old host, so the spot, futures
and websocket-API endpoints stay apart and the spot stream keeps ``/stream`` in its URL
(ccxt tells spot streams apart by it): ``wss://stream.binance.com:9443/ws`` ->
``ws://127.0.0.1:8765/stream/ws``, ``wss://fstream.binance.com/ws`` -> ``.../fstream/ws``
(ccxt then uses ``/fstream/{public,market,private}/ws``), ``wss://ws-api.binance.com:443/
ws-api/v3`` -> ``.../ws-api/ws-api/v3``.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def rewrite_url(url: str, base_url: str) -> str:
    """``url`` moved onto the host of ``base_url`` (see the module docstring)."""
    base = urlsplit(base_url)
    old = urlsplit(url)
    if old.scheme in ("ws", "wss"):
        scheme = "wss" if base.scheme == "https" else "ws"
        label = (old.hostname or "").split(".")[0]
        return f"{scheme}://{base.netloc}/{label}{old.path}" + (
            f"?{old.query}" if old.query else ""
        )
    if old.scheme in ("http", "https"):
        return f"{base.scheme}://{base.netloc}{old.path}" + (f"?{old.query}" if old.query else "")
    return url


def rewrite_api(api: Any, base_url: str) -> Any:
    """A copy of ``urls['api']`` (nested dicts of URLs) with every URL rewritten."""
    if isinstance(api, str):
        return rewrite_url(api, base_url)
    if isinstance(api, Mapping):
        return {key: rewrite_api(value, base_url) for key, value in api.items()}
    return api


def set_ws_urls(api: dict[str, Any], ws_urls: Mapping[str, str]) -> None:
    """Set websocket URLs by dotted key of ``api['ws']`` (``"spot"``, ``"ws-api.spot"``)."""
    for dotted, url in ws_urls.items():
        node = api.setdefault("ws", {})
        *path, last = dotted.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = url
