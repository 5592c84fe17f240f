"""End to end: ``scripts/screenshots.py`` writes both README pictures, as ``make screenshots``.

The script runs as a subprocess, as the Makefile runs it, into the test's folder, with a
shorter and faster replay for the dashboard (``--candles``, ``--speed``) so that the test
stays within two minutes. Each picture must be a PNG of the standard width and a plausible
height; the dashboard must have been taken with the slot table filled in; no process of
the script's is left running, also when the paper exchange dies half-way.
"""

import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.paper_binance import wait_until

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshots.py"
CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG: {head[:8]!r}"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert (length, kind) == (13, b"IHDR"), (length, kind)
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def processes() -> dict[int, tuple[int, str]]:
    """Every running process: pid -> (parent pid, command line)."""
    found = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            args = (folder / "cmdline").read_bytes().split(b"\0")
            stat = (folder / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(folder.name)] = (parent, b" ".join(args).decode(errors="replace"))
    return found


def script_processes(marker: Path) -> list[str]:
    """Command lines of running processes that mention ``marker`` (the script's folder)."""
    return [line for _, line in processes().values() if str(marker) in line]


def test_the_script_writes_both_pictures(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "install Debian's chromium: scripts/ensure_chromium.sh"
    out = tmp_path / "images"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--candles", "90", "--speed", "15"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    report, dashboard = out / "backtest_report.png", out / "dashboard.png"
    assert sorted(p.name for p in out.iterdir()) == [report.name, dashboard.name]
    report_size, dashboard_size = png_size(report), png_size(dashboard)
    assert report_size[0] == WIDTH
    assert 1000 < report_size[1] < 3000, report_size  # the summary and charts, not the fills
    assert dashboard_size[0] == WIDTH
    assert dashboard_size[1] > 900, dashboard_size  # the whole page, down to the slot table
    for picture in (report, dashboard):
        assert 30_000 < picture.stat().st_size < 600_000, (picture, picture.stat().st_size)

    # it says what it wrote: the pixel sizes match the files, the dashboard showed slots
    wrote = re.findall(r"wrote (\S+) \((\d+)x(\d+) px, \d+ KB(?:, (\d+) slot rows)?\)", done.stdout)
    assert [(Path(p).name, int(w), int(h)) for p, w, h, _ in wrote] == [
        (report.name, *report_size),
        (dashboard.name, *dashboard_size),
    ], done.stdout
    assert int(wrote[1][3]) > 0, done.stdout
    # the exchange and the bot it started are gone (their command lines name its folder)
    assert script_processes(Path(tempfile.gettempdir()) / "screenshots-") == []


def test_a_failure_half_way_leaves_no_process_behind(tmp_path: Path) -> None:
    out = tmp_path / "images"
    script = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--out", str(out), "--only", "dashboard", "--speed", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        children: dict[str, tuple[int, str]] = {}

        def both_started() -> bool:
            for pid, (parent, line) in processes().items():
                if parent == script.pid and " paper-exchange " in line:
                    children["exchange"] = (pid, line)
                if parent == script.pid and " run --config " in line:
                    children["bot"] = (pid, line)
            assert script.poll() is None, script.communicate()
            return len(children) == 2

        wait_until(both_started, "the script's paper exchange and bot", 90)
        os.kill(children["exchange"][0], signal.SIGKILL)  # the exchange dies under the bot
        _, err = script.communicate(timeout=120)
    finally:
        if script.poll() is None:
            script.kill()
            script.communicate()

    assert script.returncode == 1, err
    assert err.startswith("screenshots: "), err
    assert "Traceback" not in err, err
    assert not (out / "dashboard.png").exists()
    bot_config = Path(children["bot"][1].split(" --config ")[1].split()[0])
    assert bot_config.parent.name.startswith("screenshots-"), bot_config
    assert script_processes(bot_config.parent) == []  # the bot was stopped too
    assert not bot_config.parent.exists()  # and the temporary folder removed
