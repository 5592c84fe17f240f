"""What the crash harness sets up: the fault mix, the bot's configuration, the exchange process.

``FaultMix`` is the share of each fault the paper exchange injects (``/paper/faults``,
``market_maker.paper.faults``); ``bot_config`` writes the configuration the bot runs with
(ccxt's ``binance`` on spot or ``binanceusdm`` on USDⓈ-M, at the paper exchange's URL);
``start_exchange`` starts ``market-maker paper-exchange`` with manual market time.
"""

import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from market_maker.config.loader import default_backtest_config_path, load_config

Market = Literal["spot", "usdm"]
"""The Binance market kind the harness trades: ``spot`` or ``usdm`` (USDⓈ-M perpetual)."""

SYMBOLS: dict[Market, str] = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT"}
"""The symbol of each market kind (the bundled sample's candles serve both)."""
CCXT_IDS: dict[Market, str] = {"spot": "binance", "usdm": "binanceusdm"}
"""The ccxt class the bot trades each market kind with."""

START_LINES = 10
"""Lines the paper exchange prints at most before the one with its URL."""


@dataclass(frozen=True, slots=True)
class FaultMix:
    """The faults injected while the bot trades (every rate a probability, 0 = none).

    Attributes:
        rate_limit: Share of Binance API requests answered 429 with ``Retry-After``.
        bans: Share answered 418 (IP ban) with ``Retry-After``.
        server_errors: Share answered 502 or 503, unprocessed.
        lost_acks: Share of order placements booked by the venue whose answer is withheld
            until the client gives up.
        ws_drops: Share of stream events that close the connection instead.
        ws_duplicates: Share of stream events pushed twice.
        ws_reorders: Share of stream events pushed after the next one.
        ws_drop_every_s: Close every stream connection this long after it opened.
        retry_after_s: ``Retry-After`` of a 429 or 418, seconds.
        lost_ack_delay_s: Longest a lost answer is withheld if the client waits.
    """

    rate_limit: float = 0.0
    bans: float = 0.0
    server_errors: float = 0.0
    lost_acks: float = 0.0
    ws_drops: float = 0.0
    ws_duplicates: float = 0.0
    ws_reorders: float = 0.0
    ws_drop_every_s: float | None = None
    retry_after_s: int = 1
    lost_ack_delay_s: float = 30.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name in ("ws_drop_every_s", "retry_after_s", "lost_ack_delay_s"):
                continue
            if not 0 <= value <= 1:
                raise ValueError(f"{name}: {value} is not a share of 0 to 1; write e.g. 0.05")

    @property
    def any(self) -> bool:
        """Some fault is injected."""
        rates = (self.rate_limit, self.bans, self.server_errors, self.lost_acks)
        streams = (self.ws_drops, self.ws_duplicates, self.ws_reorders)
        return any(r > 0 for r in (*rates, *streams)) or self.ws_drop_every_s is not None

    def settings(self, seed: int) -> dict[str, Any]:
        """The body of ``POST /paper/faults`` that injects this mix."""
        return {
            "seed": seed,
            "rate_limit_rate": self.rate_limit,
            "ban_rate": self.bans,
            "server_error_rate": self.server_errors,
            "lost_ack_rate": self.lost_acks,
            "ws_drop_rate": self.ws_drops,
            "ws_duplicate_rate": self.ws_duplicates,
            "ws_reorder_rate": self.ws_reorders,
            "ws_drop_every_s": self.ws_drop_every_s,
            "retry_after_s": self.retry_after_s,
            "lost_ack_delay_s": self.lost_ack_delay_s,
        }


def bot_config(
    path: Path, market: Market, database_url: str, url: str | None = None, *, streams: bool = True
) -> dict[str, Any]:
    """Write the bot's configuration for ``market`` to ``path``; the data written.

    The packaged backtest example's grid, on ``market``'s symbol and account kind, traded
    through ccxt at ``url`` (unset until the exchange listens), with a short answer timeout
    so that a lost answer costs the bot seconds, not the default ten.
    """
    data = load_config(default_backtest_config_path()).model_dump(mode="json")
    data["symbol"] = SYMBOLS[market]
    data["backtest"]["spot"] = market == "spot"
    data["venue"] = {
        "exchange": CCXT_IDS[market],
        "url": url,
        "streams": streams,
        "poll_interval_s": 0.05,
        "timeout_s": 3,
    }
    data["durable"] = {"database_url": database_url, "executor_id": "chaos"}
    # a free port: a bot killed a moment ago may still hold the default one
    data["operations"] = {**data.get("operations", {}), "http_port": 0}
    path.write_text(yaml.safe_dump(data))
    return data


def start_exchange(
    config_path: Path, market: Market, data: Path | None, log: IO[str]
) -> tuple["subprocess.Popen[str]", str]:
    """Start ``market-maker paper-exchange`` (manual time) on a free port; it and its URL.

    Its standard error goes to ``log``.

    Raises:
        RuntimeError: It exited or printed no URL.
    """
    command = [sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0"]
    command += ["--speed", "0", "--config", str(config_path), "--market", market]
    command += ["--data", str(data)] if data is not None else []
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert server.stdout is not None
    lines = []
    for _ in range(START_LINES):
        line = server.stdout.readline()
        lines.append(line)
        if found := re.search(r"listening on (http://\S+)", line):
            return server, found.group(1)
        if not line:
            break
    server.kill()
    server.wait(timeout=30)
    raise RuntimeError(f"the paper exchange did not print its URL: {lines!r}")
