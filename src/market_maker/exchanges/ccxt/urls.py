"""Pointing a ccxt exchange at a Binance-compatible server (the paper exchange, a proxy).

Every REST URL of ``exchange.urls['api']`` keeps its path on the new host
(``https://fapi.binance.com/fapi/v1`` -> ``http://127.0.0.1:8765/fapi/v1``). Websocket URLs
take the layout of a Binance-compatible server (the paper exchange's,
``docs/paper_exchange.md``):

* ``ws.spot``, ``ws.margin``: ``/stream`` (ccxt tells spot streams by ``/stream`` in the
  URL; it appends ``/<n>`` per connection);
* ``ws.linear``: ``/fstream/ws`` (ccxt then uses ``/fstream/{public,market,private}/ws``);
* ``ws.inverse``: ``/dstream/ws``;
* ``ws.ws-api.spot``, ``.linear``, ``.inverse``: ``/ws-api/v3``, ``/ws-fapi/v1``,
  ``/ws-dapi/v1``.

Any other websocket URL moves under a path named after the first label of its old host
(``wss://nbstream.binance.com/equity/ws`` -> ``ws://host/nbstream/equity/ws``).
"""

from collections.abc import Mapping
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
"""Websocket-API paths by ccxt market type."""


def rewrite_url(url: str, base_url: str) -> str:
    """``url`` moved onto the host of ``base_url``, keeping its path."""
    base = urlsplit(base_url)
    old = urlsplit(url)
    query = f"?{old.query}" if old.query else ""
    if old.scheme in ("ws", "wss"):
        scheme = "wss" if base.scheme == "https" else "ws"
        label = (old.hostname or "").split(".")[0]
        return f"{scheme}://{base.netloc}/{label}{old.path}{query}"
    if old.scheme in ("http", "https"):
        return f"{base.scheme}://{base.netloc}{old.path}{query}"
    return url


def rewrite_api(api: Any, base_url: str) -> Any:
    """A copy of ``urls['api']`` with every URL on ``base_url`` (see the module docstring)."""
    out = _rewrite(api, base_url)
    if isinstance(out, dict) and isinstance(out.get("ws"), dict):
        base = urlsplit(base_url)
        ws = f"{'wss' if base.scheme == 'https' else 'ws'}://{base.netloc}"
        streams = out["ws"]
        streams.update({kind: ws + path for kind, path in WS_PATHS.items() if kind in streams})
        streams["ws-api"] = {kind: ws + path for kind, path in WS_API_PATHS.items()}
    return out


def _rewrite(api: Any, base_url: str) -> Any:
    if isinstance(api, str):
        return rewrite_url(api, base_url)
    if isinstance(api, Mapping):
        return {key: _rewrite(value, base_url) for key, value in api.items()}
    return api


def set_ws_urls(api: dict[str, Any], ws_urls: Mapping[str, str]) -> None:
    """Set websocket URLs by dotted key of ``api['ws']`` (``"spot"``, ``"ws-api.spot"``)."""
    for dotted, url in ws_urls.items():
        node = api.setdefault("ws", {})
        *path, last = dotted.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = url
