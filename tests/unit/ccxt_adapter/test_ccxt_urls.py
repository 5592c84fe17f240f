"""Rewriting ccxt's Binance URLs onto a compatible server, on the real ccxt classes' tables."""

import ccxt.pro

from market_maker.exchanges.ccxt.urls import rewrite_api, rewrite_url, set_ws_urls


def test_rest_urls_keep_their_paths() -> None:
    api = rewrite_api(ccxt.pro.binanceusdm().urls["api"], "http://127.0.0.1:8765")
    assert api["fapiPrivate"] == "http://127.0.0.1:8765/fapi/v1"
    assert api["public"] == "http://127.0.0.1:8765/api/v3"
    assert api["sapi"] == "http://127.0.0.1:8765/sapi/v1"
    every = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            every.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(api)
    assert every and all("127.0.0.1:8765" in url for url in every)
    assert not any("binance.com" in url for url in every)


def test_websockets_take_the_compatible_servers_layout() -> None:
    ws = rewrite_api(ccxt.pro.binance().urls["api"], "https://10.0.0.2:9000")["ws"]
    assert ws["spot"] == "wss://10.0.0.2:9000/stream"  # ccxt needs "/stream" for spot
    assert ws["linear"] == "wss://10.0.0.2:9000/fstream/ws"
    assert ws["ws-api"]["spot"] == "wss://10.0.0.2:9000/ws-api/v3"
    assert ws["ws-api"]["linear"] == "wss://10.0.0.2:9000/ws-fapi/v1"
    assert ws["stock"] == "wss://10.0.0.2:9000/nbstream/equity/ws"


def test_the_original_table_is_left_alone() -> None:
    exchange = ccxt.pro.binance()
    before = exchange.urls["api"]["ws"]["spot"]
    rewrite_api(exchange.urls["api"], "http://127.0.0.1:1")
    assert exchange.urls["api"]["ws"]["spot"] == before


def test_explicit_websocket_urls_win() -> None:
    api = rewrite_api(ccxt.pro.binance().urls["api"], "http://127.0.0.1:1")
    set_ws_urls(api, {"spot": "ws://other/stream", "ws-api.spot": "ws://other/ws-api/v3"})
    assert api["ws"]["spot"] == "ws://other/stream"
    assert api["ws"]["ws-api"]["spot"] == "ws://other/ws-api/v3"
    assert rewrite_url("wss://x.y/ws?a=1", "http://h:1") == "ws://h:1/x/ws?a=1"
