"""The drift checks fail when the code grows something the docs do not show.

Each test copies the sources the docs are generated from (proto/, src/, devtools/,
scripts/, docs/) to a temporary directory, adds one thing there (a proto field, a
configuration field or section, a metric, a slot transition), and runs the real check,
``python scripts/gen_docs.py --check``, on the copy with the copy's ``src/`` first on the
path. The check must exit 1 naming the page; after the generator has run in the copy
(``make docs``) it must pass, and the new thing must be on the page.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("proto", "src", "devtools", "scripts", "docs")
TIMEOUT_S = 60


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the sources the generated docs come from."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
    for name in COPIED:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    return tmp_path


def _python(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(copy / "src"), str(copy)])
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _check(copy: Path) -> subprocess.CompletedProcess[str]:
    return _python(copy, "scripts/gen_docs.py", "--check")


def _generate(copy: Path) -> subprocess.CompletedProcess[str]:
    return _python(copy, "scripts/gen_docs.py")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _assert_drift_caught(copy: Path, page: str, row: str) -> None:
    """The check fails naming ``page``; after ``make docs`` it passes and shows ``row``."""
    before = _check(copy)
    assert before.returncode == 1, before.stdout + before.stderr
    assert f"stale: {page}" in before.stdout
    assert "run `make docs`" in before.stderr
    written = _generate(copy)
    assert written.returncode == 0, written.stdout + written.stderr
    assert f"wrote: {page}" in written.stdout
    after = _check(copy)
    assert (after.returncode, after.stdout) == (0, ""), after.stderr
    assert row in (copy / page).read_text(encoding="utf-8")


def test_the_copy_starts_fresh(copy: Path) -> None:
    result = _check(copy)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


BALANCE_LAST_FIELD = "  string locked = 3;\n"


def test_a_commented_proto_field_makes_the_reference_stale(copy: Path) -> None:
    _edit(
        copy / "proto/market_maker/pb/account.proto",
        BALANCE_LAST_FIELD,
        BALANCE_LAST_FIELD + "  // Amount on its way out, decimal string.\n  string leaving = 4;\n",
    )
    _assert_drift_caught(
        copy,
        "docs/reference/protobuf.md",
        "| `leaving` | `string` | 4 | Amount on its way out, decimal string. |",
    )


def test_a_proto_field_without_a_comment_fails_until_it_has_one(copy: Path) -> None:
    proto = copy / "proto/market_maker/pb/account.proto"
    _edit(proto, BALANCE_LAST_FIELD, BALANCE_LAST_FIELD + "  string leaving = 4;\n")
    before = _check(copy)
    assert before.returncode == 1
    assert "stale: docs/reference/protobuf.md" in before.stdout
    assert "undocumented: docs/reference/protobuf.md: | `leaving` | `string` | 4 |  |" in (
        before.stdout
    )
    written = _generate(copy)  # the page is written, but generating does not make it pass
    assert written.returncode == 1
    assert "undocumented:" in written.stdout
    assert _check(copy).returncode == 1
    _edit(proto, "  string leaving = 4;\n", "  // Amount on its way out.\n  string leaving = 4;\n")
    _assert_drift_caught(
        copy, "docs/reference/protobuf.md", "| `leaving` | `string` | 4 | Amount on its way out. |"
    )


def test_a_config_field_makes_the_configuration_reference_stale(copy: Path) -> None:
    _edit(
        copy / "src/market_maker/config/operations.py",
        "    http_enabled: bool = Field(",
        '    drain_s: int = Field(5, ge=0, le=60, description="Seconds to drain.")\n'
        "    http_enabled: bool = Field(",
    )
    _assert_drift_caught(
        copy,
        "docs/configuration.md",
        "| `operations.drain_s` | int | `5` | ≥ 0, ≤ 60 | Seconds to drain. |",
    )


def test_a_new_config_section_makes_the_configuration_reference_stale(copy: Path) -> None:
    app = copy / "src/market_maker/config/app.py"
    _edit(
        app,
        "class AppConfig(BaseModel):",
        "class TuningConfig(BaseModel):\n"
        '    """A section nobody listed."""\n\n'
        '    model_config = ConfigDict(frozen=True, extra="forbid")\n\n'
        '    mode: Literal["fast", "slow"] = Field("fast", description="How to tune.")\n\n\n'
        "class AppConfig(BaseModel):",
    )
    _edit(app, "from typing import Self", "from typing import Literal, Self")
    _edit(
        app,
        "    operations: OperationsConfig = Field(",
        '    tuning: TuningConfig = Field(default_factory=TuningConfig, description="Tuning.")\n'
        "    operations: OperationsConfig = Field(",
    )
    _assert_drift_caught(
        copy,
        "docs/configuration.md",
        "| `tuning.mode` | one of `fast`, `slow` | `fast` | — | How to tune. |",
    )


def test_a_config_field_without_a_description_fails(copy: Path) -> None:
    _edit(
        copy / "src/market_maker/config/operations.py",
        "    http_enabled: bool = Field(",
        "    drain_s: int = 5\n    http_enabled: bool = Field(",
    )
    assert _generate(copy).returncode == 1
    result = _check(copy)
    assert result.returncode == 1
    assert "undocumented: docs/configuration.md: `operations.drain_s`" in result.stdout


def test_a_metric_makes_the_metrics_reference_stale(copy: Path) -> None:
    _edit(
        copy / "devtools/bot_metrics.py",
        '        MetricFamily("market_maker_equity", g, _QUOTE, "Account equity"),',
        '        MetricFamily("market_maker_equity", g, _QUOTE, "Account equity"),\n'
        '        MetricFamily("market_maker_margin", g, _QUOTE, "Margin in use"),',
    )
    _assert_drift_caught(copy, "docs/metrics.md", "`market_maker_margin`")


def test_a_metric_registered_but_not_catalogued_fails_the_catalogue_test(copy: Path) -> None:
    """The registry side: the catalogue (hence the docs) must name what the bot registers."""
    tests = copy / "tests"
    tests.mkdir()
    shutil.copy(ROOT / "tests/unit/ops/test_metrics_catalogue.py", tests)
    run = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_metrics_catalogue.py")
    assert _python(copy, *run).returncode == 0
    _edit(
        copy / "src/market_maker/ops/metrics.py",
        '        self.up = gauge("market_maker_up", "1 while the bot\'s process serves metrics.")',
        '        self.up = gauge("market_maker_up", "1 while the bot\'s process serves metrics.")\n'
        '        self.margin = gauge("market_maker_margin", "Margin in use.")',
    )
    result = _python(copy, *run)
    assert result.returncode == 1, result.stdout
    assert "market_maker_margin" in result.stdout


def test_a_slot_transition_makes_the_transition_table_stale(copy: Path) -> None:
    _edit(
        copy / "src/market_maker/slots/machine.py",
        "    (_FREE, SlotEvent.SEND): _PENDING,\n",
        "    (_FREE, SlotEvent.SEND): _PENDING,\n    (_FREE, SlotEvent.RELEASE): _FREE,\n",
    )
    _assert_drift_caught(copy, "docs/technical_reference.md", "| `FREE` | `RELEASE` | `FREE` |")
