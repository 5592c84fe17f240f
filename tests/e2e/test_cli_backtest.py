"""The backtest command as a user runs it: defaults, reports, determinism and bad input."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.backtest.report_json import replay_fills

SAMPLE = Path(__file__).resolve().parents[2] / "src/market_maker/data/sample"
HEADER = "timestamp_ms,open,high,low,close,volume\n"
GOOD_ROWS = [
    "1747180800000,103000.0,103010.0,102990.0,103005.0,10.5\n",
    "1747180860000,103005.0,103020.0,102950.0,102960.0,12.0\n",
    "1747180920000,102960.0,102990.0,102900.0,102980.0,9.0\n",
]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "market_maker", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )


def test_default_backtest_on_the_bundled_sample_writes_both_reports(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = run("--json", str(out_json), "--html", str(out_html))
    assert result.returncode == 0, result.stderr
    assert "final equity" in result.stdout and "fills" in result.stdout
    report = json.loads(out_json.read_text())
    assert report["summary"]["events"] == 4320 and report["summary"]["fills"] > 100
    assert isinstance(report["summary"]["final_equity"], str)
    assert {"ts_ms", "side", "price", "qty", "fee", "liquidity", "client_order_id", "slot"} <= set(
        report["fills"][0]
    )
    html = out_html.read_text()
    assert "<html" in html.lower() and "plotly" in html.lower()


def test_same_input_gives_byte_identical_reports_apart_from_timing(tmp_path: Path) -> None:
    texts = []
    for name in ("a.json", "b.json"):
        assert run("--json", str(tmp_path / name)).returncode == 0
        report = json.loads((tmp_path / name).read_text())
        report["summary"].pop("elapsed_s")
        report["summary"].pop("events_per_s")
        texts.append(json.dumps(report, sort_keys=True))
    assert texts[0] == texts[1]
    lines_a = (tmp_path / "a.json").read_text().splitlines()
    lines_b = (tmp_path / "b.json").read_text().splitlines()
    differing = [a for a, b in zip(lines_a, lines_b, strict=True) if a != b]
    assert all("elapsed_s" in a or "events_per_s" in a for a in differing)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_DATA = [
    ("non-numeric", HEADER + GOOD_ROWS[0] + "1747180860000,abc,1,1,1,1\n" + GOOD_ROWS[2], ":3"),
    (
        "high below low",
        HEADER + GOOD_ROWS[0] + "1747180860000,100,90,95,95,1\n" + GOOD_ROWS[2],
        ":3",
    ),
    ("time backwards", HEADER + GOOD_ROWS[1] + GOOD_ROWS[0] + GOOD_ROWS[2], ":3"),
    ("gap", HEADER + GOOD_ROWS[0] + GOOD_ROWS[2] + "1747181100000,1,1,1,1,1\n", "gap"),
    ("wrong header", "time,o,h,l,c,v\n" + "".join(GOOD_ROWS), "header"),
    ("empty file", "", "empty"),
    ("negative volume", HEADER + GOOD_ROWS[0] + "1747180860000,1,1,1,1,-5\n" + GOOD_ROWS[2], ":3"),
]


@pytest.mark.parametrize(("case", "text", "where"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_is_reported_with_file_and_line_and_exit_2(
    tmp_path: Path, case: str, text: str, where: str
) -> None:
    data = _write(tmp_path, "candles.csv", text)
    result = run("--data", str(data))
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "candles.csv" in result.stderr and where in result.stderr.lower()


BAD_CONFIG = [
    ("unknown key", "base_interval: 50", "base_intervall: 50", "grid.base_intervall"),
    ("negative fee", "maker_fee: 0.0002", "maker_fee: -0.1", "backtest.maker_fee"),
    ("bad mode", "mode: long", "mode: sideways", "grid.mode"),
    ("text for a number", "order_qty: 0.002", "order_qty: lots", "grid.order_qty"),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "field"), BAD_CONFIG, ids=[c[0] for c in BAD_CONFIG]
)
def test_bad_config_names_the_field_and_exits_2(
    tmp_path: Path, case: str, old: str, new: str, field: str
) -> None:
    base = Path(__file__).resolve().parents[2] / "src/market_maker/examples/backtest.yaml"
    text = base.read_text()
    assert old in text
    config = _write(tmp_path, "c.yaml", text.replace(old, new, 1))
    result = run("--config", str(config))
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert field in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_file_and_skip_flag(tmp_path: Path) -> None:
    result = run("--data", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "nope.csv" in result.stderr
    assert "Traceback" not in result.stderr
    rows = [f"{1747180800000 + 60_000 * i},100,101,99,100,1\n" for i in range(50)]
    rows[10] = f"{1747180800000 + 60_000 * 10},x,101,99,100,1\n"
    rows.pop(11)  # removing row 11 and dropping row 10 leaves a gap of two candles
    data = _write(tmp_path, "c.csv", HEADER + "".join(rows))
    refused = run("--data", str(data), "--skip-bad-rows")
    assert refused.returncode == 2 and "gap" in refused.stderr.lower()
    accepted = run("--data", str(data), "--skip-bad-rows", "--allow-gaps")
    assert accepted.returncode == 0, accepted.stderr
    assert "skipped" in accepted.stdout


def test_reports_go_into_new_folders_and_unwritable_paths_fail_cleanly(tmp_path: Path) -> None:
    nested = tmp_path / "new" / "deeper" / "r.json"
    data = _write(tmp_path, "c.csv", HEADER + "".join(GOOD_ROWS))
    assert run("--data", str(data), "--json", str(nested)).returncode == 0
    assert json.loads(nested.read_text())["summary"]["events"] == 3
    blocker = _write(tmp_path, "file", "not a folder")
    result = run("--data", str(data), "--html", str(blocker / "r.html"))
    assert result.returncode == 2 and "cannot write the HTML report" in result.stderr
    assert "Traceback" not in result.stderr


# -- trade ticks ----------------------------------------------------------------------------

TICKS_YAML = Path(__file__).resolve().parents[2] / "src/market_maker/examples/ticks.yaml"
TRADES = SAMPLE / "btcusdt_spot_trades_sample.csv.gz"
TRADES_HEADER = "timestamp_ms,price,qty,side\n"


def test_tick_backtest_on_the_bundled_trades_writes_an_exact_report(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "ticks.json", tmp_path / "ticks.html"
    result = run(
        "--config",
        str(TICKS_YAML),
        "--trades",
        str(TRADES),
        "--json",
        str(out_json),
        "--html",
        str(out_html),
    )
    assert result.returncode == 0, result.stderr
    assert "19,904 trades" in result.stdout and "trades/s" in result.stdout
    report = json.loads(out_json.read_text())
    s = report["summary"]
    assert s["events"] == 19_904 and s["symbol"] == "BTC/USDT"
    assert report["data"]["kind"] == "trades" and report["data"]["candle_s"] == 60
    assert s["fills"] > 0 and {f["side"] for f in report["fills"]} == {"BUY", "SELL"}
    money = {key: Decimal(s[key]) for key in s if key.endswith(("_equity", "_pnl", "fees_paid"))}
    assert money["final_equity"] - money["initial_equity"] == (
        money["realized_pnl"] + money["unrealized_pnl"] - money["fees_paid"]
    )
    assert replay_fills(report).mismatches(report) == []
    assert len(report["equity_curve"]) < 1000  # thinned to about one point a second
    assert "19,904 trades" in out_html.read_text()


def test_trades_sample_uses_the_ticks_example_and_candles_sets_the_bars(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run("--trades", "sample", "--candles", "30", "--json", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["config"]["bot_id"] == "ticks" and report["summary"]["events"] == 19_904
    assert report["data"]["candle_s"] == 30 and report["data"]["candles"] > 20


def test_a_small_generic_trade_file(tmp_path: Path) -> None:
    rows = [f"{1723161600000 + 250 * i},{61800 + (i % 7) * 3 - 9},0.01,buy\n" for i in range(400)]
    data = _write(tmp_path, "t.csv", TRADES_HEADER + "".join(rows))
    out = tmp_path / "r.json"
    result = run("--trades", str(data), "--candles", "5", "--json", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["summary"]["events"] == 400 and report["data"]["candles"] == 20


TRADE_ERRORS = [
    ("with --data", ["--trades", "sample", "--data", "c.csv"], ["--trades", "--data", "c.csv"]),
    ("candles 0", ["--trades", "sample", "--candles", "0"], ["--candles", "0"]),
    ("candles -5", ["--trades", "sample", "--candles", "-5"], ["--candles", "-5"]),
    ("candles without trades", ["--candles", "60"], ["--candles", "--trades"]),
    ("missing file", ["--trades", "nope.csv.gz"], ["--trades", "nope.csv.gz"]),
    ("a folder", ["--trades", "."], ["--trades", "folder"]),
    ("a candle file", ["--trades", str(SAMPLE / "btcusdt_perp_1m_sample.csv")], ["header"]),
    ("refine 0", ["--refine", "0"], ["--refine", "0"]),
    ("refine with trades", ["--trades", "sample", "--refine", "20"], ["--refine", "20"]),
]


@pytest.mark.parametrize(("case", "args", "words"), TRADE_ERRORS, ids=[c[0] for c in TRADE_ERRORS])
def test_bad_trade_options_exit_2_naming_the_option_and_value(
    tmp_path: Path, case: str, args: list[str], words: list[str]
) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "final equity" not in result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    for word in words:
        assert word in result.stderr, (case, word, result.stderr)


# -- output paths never destroy an input or each other ------------------------------------


def _candles(tmp_path: Path) -> Path:
    return _write(tmp_path, "c.csv", HEADER + "".join(GOOD_ROWS))


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "final equity" not in result.stdout
    for word in words:
        assert word in result.stderr, (word, result.stderr)


ALIASES = ["same path", "dot-relative", "symlink", "hard link"]


@pytest.mark.parametrize("alias", ALIASES)
def test_a_report_over_the_input_data_is_refused_and_the_data_kept(
    tmp_path: Path, alias: str
) -> None:
    data = _candles(tmp_path)
    before = data.read_bytes()
    target, cwd = str(data), None
    if alias == "dot-relative":
        target, cwd = "./sub/../c.csv", tmp_path
        (tmp_path / "sub").mkdir()
    elif alias == "symlink":
        (tmp_path / "link.html").symlink_to(data)
        target = str(tmp_path / "link.html")
    elif alias == "hard link":
        os.link(data, tmp_path / "hard.html")
        target = str(tmp_path / "hard.html")
    result = run("--data", str(data), "--html", target, cwd=cwd)
    words = ["--html", "--data", target.removeprefix("./"), str(data)]
    if alias in ("dot-relative", "symlink"):
        words.append(f"(= {data})")  # where the given path leads
    _refused(result, *words)
    assert data.read_bytes() == before


def test_a_report_over_the_trades_or_the_config_is_refused(tmp_path: Path) -> None:
    trades = tmp_path / "t.csv.gz"
    trades.write_bytes(TRADES.read_bytes())
    config = tmp_path / "c.yaml"
    config.write_text(TICKS_YAML.read_text())
    before = trades.read_bytes(), config.read_text()
    _refused(run("--trades", str(trades), "--json", str(trades)), "--json", "--trades")
    _refused(
        run("--config", str(config), "--trades", "sample", "--html", str(config)),
        "--html",
        "--config",
    )
    assert (trades.read_bytes(), config.read_text()) == before


def test_two_reports_on_one_path_are_refused(tmp_path: Path) -> None:
    data = _candles(tmp_path)
    out = tmp_path / "report.out"
    _refused(run("--data", str(data), "--json", str(out), "--html", str(out)), "--json", "--html")
    assert not out.exists()


def test_an_unwritable_report_path_fails_before_the_run(tmp_path: Path) -> None:
    # Tests run as root, where permissions do not stop writes; a regular file used as a
    # folder stops everyone.
    blocker = _write(tmp_path, "somefile.txt", "not a folder")
    target = str(blocker / "report.json")
    _refused(run("--json", target), "--json", target, "not a folder")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    _refused(run("--html", str(folder)), "--html", str(folder), "folder")


def test_checking_a_report_path_changes_no_existing_file(tmp_path: Path) -> None:
    old = _write(tmp_path, "old.json", "keep me")
    new = tmp_path / "fresh" / "new.html"
    bad = _write(tmp_path, "bad.csv", "time,o,h,l,c,v\n")  # fails after the path checks
    result = run("--data", str(bad), "--json", str(old), "--html", str(new))
    _refused(result, "header")
    assert old.read_text() == "keep me" and not new.exists()


def test_refine_walks_the_candles_finer_and_reports_it(tmp_path: Path) -> None:
    """``--refine 20``: the same candles as a path 20 times finer; the grid still trades."""
    out = tmp_path / "fine.json"
    result = run("--refine", "20", "--json", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["data"] == {"kind": "candles", "interval_s": 60, "refine": 20}
    s = report["summary"]
    assert s["events"] == 4320 and s["fills"] > 1000
    final, initial = Decimal(s["final_equity"]), Decimal(s["initial_equity"])
    pnl = Decimal(s["realized_pnl"]) + Decimal(s["unrealized_pnl"]) - Decimal(s["fees_paid"])
    assert final - initial == pnl
