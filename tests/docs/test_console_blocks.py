"""Every command shown in a ``console`` block of README.md and docs/ works as written.

One test per block (``path:line``). A block marked ``<!-- console: not run: REASON -->``
is only parsed: each ``market-maker`` command through the real command line (an unknown
command or option fails), each ``make`` target against the Makefile. Any other block is
run, command by command, with bash, in a fresh working directory laid out like the
repository root after ``make`` (``.venv`` is the environment running the tests, ``src/``
the repository's): the exit code must be the one shown (``(exit N)``, else 0) and every
shown output line, apart from ``...`` elisions, must appear in what the command printed.
The conventions are in ``devtools/doc_checks.py``.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.doc_checks import (
    Command,
    ConsoleBlock,
    cli_problem,
    code_languages,
    console_blocks,
    documents,
    files_before,
    missing_output,
    words,
)

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = [block for doc in documents(ROOT) for block in console_blocks(doc)]
COMMAND_TIMEOUT_S = 150
"""Longest a documented command may take (the paper-trading run takes under a minute)."""
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "shell-session", "zsh"})


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m[1] for m in re.finditer(r"^([\w.-]+):", text, re.MULTILINE)}


def _problems(command: Command) -> list[str]:
    """Why the command cannot be what it claims, checked without running it."""
    argv = words(command)
    if not argv:
        return []
    program = argv[0]
    if program.endswith("market-maker"):
        if program not in ("market-maker", ".venv/bin/market-maker"):
            return [f"{program}: write .venv/bin/market-maker"]
        problem = cli_problem(argv[1:])
        return [f"{command.text}: {problem}"] if problem else []
    if program == "make":
        unknown = [t for t in argv[1:] if not t.startswith("-") and t not in _make_targets()]
        return [f"{command.text}: no Makefile target {t}" for t in unknown]
    return []


def _workdir(tmp_path: Path, block: ConsoleBlock) -> Path:
    """A directory a newcomer's shell would be in: the repository root after ``make``."""
    work = tmp_path / "repo"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (work / "src").symlink_to(ROOT / "src")
    for name in ("Makefile", "pyproject.toml", "README.md", "NOTICE"):
        shutil.copy2(ROOT / name, work / name)  # keeps mtimes: make sees the venv up to date
    for name, content in files_before(block.path, block.line).items():
        (work / name).write_text(content, encoding="utf-8")
    return work


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKET_MAKER_")}
    env.pop("PYTHONPATH", None)
    return env | {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _run(command: Command, work: Path) -> tuple[int, str]:
    text = command.text
    if words(command)[:1] == ["make"]:
        text = "make -o .venv/.installed " + text.removeprefix("make ")  # never reinstall
    # A session of its own: a command that overruns is killed with every child it started
    # (the paper-trading run starts a paper exchange process).
    with subprocess.Popen(
        ["bash", "-c", text],
        cwd=work,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            pytest.fail(f"`{command.text}` ran over {COMMAND_TIMEOUT_S} s:\n{output[-3000:]}")
    return process.returncode, output


def test_the_documents_have_console_blocks() -> None:
    run = [b for b in BLOCKS if b.not_run is None]
    assert len(BLOCKS) > 15
    assert len(run) >= 5  # some are executed, not all marked away


@pytest.mark.parametrize("block", BLOCKS, ids=[b.label(ROOT) for b in BLOCKS])
def test_console_block(block: ConsoleBlock, tmp_path: Path) -> None:
    where = block.label(ROOT)
    assert block.commands, f"{where}: a console block without a `$ ` command"
    problems = [p for c in block.commands for p in _problems(c)]
    assert not problems, f"{where}: {problems}"
    if block.not_run is not None:
        return
    work = _workdir(tmp_path, block)
    for command in block.commands:
        code, output = _run(command, work)
        assert code == command.exit_code, (
            f"{where}: `{command.text}` exited {code}, the docs say {command.exit_code}:\n"
            f"{output[-3000:]}"
        )
        missing = missing_output(command, output)
        assert not missing, f"{where}: `{command.text}` did not print {missing}:\n{output[-3000:]}"


@pytest.mark.parametrize("doc", documents(ROOT), ids=lambda d: d.relative_to(ROOT).as_posix())
def test_commands_are_in_console_blocks(doc: Path) -> None:
    shell = [line for line, info in code_languages(doc) if info in SHELL_LANGUAGES]
    assert not shell, (
        f"{doc.relative_to(ROOT)}: shell blocks at lines {shell}: write commands a reader "
        "types as ```console with `$ ` prompts (see devtools/doc_checks.py)"
    )
