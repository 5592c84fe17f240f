"""`market-maker paper-exchange` as a user runs it: bad input, serving, stopping on signals."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

POLL_S = 0.05
START_DEADLINE_S = 30.0
HEADER = "timestamp_ms,open,high,low,close,volume\n"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "market_maker", "paper-exchange", *args]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=60, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def wait_for_health(proc: subprocess.Popen[str], url: str) -> object:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        assert proc.poll() is None, f"exited early with {proc.returncode}"
        try:
            return get_json(url + "/paper/health")
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the paper exchange never became healthy"
            time.sleep(POLL_S)


def test_missing_data_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-candles.csv"
    result = run("--data", str(missing), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert str(missing) in result.stderr and "cannot open the file" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "listening" not in result.stdout


def test_bad_data_rows_exit_2_naming_the_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(HEADER + "1747180800000,100,101,99,100,1\n1747180860000,100,oops,99,100,1\n")
    result = run("--data", str(data), "--port", "0")
    assert result.returncode == 2
    assert f"{data}:3" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_config_exits_2_with_the_problem_and_its_fix(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("bot_id: x\nsymbol: BTC/USDT\n")
    result = run("--config", str(config), "--port", "0")
    assert result.returncode == 2
    assert "error: instrument: required setting is missing" in result.stderr
    assert "fix:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_port_in_use_exits_2_with_advice() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("--port", str(port), "--speed", "0")
    assert result.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "choose another --port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_negative_speed_is_a_usage_error() -> None:
    result = run("--speed", "-1")
    assert result.returncode == 2
    assert "--speed" in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serves_health_and_stops_cleanly_on_a_signal(stop: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        command("--port", str(port), "--speed", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            health = wait_for_health(proc, url)
            assert isinstance(health, dict)
            health.pop("time_ms")
            assert health == {
                "status": "ok",
                "market": "usdm",
                "symbol": "BTCUSDT",
                "unified_symbol": "BTC/USDT:USDT",  # the packaged backtest configuration's
                "index": 0,
                "total": 4320,  # the bundled sample's candles
                "done": False,
                "speed": 0.0,
            }
            proc.send_signal(stop)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert f"listening on {url}" in out
    assert "4,320 candles" in out and "stopped at step 0 of 4320 (candles)" in out
    assert "Traceback" not in err


def test_serves_the_binance_api_of_the_chosen_market_and_never_prints_the_secret() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MARKET_MAKER_PAPER_API_SECRET="s3cr3t-value")
    args = ("--port", str(port), "--speed", "0", "--market", "spot", "--api-key", "k-cli")
    with subprocess.Popen(
        command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            wait_for_health(proc, url)
            info = get_json(url + "/api/v3/exchangeInfo")
            assert isinstance(info, dict)
            assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT"]
            futures = get_json(url + "/fapi/v1/exchangeInfo")
            assert isinstance(futures, dict) and futures["symbols"] == []
            health = get_json(url + "/paper/health")
            assert isinstance(health, dict) and health["market"] == "spot"
            request = urllib.request.Request(url + "/api/v3/account")
            request.add_header("X-MBX-APIKEY", "paper-key")  # not the configured key
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=2)
            assert caught.value.code == 401
            assert json.loads(caught.value.read())["code"] == -2015
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "binance spot API for BTCUSDT, the configured API key" in out
    assert "s3cr3t-value" not in out + err and "k-cli" not in out + err


def test_unknown_market_kind_exits_2() -> None:
    result = run("--market", "coinm", "--port", "0")
    assert result.returncode == 2
    assert "--market: expected spot or usdm, found 'coinm'" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--trades", "sample", "--data", "x.csv"), "cannot be used together"),
        (("--trades", "sample", "--step-ms", "7000"), "--step-ms: expected a divisor of 60000"),
        (("--trades", "no-such-trades.csv"), "no-such-trades.csv: cannot open the file"),
    ],
)
def test_bad_trade_replay_options_exit_2_naming_the_option(
    args: tuple[str, ...], expected: str
) -> None:
    result = run(*args, "--port", "0")
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "listening" not in result.stdout
