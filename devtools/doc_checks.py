r"""Parse the Markdown documents for the drift checks: console blocks, links and headings.

Conventions the documents follow (checked by ``tests/docs/``):

* A command a reader types is in a fenced block with the info string ``console``; each
  command line starts with ``$ `` (a line ending in ``\`` continues on the next line).
  Other lines are the output the command shows. Each is checked against the real output
  (stdout and stderr together): one line of it must hold the shown line's text between
  ``...`` elisions, in order (whitespace runs count as one space); a line that is only
  ``...`` checks nothing, and lines the block leaves out are not checked. A line
  ``(exit N)`` right after a command's output says the command exits with code N (default 0).
* A block that cannot run here is preceded, on the line just before its fence, by
  ``<!-- console: not run: REASON -->``. Its ``market-maker`` commands are still parsed by
  the real command line (unknown commands and options fail), but not run.
* A fenced ``yaml``/``toml`` block whose first line is ``# NAME.yaml: ...`` is that file:
  the console blocks after it on the same page run with it in their working directory.
* Links between documents are relative; an anchor must name a heading of the target page
  under both GitHub's and MkDocs' (Python-Markdown ``toc``) slug rules.
"""

import contextlib
import io
import re
import shlex
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NOT_RUN = re.compile(r"^\s*<!--\s*console:\s*not run:\s*(?P<reason>.+?)\s*-->\s*$")
"""The marker of a console block that is not executed, with its reason."""
EXIT = re.compile(r"^\(exit (?P<code>\d+)\)$")
"""An output line giving the exit code a command is expected to end with."""
ELISION = "..."
"""Output elided in a console block: the text around it must appear, not what it hides."""

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
_LINK = re.compile(
    r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)"
)
_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(?P<target>\S+)")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Command:
    """One ``$ `` command of a console block with the output the document shows for it."""

    line: int
    """1-based line of the ``$ `` in its document."""
    text: str
    """The command as typed, continuation lines joined."""
    output: tuple[str, ...]
    """The output lines shown under it (without an ``(exit N)`` line)."""
    exit_code: int
    """The exit code the document promises (``(exit N)``; 0 when not shown)."""

    def argv(self) -> list[str]:
        """The command split into words the way a POSIX shell would."""
        return shlex.split(self.text, comments=True)


@dataclass(frozen=True, slots=True)
class ConsoleBlock:
    """A fenced ``console`` block of a document."""

    path: Path
    """The document holding it."""
    line: int
    """1-based line of its opening fence."""
    commands: tuple[Command, ...]
    """Its commands, in order."""
    not_run: str | None
    """Why it is not executed here (its ``<!-- console: not run: ... -->``), or None."""

    def label(self, root: Path) -> str:
        """``path:line`` relative to ``root``, the id of a test item."""
        return f"{self.path.relative_to(root).as_posix()}:{self.line}"


@dataclass(frozen=True, slots=True)
class Link:
    """A link (or image) in a document whose target is a file or an anchor."""

    path: Path
    """The document holding it."""
    line: int
    """1-based line of the link."""
    target: str
    """The target as written: ``page.md``, ``page.md#anchor`` or ``#anchor``."""


def documents(root: Path) -> list[Path]:
    """README.md and every Markdown page under docs/, sorted."""
    pages = sorted((root / "docs").rglob("*.md"))
    readme = root / "README.md"
    return ([readme] if readme.exists() else []) + pages


def _fenced(lines: list[str]) -> Iterator[tuple[int, int, str]]:
    """(first line index, closing line index, info string) of every fenced block."""
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence = match["fence"]
        end = i + 1
        while end < len(lines):
            close = lines[end].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            end += 1
        yield i, end, match["info"]
        i = end + 1


def _commands(body: list[str], first_line: int) -> tuple[Command, ...]:
    commands: list[Command] = []
    i = 0
    while i < len(body):
        line = body[i].strip()
        if not line.startswith("$ "):
            i += 1  # output before any command: a malformed block, the test names it
            continue
        start = i
        text = line[2:]
        while text.endswith("\\") and i + 1 < len(body):
            i += 1
            text = text[:-1].rstrip() + " " + body[i].strip()
        i += 1
        output: list[str] = []
        while i < len(body) and not body[i].strip().startswith("$ "):
            output.append(body[i].strip())
            i += 1
        exit_code = 0
        while output and not output[-1]:
            output.pop()
        if output and (code := EXIT.match(output[-1])):
            exit_code = int(code["code"])
            output.pop()
        commands.append(Command(first_line + start, text, tuple(output), exit_code))
    return tuple(commands)


def console_blocks(path: Path) -> list[ConsoleBlock]:
    """Every fenced ``console`` block of the document at ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for start, end, info in _fenced(lines):
        if info != "console":
            continue
        marker = NOT_RUN.match(lines[start - 1]) if start > 0 else None
        commands = _commands(lines[start + 1 : end], start + 2)
        blocks.append(ConsoleBlock(path, start + 1, commands, marker["reason"] if marker else None))
    return blocks


def code_languages(path: Path) -> list[tuple[int, str]]:
    """(1-based line, info string) of every fenced block of the document at ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(start + 1, info) for start, _, info in _fenced(lines)]


def output_fragments(line: str) -> list[str]:
    """The parts of a shown output line that must appear in the real output."""
    return [part.strip() for part in line.split(ELISION) if part.strip()]


def _in_order(fragments: list[str], line: str) -> bool:
    at = 0
    for fragment in fragments:
        found = line.find(fragment, at)
        if found < 0:
            return False
        at = found + len(fragment)
    return True


def missing_output(command: Command, actual: str) -> list[str]:
    """The shown output lines that no line of the actual output matches.

    A shown line matches an actual line holding its fragments (the text between ``...``
    elisions) in order; runs of whitespace count as one space on both sides.
    """
    lines = [" ".join(line.split()) for line in actual.splitlines()]
    missing = []
    for shown in command.output:
        fragments = [" ".join(f.split()) for f in output_fragments(shown)]
        if fragments and not any(_in_order(fragments, line) for line in lines):
            missing.append(shown)
    return missing


def _outside_fences(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, line) of the lines outside fenced blocks."""
    inside = {i for start, end, _ in _fenced(lines) for i in range(start, end + 1)}
    return ((i, line) for i, line in enumerate(lines) if i not in inside)


def _prose_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, line) of the lines outside fenced blocks, inline code removed."""
    return ((i, _INLINE_CODE.sub("", line)) for i, line in _outside_fences(lines))


def links(path: Path) -> list[Link]:
    """Every link and image of the document that is not an http(s)/mailto URL."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in _prose_lines(lines):
        targets = [m["target"].strip("<>") for m in _LINK.finditer(line)]
        targets += [m["target"] for m in _IMAGE.finditer(line)]
        if ref := _REF_DEF.match(line):
            targets.append(ref["target"])
        found += [
            Link(path, i + 1, t)
            for t in targets
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)
        ]
    return found


def _heading_text(raw: str) -> str:
    """The text a heading renders to: code spans, emphasis and link syntax removed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text)
    return text.replace("`", "").replace("**", "").replace("__", "")


def headings(path: Path) -> list[str]:
    """The rendered text of every ATX heading outside fenced blocks, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        _heading_text(match["text"])
        for _, line in _outside_fences(lines)
        if (match := _HEADING.match(line))
    ]


def github_slug(text: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, each space a ``-``."""
    text = text.strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return text.replace(" ", "-")


def mkdocs_slug(text: str) -> str:
    """MkDocs' anchor of a heading (Python-Markdown's ``toc.slugify``).

    Non-ASCII letters are dropped and runs of spaces and hyphens become one ``-``.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(path: Path, style: str) -> set[str]:
    """The anchors of the headings of a page under ``style`` ``github`` or ``mkdocs``.

    A repeated slug gets a suffix: ``-1``, ``-2`` on GitHub, ``_1``, ``_2`` in MkDocs.
    """
    slug, sep = (github_slug, "-") if style == "github" else (mkdocs_slug, "_")
    seen: dict[str, int] = {}
    found: set[str] = set()
    for text in headings(path):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}{sep}{count}")
    return found


def broken_link(link: Link, root: Path) -> str | None:
    """Why ``link`` does not resolve (missing file, missing anchor), or None when it does."""
    target, _, anchor = link.target.partition("#")
    page = link.path if not target else (link.path.parent / target).resolve()
    if not page.exists():
        return f"{target}: no such file"
    docs = (root / "docs").resolve()
    if link.path.resolve().is_relative_to(docs) and not page.is_relative_to(docs):
        return f"{target}: outside docs/ (the MkDocs site cannot follow it; use a GitHub URL)"
    if not anchor:
        return None
    if page.suffix != ".md":
        return f"#{anchor}: an anchor into a file that is not Markdown"
    if re.search(r"^:::\s", page.read_text(encoding="utf-8"), re.MULTILINE):
        return None  # a mkdocstrings page: its anchors come from the docstrings it renders
    missing = [style for style in ("github", "mkdocs") if anchor not in anchors(page, style)]
    if missing:
        return f"#{anchor}: no heading of {page.name} has this anchor on {' or '.join(missing)}"
    return None


_FILE_COMMENT = re.compile(r"^#\s*(?P<name>[\w.-]+\.(?:ya?ml|toml)):")
_SHELL_OPERATORS = frozenset({"|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1"})


def files_before(path: Path, line: int) -> dict[str, str]:
    """The files a document writes out before ``line``: name -> content.

    A fenced ``yaml``/``toml`` block whose first line is a comment ``# NAME.yaml: ...`` is
    the file NAME.yaml; a later one of the same name replaces it. The console blocks after
    it run with these files in their working directory, as a reader who followed the page.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}
    for start, end, info in _fenced(lines):
        if start + 1 >= line or info not in ("yaml", "yml", "toml") or end <= start + 1:
            continue
        if match := _FILE_COMMENT.match(lines[start + 1].strip()):
            found[match["name"]] = "\n".join(lines[start + 1 : end]) + "\n"
    return found


def words(command: Command) -> list[str]:
    """The words of the command's first program: env assignments and pipes left out."""
    argv = command.argv()
    while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
        argv = argv[1:]
    for i, word in enumerate(argv):
        if word in _SHELL_OPERATORS:
            return argv[:i]
    return argv


def cli_problem(args: list[str]) -> str | None:
    """Why the real ``market-maker`` command line refuses ``args``, or None if it parses.

    Parses with click as the CLI would, without running the command: an unknown command,
    an unknown option, a missing option value or a value of the wrong type is a problem. A
    path that does not exist here (the reader's own file) and a missing required option
    (a placeholder) are not: the command and its options exist.
    """
    import typer
    import typer.core

    from market_maker.cli.main import app

    command = typer.main.get_command(app)
    name, parent, rest = "market-maker", None, list(args)
    while True:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # --version prints as it parses
                ctx = command.make_context(name, rest, parent=parent)
        except typer.Exit:
            return None  # --help, --version: eager options that end the parse
        except typer.BadParameter as exc:
            message = exc.format_message()
            # typer vendors click: its MissingParameter is not exported, tell it by name.
            placeholder = type(exc).__name__ == "MissingParameter"
            return None if placeholder or "does not exist" in message else message
        except typer.TyperException as exc:  # click's UsageError and its kin
            return exc.format_message()
        if not isinstance(command, typer.core.TyperGroup):
            return None
        remaining = [*ctx._protected_args, *ctx.args]  # click keeps the sub-command here
        if not remaining:
            return None
        try:
            sub_name, sub, rest = command.resolve_command(ctx, remaining)
        except typer.TyperException as exc:  # no such command
            return exc.format_message()
        if sub is None or sub_name is None:
            return f"no such command {remaining[0]!r}"
        command, name, parent = sub, sub_name, ctx
