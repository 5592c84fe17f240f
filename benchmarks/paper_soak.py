r"""Soak: a paper bot trading in timed mode for minutes must never halt on a healthy account.

Starts the paper exchange in **timed mode** (``--speed`` candles per second of wall time,
from the moment it listens, as a live market runs whether the bot keeps up or not) on
``--minutes`` worth of candles (``minutes x 60 x speed`` real candles of the bundled sample
or of ``--data`` from ``--start``), then ``market-maker run --config`` against it through
ccxt with the reconciler every ``--interval-s`` seconds (of market time, like every
interval of the engine), each in its own process. When the market has replayed its last
candle and the bot has decided at it (so no fill can land after the bot stops and the
books can be audited exactly), it stops the bot with SIGTERM and reports:

* candles replayed by the exchange and fed to the bot, orders, fills;
* reconciliations run, reads repeated because a fill landed among them, and the
  corrections (the bot's closing lines; each correction is also a ``reconciliation:``
  warning in its error output, counted here);
* the risk state and any halt, from ``market-maker status --json``;
* the audit of the bot's books against the exchange's ledger (``live.audit``).

Exits 1 on a halt, an audit mismatch, a bot that died or printed a traceback; 0 otherwise.
Prints the report as text and, with ``--json FILE``, writes it as JSON.

    .venv/bin/python benchmarks/paper_soak.py --minutes 10 --speed 2 --json out/soak.json

With ``--interval-s 60`` the reconciler is due at every candle (every 0.5 s of wall time at
``--speed 2``): every one a chance to race a fill. The bundled sample's 1,200 candles from
1,700 fall about 1,400 USDT and then rise about 2,700: the grid buys, then sells.
"""

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import yaml

from market_maker.cli.paper_trading import paper_config_path
from market_maker.config.loader import load_config
from market_maker.data.sample import sample_candles_path
from market_maker.domain.instrument import split_symbol
from market_maker.live.audit import audit, books_from_status, ledger_view
from market_maker.live.status import booked_fill_rows
from market_maker.paper.control import PaperControl

STATUS_EVERY_S = 10.0
"""How often the soak reads the bot's state while it runs (a halt ends the soak early)."""
GRACE_S = 180.0
"""How long after the last candle's due time the bot may take to catch up."""
START_DEADLINE_S = 60.0
"""Longest wait for the paper exchange to print its URL."""


def data_slice(folder: Path, data: Path, start: int, candles: int) -> Path:
    """``candles`` rows of the CSV ``data`` from row ``start``, as a CSV file in ``folder``."""
    header, *rows = data.read_text().splitlines(keepends=True)
    if start + candles > len(rows):
        raise SystemExit(
            f"--data {data} has {len(rows)} candles; --start {start} and --minutes x 60 x "
            f"--speed = {candles} candles need {start + candles}: lower --minutes or --start"
        )
    path = folder / "candles.csv"
    path.write_text(header + "".join(rows[start : start + candles]))
    return path


def write_config(
    folder: Path, base: Path, url: str | None, interval_s: int, name: str
) -> tuple[Path, dict[str, Any]]:
    """``base`` with the venue's URL, a fresh SQLite database and the reconciler's interval."""
    raw = yaml.safe_load(base.read_text())
    raw["venue"] = {**raw.get("venue", {}), "url": url}
    raw["durable"] = {"database_url": f"sqlite:///{folder / 'bot.db'}"}
    risk = raw.setdefault("risk", {})
    risk["reconciler"] = {**risk.get("reconciler", {}), "interval_s": interval_s}
    path = folder / name
    path.write_text(yaml.safe_dump(raw))
    return path, raw


def start_exchange(
    folder: Path, config: Path, data: Path | None, speed: float, market: str
) -> tuple["subprocess.Popen[str]", str, IO[str]]:
    """The paper exchange in timed mode; (process, URL, its error log)."""
    command = [
        sys.executable, "-m", "market_maker", "paper-exchange", "--port", "0",
        "--speed", f"{speed:g}", "--market", market, "--config", str(config),
    ]  # fmt: skip
    if data is not None:
        command += ["--data", str(data)]
    log = (folder / "exchange.err").open("w")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert server.stdout is not None
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:  # readline blocks; the process prints within seconds
        line = server.stdout.readline()
        if not line:
            break
        if line.startswith("listening on "):
            return server, line.removeprefix("listening on ").strip(), log
    stop(server)
    raise SystemExit(f"the paper exchange did not start: {(folder / 'exchange.err').read_text()}")


def stop(process: "subprocess.Popen[Any]", timeout_s: float = 60.0) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def status_json(config: Path) -> dict[str, Any] | None:
    """``market-maker status --config CONFIG --json`` (None before the bot saved a state)."""
    command = [sys.executable, "-m", "market_maker", "status", "--config", str(config), "--json"]
    answer = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if answer.returncode != 0:
        return None
    status: dict[str, Any] = json.loads(answer.stdout)
    return status


def count(pattern: str, text: str) -> int:
    """The first number (thousands separators allowed) ``pattern`` captures in ``text``."""
    found = re.search(pattern, text)
    return int(found.group(1).replace(",", "")) if found else -1


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run the exchange and the bot for ``args.minutes``; the report."""
    exchange_config, raw = write_config(folder, args.config, None, args.interval_s, "exchange.yaml")
    market = args.market or ("spot" if raw.get("backtest", {}).get("spot") else "usdm")
    total = round(args.minutes * 60 * args.speed)
    data = data_slice(folder, args.data or sample_candles_path(), args.start, total)
    server, url, server_log = start_exchange(folder, exchange_config, data, args.speed, market)
    bot_config, _ = write_config(folder, args.config, url, args.interval_s, "bot.yaml")
    config = load_config(bot_config)
    control = PaperControl(url)
    report: dict[str, Any] = {
        "minutes": args.minutes,
        "speed": args.speed,
        "market": market,
        "interval_s": args.interval_s,
        "divergence_confirmations": config.risk.reconciler.divergence_confirmations,
        "folder": str(folder),
    }
    try:
        out, err = (folder / "bot.out").open("w"), (folder / "bot.err").open("w")
        command = [sys.executable, "-m", "market_maker", "run", "--config", str(bot_config)]
        bot = subprocess.Popen([*command, "--quiet"], stdout=out, stderr=err, text=True)
        started = time.monotonic()
        end = started + args.minutes * 60 + GRACE_S
        halted, caught_up = None, False
        while (now := time.monotonic()) < end and bot.poll() is None and not caught_up:
            time.sleep(min(STATUS_EVERY_S, end - now))  # pacing a report, not synchronising
            status = status_json(bot_config)
            if status is not None and status["risk_state"] == "HALTED":
                halted = status
                break
            market_time = control.market()
            if status is None:
                continue
            behind = (
                "-"
                if market_time.last_open_ms is None
                else (max((market_time.last_open_ms - status["last_update_ms"]) // 60_000, 0))
            )
            caught_up = market_time.done and behind != "-" and int(behind) <= 0
            if not args.quiet:
                print(
                    f"{(time.monotonic() - started) / 60:5.1f} min: candle "
                    f"{market_time.index} of {total}, the bot {behind} candle(s) behind, "
                    f"{status['risk_state']}, position {status['position']}",
                    flush=True,
                )
        report["caught_up"] = caught_up
        report["wall_s"] = round(time.monotonic() - started, 1)
        report["bot_exit"] = stop(bot)
        out.close()
        err.close()
        market_time = control.market()
        ledger = control.ledger()
        base, _ = split_symbol(config.symbol)
        status = status_json(bot_config)
        books = None if status is None else books_from_status(status, booked_fill_rows(config))
        view = ledger_view(ledger, control.position(base))
        mismatches = [] if books is None else audit(books, view)
    finally:
        stop(server)
        server_log.close()
    bot_out, bot_err = (folder / "bot.out").read_text(), (folder / "bot.err").read_text()
    report.update(
        candles_replayed=market_time.index,
        data_exhausted=market_time.done,
        candles_fed=count(r"stopped after ([\d,]+) candles", bot_out),
        orders=len(ledger.orders),
        fills=len(ledger.fills),
        duplicates=len(ledger.duplicates),
        reconciliations=count(r"reconciliations: ([\d,]+) run", bot_out),
        rereads=count(r"([\d,]+) read again", bot_out),
        corrections=(re.findall(r"corrections: (.*)", bot_out) or ["?"])[0],
        correction_lines=bot_err.count("reconciliation: "),
        risk_state=None if status is None else status["risk_state"],
        halt=(halted or status or {}).get("halt"),
        halted_during_run=halted is not None,
        audit=[str(m) for m in mismatches] if books else ["no state saved"],
        traceback="Traceback" in bot_err,
        bot_lines=bot_out.strip().splitlines()[-3:],
    )
    return report


def failed(report: dict[str, Any]) -> list[str]:
    """Why the soak failed (empty: it passed)."""
    reasons = []
    if report["halted_during_run"] or report["risk_state"] == "HALTED":
        reasons.append(f"the bot halted: {report['halt']}")
    if report["audit"]:
        reasons.append(f"the books differ from the ledger: {report['audit']}")
    if not report["caught_up"]:
        reasons.append("the bot did not reach the last candle (see bot.err)")
    if report["bot_exit"] != 0 or report["traceback"]:
        reasons.append(f"the bot exited with {report['bot_exit']} (see bot.err)")
    if report["fills"] == 0:
        reasons.append("no fill: nothing was tested")
    return reasons


def main() -> None:
    """Parse the options, soak, print the report; exit 1 when the soak failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall minutes of trading")
    parser.add_argument("--speed", type=float, default=2.0, help="candles per second (> 0)")
    parser.add_argument("--interval-s", type=int, default=60, help="reconciler interval")
    parser.add_argument("--config", type=Path, default=paper_config_path(), help="bot config")
    parser.add_argument("--data", type=Path, help="CSV candles (default: the bundled sample)")
    parser.add_argument("--start", type=int, default=1700, help="first candle of the data")
    parser.add_argument("--market", choices=("spot", "usdm"), help="default: from --config")
    parser.add_argument("--folder", type=Path, help="where configs, database and logs go")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()
    if args.speed <= 0:
        parser.error(
            f"--speed: expected candles per second above 0 (timed mode), found {args.speed}"
        )
    folder = args.folder or Path(tempfile.mkdtemp(prefix="paper-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    report = soak(args, folder)
    reasons = failed(report)
    report["passed"] = not reasons
    for key, value in report.items():
        print(f"{key}: {value}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if reasons:
        print("FAILED: " + "; ".join(reasons), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
