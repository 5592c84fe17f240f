"""Every relative link in README.md and docs/ resolves to a file, and every anchor to a heading.

Anchors must resolve under both GitHub's slugs (the README and docs read on GitHub) and
MkDocs' (the documentation site): where the two rules disagree on a heading, a link to it
breaks on one of them.
"""

from pathlib import Path

import pytest

from devtools.doc_checks import (
    Link,
    anchors,
    broken_link,
    documents,
    github_slug,
    links,
    mkdocs_slug,
)

ROOT = Path(__file__).resolve().parents[2]
LINKS = [link for doc in documents(ROOT) for link in links(doc)]


def test_the_documents_have_links() -> None:
    assert len(LINKS) > 50  # the parser finds them; an empty list would pass vacuously


@pytest.mark.parametrize(
    "link", LINKS, ids=[f"{x.path.relative_to(ROOT)}:{x.line}:{x.target}" for x in LINKS]
)
def test_link_resolves(link: Link) -> None:
    assert broken_link(link, ROOT) is None, (
        f"{link.path.relative_to(ROOT)}:{link.line}: {broken_link(link, ROOT)}"
    )


@pytest.mark.parametrize(
    ("heading", "github", "mkdocs"),
    [
        ("Run a backtest", "run-a-backtest", "run-a-backtest"),
        ("`market-maker status` / `stop`", "market-maker-status--stop", "market-maker-status-stop"),
        ("Slots: what, why?", "slots-what-why", "slots-what-why"),
        ("The USDⓈ-M account", "the-usd-m-account", "the-usds-m-account"),
        ("snake_case_field", "snake_case_field", "snake_case_field"),
    ],
)
def test_slug_rules(heading: str, github: str, mkdocs: str) -> None:
    assert (github_slug(heading), mkdocs_slug(heading)) == (github, mkdocs)


def _page(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "docs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_links_are_named(tmp_path: Path) -> None:
    target = _page(tmp_path, "b.md", "# Title\n\n## `a` / b\n\n## Same\n\n## Same\n")
    page = _page(
        tmp_path,
        "a.md",
        "[ok](b.md#title) [gone](c.md) [slash](b.md#a--b) [dup](b.md#same-1)\n"
        "```\n[in code](nowhere.md)\n```\n`[inline](nowhere.md)` [web](https://x.org/y)\n"
        "[up](../README.md)\n",
    )
    (tmp_path / "README.md").write_text("# R\n", encoding="utf-8")
    found = {link.target: broken_link(link, tmp_path) for link in links(page)}
    assert found == {
        "b.md#title": None,
        "c.md": "c.md: no such file",
        "b.md#a--b": "#a--b: no heading of b.md has this anchor on mkdocs",
        "b.md#same-1": "#same-1: no heading of b.md has this anchor on mkdocs",
        "../README.md": "../README.md: outside docs/ (the MkDocs site cannot follow it; "
        "use a GitHub URL)",
    }
    assert anchors(target, "mkdocs") == {"title", "a-b", "same", "same_1"}


def test_anchors_into_api_pages_are_left_to_mkdocstrings(tmp_path: Path) -> None:
    _page(tmp_path, "api/engine.md", "# Engine\n\n::: market_maker.engine\n")
    page = _page(tmp_path, "a.md", "[run](api/engine.md#market_maker.engine.Engine.run)\n")
    assert [broken_link(link, tmp_path) for link in links(page)] == [None]
