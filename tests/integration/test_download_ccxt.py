"""``CcxtCandles`` and ``market-maker download`` through the real ccxt client over real HTTP.

The server is a small Binance-compatible stand-in written here (``exchangeInfo`` and
``klines``), because it must misbehave on cue: answer 429 with ``Retry-After``, or time
out, a set number of times. The waits between retries are recorded, never slept.
"""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from market_maker.cli.main import run
from market_maker.data.candles import load_candles
from market_maker.data.download import DownloadError
from market_maker.exchanges.base import RetryableExchangeError
from market_maker.exchanges.ccxt.candles import CcxtCandles, point_at, retry_after_s

pytestmark = pytest.mark.timeout(60)

MIN = 60_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC
ROWS = [
    [T0 + i * MIN, f"9500{i % 10}.10000000", "95100.00000000", "94900.00000000",
     f"9500{(i + 3) % 10}.00000000", f"{i}.12345678", T0 + i * MIN + MIN - 1, "0", 1, "0", "0", "0"]
    for i in range(25)
]  # fmt: skip
INFO = {
    "timezone": "UTC",
    "serverTime": T0,
    "rateLimits": [],
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT"],
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "permissions": ["SPOT"],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.01",
                    "maxPrice": "1000000",
                    "tickSize": "0.01",
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.00001",
                    "maxQty": "9000",
                    "stepSize": "0.00001",
                },
            ],
        }
    ],
}


class StubBinance:
    """The server's script: how many klines requests fail, and how."""

    def __init__(self) -> None:
        self.failures: list[tuple[int, dict[str, str]]] = []  # (status, headers) to answer next
        self.klines: list[dict[str, str]] = []  # the klines requests' parameters


@pytest.fixture
def stub() -> Iterator[tuple[StubBinance, str]]:
    script = StubBinance()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: object, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/api/v3/exchangeInfo":
                self._send(200, INFO, {})
            elif url.path == "/api/v3/klines":
                script.klines.append(query)
                if script.failures:
                    status, headers = script.failures.pop(0)
                    self._send(status, {"code": -1003, "msg": "Too many requests"}, headers)
                    return
                since, limit = int(query.get("startTime", 0)), int(query["limit"])
                self._send(200, [r for r in ROWS if r[0] >= since][:limit], {})
            else:
                self._send(404, {"code": -1, "msg": "not here"}, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pager(url: str, waits: list[float], **kwargs: object) -> CcxtCandles:
    return CcxtCandles(
        "binance",
        "BTC/USDT",
        "1m",
        url=url,
        sleep=waits.append,
        wall_clock_s=lambda: (T0 + 30 * MIN) / 1000,
        **kwargs,  # type: ignore[arg-type]
    )


def test_pages_come_back_with_the_exchange_s_exact_text(stub: tuple[StubBinance, str]) -> None:
    script, url = stub
    candles = pager(url, [])
    rows = candles.fetch(T0 + 5 * MIN, 3)
    assert [r[:6] for r in rows] == [r[:6] for r in ROWS[5:8]]  # strings as sent
    assert script.klines[-1]["startTime"] == str(T0 + 5 * MIN)
    assert script.klines[-1]["limit"] == "3" and script.klines[-1]["symbol"] == "BTCUSDT"
    assert candles.timeframe_ms == MIN


def test_rate_limits_are_retried_with_backoff_honouring_retry_after(
    stub: tuple[StubBinance, str],
) -> None:
    script, url = stub
    waits: list[float] = []
    candles = pager(url, waits)
    script.failures = [
        (429, {"Retry-After": "7"}),
        (429, {}),
        (503, {}),
        (429, {"Retry-After": "0"}),
    ]
    rows = candles.fetch(T0, 2)
    assert [r[0] for r in rows] == [T0, T0 + MIN]
    # 7 s asked for; then the backoff doubles: 2, 4; a Retry-After shorter than it is not.
    assert waits == [7.0, 2.0, 4.0, 8.0] and candles.retries == 4


def test_a_rate_limit_that_does_not_end_is_given_up_with_a_resumable_message(
    stub: tuple[StubBinance, str],
) -> None:
    script, url = stub
    waits: list[float] = []
    candles = pager(url, waits, max_attempts=3)
    script.failures = [(429, {})] * 5
    with pytest.raises(RetryableExchangeError, match=r"after 3 tries.*resumes where it stopped"):
        candles.fetch(T0, 2)
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("binanse", "BTC/USDT", "1m"), r"no exchange 'binanse' \(did you mean binance"),
        (("binance", "BTC/USDX", "1m"), r"no market 'BTC/USDX' \(did you mean BTC/USDT"),
        (("binance", "BTC/USDT", "7m"), r"no timeframe '7m'; fix: use one of 1s, 1m, 3m"),
        (("binance", "BTC/USDT", "1M"), r"no fixed length"),
    ],
)
def test_unknown_exchange_symbol_or_timeframe_name_the_value_and_the_fix(
    stub: tuple[StubBinance, str], args: tuple[str, str, str], message: str
) -> None:
    _, url = stub
    with pytest.raises(DownloadError, match=message):
        CcxtCandles(*args, url=url, sleep=lambda s: None)


def test_an_address_that_does_not_answer_fails_at_once() -> None:
    waits: list[float] = []
    with pytest.raises(RetryableExchangeError, match="check the network"):
        pager("http://127.0.0.1:9", waits)  # the discard port: connection refused
    assert waits == []


def test_the_command_downloads_through_the_stub_and_the_backtest_loader_reads_it(
    stub: tuple[StubBinance, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = stub
    out = tmp_path / "btc.csv"
    args = ["download", "--symbol", "BTC/USDT", "--since", "2025-01-01", "--out", str(out)]
    args += ["--url", url, "--limit", "10", "--until", "2025-01-01T00:20"]
    assert run(args) == 0
    assert "20 candles written (2 requests, 0 retries)" in capsys.readouterr().out
    series = load_candles(out, symbol="BTC/USDT")
    assert [c.open_time_ms for c in series.candles] == [r[0] for r in ROWS[:20]]
    assert out.read_text().splitlines()[1] == ",".join(str(v) for v in ROWS[0][:6])
    # Once more with a later --until: it resumes after the last candle.
    args[-1] = "2025-01-01T00:24"
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "resuming after its last candle, 2025-01-01 00:19 UTC" in printed
    assert "4 candles written" in printed
    assert len(load_candles(out, symbol="BTC/USDT").candles) == 24


def test_the_command_exits_2_naming_a_bad_symbol(
    stub: tuple[StubBinance, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = stub
    args = ["download", "--symbol", "ETH/USDT", "--since", "2025-01-01"]
    args += ["--out", str(tmp_path / "x.csv"), "--url", url]
    assert run(args) == 2
    assert "error: --symbol: binance has no market 'ETH/USDT'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_urls_move_to_the_given_host_keeping_their_paths() -> None:
    moved = point_at(
        {"public": "https://api.binance.com/api/v3", "x": {"y": "wss://s/ws"}}, "http://h:1/"
    )
    assert moved == {"public": "http://h:1/api/v3", "x": {"y": "http://h:1/ws"}}


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s({"retry-after": "12"}, 0) == 12.0
    assert retry_after_s({"Retry-After": "Wed, 01 Jan 2025 00:00:30 GMT"}, T0 / 1000) == 30.0
    assert retry_after_s({"Retry-After": "soon"}, 0) is None
    assert retry_after_s({}, 0) is None
