"""The backtest command as a user runs it: defaults, reports, determinism and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "src/market_maker/data/sample"
HEADER = "timestamp_ms,open,high,low,close,volume\n"
GOOD_ROWS = [
    "1747180800000,103000.0,103010.0,102990.0,103005.0,10.5\n",
    "1747180860000,103005.0,103020.0,102950.0,102960.0,12.0\n",
    "1747180920000,102960.0,102990.0,102900.0,102980.0,9.0\n",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "market_maker", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
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
