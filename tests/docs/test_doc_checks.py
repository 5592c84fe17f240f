"""The parsing behind the console-block check: blocks, commands, output and the CLI check."""

from pathlib import Path

from devtools.doc_checks import (
    cli_problem,
    console_blocks,
    files_before,
    missing_output,
    words,
)

PAGE = """\
# Page

```yaml
# bot.yaml: a bot
bot_id: a
```

<!-- console: not run: needs a live exchange -->
```console
$ .venv/bin/market-maker run --config bot.yaml &   # until Ctrl-C
```

```console
$ .venv/bin/market-maker backtest \\
    --refine 20
ok: 12 fills ... in 3.2 s
...
(exit 1)
$ PYTHONPATH=x .venv/bin/market-maker --version | head -1
```
"""


def test_console_blocks_and_their_commands(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    first, second = console_blocks(page)
    assert (first.line, first.not_run) == (9, "needs a live exchange")
    assert words(first.commands[0]) == [".venv/bin/market-maker", "run", "--config", "bot.yaml"]
    assert second.not_run is None
    backtest, version = second.commands
    assert (backtest.line, backtest.text) == (14, ".venv/bin/market-maker backtest --refine 20")
    assert (backtest.output, backtest.exit_code) == (("ok: 12 fills ... in 3.2 s", "..."), 1)
    assert (version.exit_code, words(version)) == (0, [".venv/bin/market-maker", "--version"])
    assert files_before(page, 9) == {"bot.yaml": "# bot.yaml: a bot\nbot_id: a\n"}
    assert files_before(page, 3) == {}


def test_shown_output_is_matched_around_elisions(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    backtest = console_blocks(page)[1].commands[0]
    assert missing_output(backtest, "x\nok:  12 fills, 3 orders in 3.2 s\n") == []
    shown = "ok: 12 fills ... in 3.2 s"
    assert missing_output(backtest, "ok: 11 fills in 3.2 s") == [shown]
    assert missing_output(backtest, "in 3.2 s, ok: 12 fills") == [shown]  # out of order
    assert missing_output(backtest, "ok: 12 fills\nin 3.2 s") == [shown]  # not one line


def test_the_real_cli_refuses_unknown_commands_and_options() -> None:
    assert cli_problem(["backtest", "--refine", "20", "--json", "a.json"]) is None
    assert cli_problem(["slot", "release", "103665.0", "--config", "missing.yaml"]) is None
    assert cli_problem(["--version"]) is None
    assert (cli_problem(["backtest", "--refin", "20"]) or "").startswith("No such option: --refin")
    assert (cli_problem(["risk", "rest"]) or "").startswith("No such command 'rest'.")
    assert cli_problem(["bogus"]) == "No such command 'bogus'."
    assert "unexpected extra argument" in (cli_problem(["demo", "extra"]) or "")
    assert "Invalid value for '--steps'" in (cli_problem(["demo", "--steps", "x"]) or "")
