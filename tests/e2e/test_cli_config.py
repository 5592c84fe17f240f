"""End to end: the real ``market-maker`` command in a subprocess, as a user runs it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from market_maker import __version__
from market_maker.config.loader import default_config_path

BAD_YAML = """\
bot_id: demo
symbol: BTC/USDT
instrument:
  tick_size: 0.01
  step_size: 0.00001
grid:
  base_interval: -5
  order_qty: 0.001
  max_inventory: 0.01
  colour: blue
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m market_maker ARGS`` (the console script's code path) and capture it."""
    return subprocess.run(
        [sys.executable, "-m", "market_maker", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_YAML, encoding="utf-8")
    return path


def test_version() -> None:
    result = cli("--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"market-maker {__version__}\n"


def test_installed_console_script_runs() -> None:
    script = shutil.which("market-maker", path=str(Path(sys.executable).parent))
    assert script is not None, "`pip install -e .` must install the market-maker console script"

    result = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"market-maker {__version__}\n"


def test_validate_packaged_default_prints_every_setting() -> None:
    result = cli("config", "validate", str(default_config_path()))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
    for setting in ("bot_id", "instrument.step_size", "grid.base_interval", "grid.post_only"):
        assert setting in result.stdout
    assert "0.00001" in result.stdout  # decimals exactly as written, not 1e-05
    assert result.stderr == ""


def test_validate_bad_file_names_field_and_fix_without_traceback(bad_config: Path) -> None:
    result = cli("config", "validate", str(bad_config))

    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: grid.base_interval: must be greater than 0 (got -5)" in result.stderr
    assert "  fix: write a number > 0" in result.stderr
    assert "error: grid.colour: unknown setting (got 'blue')" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("file_name", "content", "expected"),
    [
        ("absent.yaml", None, "error: (file): the configuration file does not exist"),
        ("c.toml", "bot_id = \n", "error: (syntax): TOML syntax error"),
        ("c.yaml", "grid: : 1\n", "error: (syntax): YAML syntax error at line 1"),
        ("c.ini", "[grid]\n", "error: (file): unknown file type '.ini'"),
    ],
)
def test_validate_unusable_file_exits_2(
    tmp_path: Path, file_name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / file_name
    if content is not None:
        path.write_text(content, encoding="utf-8")

    result = cli("config", "validate", str(path))

    assert result.returncode == 2
    assert expected in result.stderr
    assert "  fix: " in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_json_prints_effective_config_with_decimal_strings() -> None:
    result = cli("config", "validate", "--json", str(default_config_path()))

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bot_id"] == "demo"
    assert data["instrument"]["step_size"] == "0.00001"
    assert data["grid"]["base_interval"] == "100"
    assert data["grid"]["mode"] == "long"
    assert data["grid"]["post_only"] is True  # a default, included
    assert data["grid"]["min_interval"] is None


def test_demo_with_bad_config_exits_2_like_validate(bad_config: Path) -> None:
    result = cli("demo", "--config", str(bad_config), "--steps", "2")

    assert result.returncode == 2
    assert "error: grid.base_interval:" in result.stderr
    assert "  fix: " in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_with_the_packaged_default() -> None:
    result = cli("demo", "--steps", "3")

    assert result.returncode == 0, result.stderr
    assert result.stdout
    assert "Traceback" not in result.stderr
