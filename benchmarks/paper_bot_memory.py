r"""Peak memory of a paper bot (``market-maker run``, Durable engine) as it trades more candles.

Starts the paper exchange on a candle file in manual time, starts the bot against it (its
own process, SQLite database in a temporary folder, as a user runs it), and moves the market
``--step`` candles at a time, each time waiting until the bot has caught up. The bot's peak
resident memory (``VmHWM``) is read from ``/proc`` when a third of ``--candles`` is done and
at the end: three times the candles should grow the peak by less than 20% (issue 12).
Prints one JSON line; never passes or fails on time.

    .venv/bin/python benchmarks/paper_bot_memory.py \\
        --config benchmarks/btc_usdt_default_risk.yaml \\
        --data ../shared/data/binance_spot_1m_2025/BTC_USDT-1m.csv --candles 100000
"""

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from argparse import Namespace
from pathlib import Path
from typing import IO

import yaml

from market_maker.config.app import AppConfig
from market_maker.config.loader import load_config
from market_maker.live.status import bot_status
from market_maker.paper.control import PaperControl


def memory_kb(pid: int) -> tuple[int, int]:
    """(peak, current) resident set size of process ``pid`` in KiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])


def start_exchange(config: Path, data: Path, log: IO[str]) -> tuple[subprocess.Popen[str], str]:
    """The paper exchange in manual time on ``data``; (process, URL)."""
    command = [sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0"]
    command += ["--speed", "0", "--data", str(data), "--config", str(config)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert server.stdout is not None
    for _ in range(5):  # the URL line follows a line about the data
        found = re.search(r"listening on (http://\S+)", server.stdout.readline())
        if found:
            return server, found.group(1)
    server.kill()
    raise SystemExit("the paper exchange did not print its URL")


def wait_caught_up(bot: subprocess.Popen[bytes], config: AppConfig, open_time_ms: int) -> None:
    """Until the bot has saved a state at or after the candle that opened at ``open_time_ms``.

    Through ccxt the bot's market time is a candle's close, so it is past the open time.
    """
    while True:
        if bot.poll() is not None:
            log = Path(config.durable.database_url.removeprefix("sqlite:///")).parent / "bot.log"
            raise SystemExit(f"the bot exited ({bot.returncode}):\n{log.read_text()[-2000:]}")
        status = bot_status(config)
        if status and status["last_update_ms"] >= open_time_ms:
            return
        time.sleep(0.05)  # polling a separate process, not synchronising threads


def trade(
    bot: subprocess.Popen[bytes], config: AppConfig, exchange: PaperControl, args: Namespace
) -> dict[str, dict[str, int]]:
    """Move the market to ``args.candles``; the bot's memory at a third and at the end."""
    marks: dict[str, dict[str, int]] = {}
    done = 0
    while done < args.candles:
        done = exchange.advance(min(args.step, args.candles - done))
        market = exchange.market()
        assert market.last_open_ms is not None
        wait_caught_up(bot, config, market.last_open_ms)
        for name, at in (("third", args.candles // 3), ("all", args.candles)):
            if name not in marks and (done >= at or market.done):
                peak, now = memory_kb(bot.pid)
                marks[name] = {"candles": done, "peak_kb": peak, "rss_kb": now}
        if market.done:
            break
    return marks


def main() -> None:
    """Run the measurement and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--candles", type=int, default=100_000)
    parser.add_argument("--step", type=int, default=500, help="candles per market move")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm-paper-mem-") as tmp:
        folder = Path(tmp)
        exchange_log = (folder / "exchange.log").open("w")
        server, url = start_exchange(args.config, args.data, exchange_log)
        base = load_config(args.config).model_dump(mode="json")
        ccxt_id = "binanceusdm" if ":" in base["symbol"] else "binance"
        base["venue"] = {"exchange": ccxt_id, "url": url, "poll_interval_s": 0.02}
        base["durable"] = {"database_url": f"sqlite:///{folder / 'bot.db'}"}
        bot_config = folder / "bot.yaml"
        bot_config.write_text(yaml.safe_dump(base))
        config = load_config(bot_config)
        exchange = PaperControl(url)
        with (folder / "bot.log").open("wb") as log:
            bot = subprocess.Popen(
                [sys.executable, "-m", "market_maker", "run", "--config", str(bot_config)],
                stdout=log,
                stderr=log,
            )
        started = time.monotonic()
        try:
            marks = trade(bot, config, exchange, args)
            ledger = exchange.ledger()
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=120)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            exchange_log.close()
        elapsed = time.monotonic() - started
    third, full = marks["third"], marks["all"]
    print(
        json.dumps(
            {
                "candles": full["candles"],
                "orders": len(ledger.orders),
                "fills": len(ledger.fills),
                "peak_mb_at_third": round(third["peak_kb"] / 1024, 1),
                "candles_at_third": third["candles"],
                "peak_mb_at_end": round(full["peak_kb"] / 1024, 1),
                "rss_mb_at_end": round(full["rss_kb"] / 1024, 1),
                "peak_growth_pct": round(100 * (full["peak_kb"] / third["peak_kb"] - 1), 1),
                "wall_s": round(elapsed, 1),
                "candles_per_s": round(full["candles"] / elapsed, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
