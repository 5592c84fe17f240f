"""Every mention of an engine in the docs carries its label.

The Simple engine is *Development / Backtest* and the Durable engine *Production*, wherever
they appear (issue 15). The rule, per Markdown file:

* The text is cut into **blocks**: a heading line; a table row; a list item (with its
  indented continuation lines); otherwise a paragraph (lines up to a blank line, a heading,
  a table row or a list item). Fenced code blocks (Mermaid diagrams included) are skipped.
* A **section** is what follows a heading up to the next heading of any level.
* A block that mentions ``Simple engine`` (any case) is labelled when the exact words
  ``Development / Backtest`` appear in the block itself, in a heading that encloses it (its
  own section's heading or a higher-level one above it: a page titled with the label
  labels the whole page), or in an earlier block of the same section that mentions the
  Simple engine (the section's first mention carries the label, later ones need not
  repeat it). Likewise ``Durable engine`` with ``Production``.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LABELS = {
    "Simple engine": "Development / Backtest",
    "Durable engine": "Production",
}
"""Engine name -> the label its mentions carry (matched exactly, capitals included)."""

PENDING_LEAD: dict[str, str] = {}
"""Files still waiting for their labels, and whose edit that is. Each is an expected
failure that must fail (strict): once labelled, it passes, and its entry here has to go."""

_HEADING = re.compile(r"^(#{1,6})\s")
_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a Markdown page.

    Attributes:
        line: Its first line number (1-based).
        text: Its text.
        headings: The headings enclosing it, outermost first (a heading block encloses
            itself).
        section: Index of its section (blocks under the same heading share it).
    """

    line: int
    text: str
    headings: tuple[str, ...]
    section: int


def blocks(markdown: str) -> list[Block]:
    """Cut ``markdown`` into blocks, as the module docstring defines them."""
    out: list[Block] = []
    chain: list[tuple[int, str]] = []  # (level, heading) enclosing the current line
    section = 0
    current: list[str] = []
    start = 0
    fenced = False

    def flush() -> None:
        if current:
            headings = tuple(h for _, h in chain)
            out.append(Block(start, "\n".join(current), headings, section))
            current.clear()

    for number, line in enumerate(markdown.splitlines(), start=1):
        if _FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip():
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            while chain and chain[-1][0] >= level:
                chain.pop()
            chain.append((level, line))
            section += 1
            start = number
            current.append(line)
            flush()
            continue
        if line.lstrip().startswith("|") or _ITEM.match(line):
            flush()
        if not current:
            start = number
        current.append(line)
    flush()
    return out


def unlabelled(markdown: str) -> list[str]:
    """The mentions of an engine that carry no label: ``line N: engine: text``."""
    problems: list[str] = []
    labelled_in_section: set[tuple[int, str]] = set()
    for block in blocks(markdown):
        for engine, label in LABELS.items():
            if engine.lower() not in block.text.lower():
                continue
            if label in block.text:
                labelled_in_section.add((block.section, engine))
                continue
            if any(label in h for h in block.headings):
                continue
            if (block.section, engine) in labelled_in_section:
                continue
            first = block.text.strip().splitlines()[0]
            problems.append(f"line {block.line}: {engine} without {label!r}: {first[:90]}")
    return problems


def _pages() -> list[str]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p.relative_to(ROOT).as_posix() for p in pages]


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=pytest.mark.xfail(reason=PENDING_LEAD[p], strict=True))
        if p in PENDING_LEAD
        else p
        for p in _pages()
    ],
)
def test_engine_mentions_carry_their_label(page: str) -> None:
    problems = unlabelled((ROOT / page).read_text(encoding="utf-8"))
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_the_pending_files_exist() -> None:
    pages = set(_pages())
    assert set(PENDING_LEAD) <= pages, "a pending file was renamed or removed: update the list"


_SAMPLE = """\
# Engines

The **Simple engine** (*Development / Backtest*) is fast. The Simple engine again.

Another paragraph of the same section on the Simple engine.

## Durable engine — Production

The Durable engine survives crashes.

### Recovery

The Durable engine recovers its workflows.

## Mixed

- the Simple engine runs backtests
- the Durable engine runs the bot, *Production*
- the Durable engine again, labelled by the item above

## Table

| engine | use |
|---|---|
| Durable engine | live |
| Simple engine, *Development / Backtest* | backtests |

```console
$ the Simple engine in a code block is not a mention
```
"""


def test_the_rule() -> None:
    problems = unlabelled(_SAMPLE)
    lines = _SAMPLE.splitlines()
    expected = [
        lines.index("- the Simple engine runs backtests") + 1,  # a new section: a new label
        lines.index("| Durable engine | live |") + 1,  # a table row is a block of its own
    ]
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in expected]
    assert "Simple engine without 'Development / Backtest'" in problems[0]
    assert "Durable engine without 'Production'" in problems[1]


def test_the_label_is_matched_exactly() -> None:
    assert unlabelled("The Durable engine (*production*).")  # lower case is not the label
    assert not unlabelled("The Durable engine (*Production*).")


def test_blocks_keep_headings_and_sections() -> None:
    found = blocks(_SAMPLE)
    recovery = next(b for b in found if b.text.startswith("The Durable engine recovers"))
    assert recovery.headings == (
        "# Engines",
        "## Durable engine — Production",
        "### Recovery",
    )
    items = [b.text for b in found if b.text.startswith("- ")]
    assert len(items) == 3
    assert not any("code block" in b.text for b in found)
