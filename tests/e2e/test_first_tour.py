"""The operations guide's first tour, walked command by command as the guide shows it.

The commands are read from the guide's section "A first tour" (its console blocks, in
order) and run in a working directory laid out like the repository root, with the
`bot.yaml` of step 2: the paper exchange and the bot in the background (terminals 1 and
2), everything else in the foreground (terminal 3), each checked against the exit code and
the output the guide shows. Only the ports differ from the page (free ones, so a bot of
the developer's own is never disturbed), and `pkill -9 -f PATTERN` kills this test's bot,
after checking that the pattern the guide gives matches its command line.
"""

import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from devtools.doc_checks import Command, console_blocks, missing_output, words
from tests.docs.test_console_blocks import _environment, _workdir
from tests.support.paper_binance import wait_until
from tests.support.prometheus import free_port

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations_guide.md"
SECTION = "### A first tour"
PAGE_EXCHANGE_PORT, PAGE_OPS_PORT = "8765", "9309"


def tour_commands() -> tuple[Any, list[Command]]:
    """The first block of the tour (for its working directory) and every tour command."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines, 1) if line.startswith(SECTION))
    end = next(i for i, line in enumerate(lines, 1) if i > start and line.startswith("### "))
    blocks = [b for b in console_blocks(GUIDE) if start < b.line < end]
    assert blocks, f"no console block under {SECTION!r}"
    return blocks[0], [c for b in blocks for c in b.commands]


@dataclass
class Background:
    """A command of terminal 1 or 2, running until it is stopped."""

    command: Command
    process: subprocess.Popen[str]
    log: Path
    handle: IO[str] = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class Tour:
    """Runs the guide's commands with the ports of this test."""

    def __init__(self, tmp_path: Path) -> None:
        first, self.commands = tour_commands()
        self.work = _workdir(tmp_path, first)
        self.exchange_port, self.ops_port = str(free_port()), str(free_port())
        bot = self.work / "bot.yaml"
        text = bot.read_text(encoding="utf-8")
        assert f"127.0.0.1:{PAGE_EXCHANGE_PORT}" in text, "step 2's bot.yaml changed its url"
        text = text.replace(PAGE_EXCHANGE_PORT, self.exchange_port)
        bot.write_text(text + f"operations:\n  http_port: {self.ops_port}\n", encoding="utf-8")
        self.background: dict[str, Background] = {}
        self.env = _environment()

    def ported(self, text: str) -> str:
        return text.replace(PAGE_EXCHANGE_PORT, self.exchange_port).replace(
            PAGE_OPS_PORT, self.ops_port
        )

    def start(self, command: Command, name: str) -> Background:
        if (previous := self.background.get(name)) is not None:
            assert previous.process.poll() is not None, f"{name} is still running"
            previous.handle.close()
        log = self.work / f"{name}-{len(self.background)}.log"
        handle = log.open("w", encoding="utf-8")
        process = subprocess.Popen(
            ["bash", "-c", f"exec {self.ported(command.text)}"],
            cwd=self.work,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        running = Background(command, process, log, handle)
        self.background[name] = running
        shown = [self.ported(line) for line in command.output]
        wait_until(
            lambda: (
                self._alive(running)
                and not missing_output(
                    Command(command.line, command.text, tuple(shown), 0), running.output()
                )
            ),
            f"`{command.text}` to show {shown}",
            60,
        )
        return running

    def _alive(self, running: Background) -> bool:
        if running.process.poll() is not None:
            raise AssertionError(
                f"`{running.command.text}` exited {running.process.returncode}:\n"
                f"{running.output()[-3000:]}"
            )
        return True

    def run(self, command: Command) -> str:
        result = subprocess.run(
            ["bash", "-c", self.ported(command.text)],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output
        assert result.returncode == command.exit_code, f"`{command.text}`:\n{output}"
        shown = Command(command.line, command.text, tuple(map(self.ported, command.output)), 0)
        assert missing_output(shown, output) == [], f"`{command.text}` printed:\n{output}"
        return output

    def crash(self, command: Command) -> None:
        """``pkill -9 -f PATTERN``: the guide's pattern must name the bot; kill only ours."""
        argv = words(command)
        assert argv[:3] == ["pkill", "-9", "-f"], argv
        bot = self.background["bot"]
        cmdline = Path(f"/proc/{bot.process.pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert argv[3].encode() in cmdline, (argv[3], cmdline)
        bot.process.send_signal(signal.SIGKILL)
        assert bot.process.wait(30) == -signal.SIGKILL

    def status(self) -> dict[str, Any]:
        """``status --json``; empty while the bot has not created its database yet."""
        result = subprocess.run(
            [str(self.work / ".venv/bin/market-maker"), "status", "--config", "bot.yaml", "--json"],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode == 2 and "no state for bot" in result.stderr:
            return {}
        assert result.returncode == 0, result.stdout + result.stderr
        return dict(json.loads(result.stdout))

    def close(self) -> None:
        for running in self.background.values():
            if running.process.poll() is None:
                os.killpg(running.process.pid, signal.SIGKILL)
                running.process.wait(30)
            running.handle.close()


def test_the_first_tour_works_as_the_guide_shows_it(tmp_path: Path) -> None:
    tour = Tour(tmp_path)
    kinds: list[str] = []
    try:
        for command in tour.commands:
            argv = words(command)
            verb = argv[1] if argv[0].endswith("market-maker") else argv[0]
            kinds.append(verb)
            if verb == "paper-exchange":
                tour.start(command, "exchange")
            elif verb == "run":
                tour.start(command, "bot")
                # the reader watches it trade before the next step: the first grid rests
                wait_until(
                    lambda: (
                        (now := tour.status()).get("running") is True
                        and bool(now.get("open_orders"))
                    ),
                    "the bot running with its grid",
                    60,
                )
            elif verb == "pkill":
                tour.crash(command)
            else:
                tour.run(command)
            if argv[1:3] == ["risk", "halt"]:
                # the kill switch acted at once: only closing orders are left
                roles = {o["role"] for o in tour.status()["open_orders"]}
                assert roles <= {"CLOSE"}, roles
        bot = tour.background["bot"]
        assert bot.process.wait(60) == 0, bot.output()[-3000:]
        assert "stopped after" in bot.output() and "state saved in" in bot.output()
    finally:
        tour.close()
    # the tour did what its prose promises, in this order
    assert kinds == [
        "paper-exchange",
        "run",
        "status",
        "curl",
        "risk",
        "status",
        "risk",
        "pkill",
        "status",
        "run",
        "status",
        "stop",
    ], kinds
