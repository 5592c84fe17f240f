"""The documentation site's strict build fails on every kind of broken reference.

`make site` runs `mkdocs build --strict` on mkdocs.yml and docs/; these tests build a
temporary copy of both, first as it is (it must pass, so that the failures below come from
the defects put in), then with one defect of each kind, and check that the build fails
naming each one.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A function whose docstring documents a parameter it does not have (griffe warns).
BAD_DOCSTRING_MODULE = '''"""A module with a wrong docstring."""


def scaled(price: int) -> int:
    """Scale a price.

    Args:
        qty: not a parameter of this function.
    """
    return price
'''


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    """mkdocs.yml and docs/ copied to a temporary directory (src/ linked, not copied)."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "src").symlink_to(ROOT / "src", target_is_directory=True)
    return tmp_path


def build(site: Path) -> subprocess.CompletedProcess[str]:
    """Build the site in ``site`` strictly, as `make site` does."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(site / "mkdocs.yml"),
            "--site-dir",
            str(site / "build"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def warnings(log: str) -> list[str]:
    """The WARNING entries of a build's log, each with its continuation lines."""
    entries: list[str] = []
    for line in log.splitlines():
        if line.startswith(("INFO", "WARNING", "ERROR", "DEBUG")) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return [entry for entry in entries if entry.startswith("WARNING")]


def append(path: Path, text: str) -> None:
    """Add ``text`` at the end of the file at ``path``."""
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_site_builds_strictly(site_copy: Path) -> None:
    result = build(site_copy)
    assert result.returncode == 0, result.stderr
    assert (site_copy / "build" / "api" / "engine" / "index.html").is_file()


def test_a_broken_reference_of_each_kind_fails_the_build(site_copy: Path) -> None:
    docs = site_copy / "docs"
    append(
        docs / "design.md",
        "\nSee [a page that is gone](no_such_page.md), [a heading that is gone]"
        "(configuration.md#no-such-heading) and [a file outside docs](../README.md).\n",
    )
    (docs / "orphan.md").write_text("# Orphan\n\nIn no navigation.\n", encoding="utf-8")
    (site_copy / "extra" / "badpkg").mkdir(parents=True)
    (site_copy / "extra" / "badpkg" / "__init__.py").write_text(
        BAD_DOCSTRING_MODULE, encoding="utf-8"
    )
    config = site_copy / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "paths: [src]" in text
    config.write_text(text.replace("paths: [src]", "paths: [src, extra]"), encoding="utf-8")
    append(docs / "api" / "index.md", "\n::: badpkg\n")

    result = build(site_copy)

    assert result.returncode != 0
    warned = "\n".join(warnings(result.stdout + result.stderr))
    assert "'design.md' contains a link 'no_such_page.md', but the target is not found" in warned
    assert "'configuration.md#no-such-heading', but the doc 'configuration.md' does not" in warned
    assert "'design.md' contains a link '../README.md', but the target is not found" in warned
    assert 'not included in the "nav" configuration:\n  - orphan.md' in warned
    assert "Parameter 'qty' does not appear in the function signature" in warned


def test_an_api_page_naming_a_name_the_code_no_longer_has_fails_the_build(
    site_copy: Path,
) -> None:
    append(site_copy / "docs" / "api" / "engine.md", "\n::: market_maker.engine.base.Engin\n")

    result = build(site_copy)

    assert result.returncode != 0
    assert "Could not collect 'market_maker.engine.base.Engin'" in result.stdout + result.stderr
