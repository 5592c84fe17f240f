"""Regenerate the generated parts of the documentation.

Usage::

    python scripts/gen_docs.py          # rewrite every generated page
    python scripts/gen_docs.py --check  # exit 1, naming the stale pages, if any is out of date

Both exit 1, naming them, when a proto element has no ``//`` comment or a configuration
field no description: its row would be generated, but empty.

Each generated page is produced by one render function in the package, so a test can compare
the checked-in page with a fresh rendering. Add a page by adding it to ``pages()``.
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's devtools/ package

from devtools.config_reference import undocumented_fields  # noqa: E402
from devtools.design_examples import regenerate as regenerate_examples  # noqa: E402
from devtools.docs_tables import regenerate  # noqa: E402
from devtools.proto_doc import render_proto_reference, undocumented  # noqa: E402

PROTOBUF_PAGE = Path("docs/reference/protobuf.md")


def pages() -> dict[Path, Callable[[], str]]:
    """Generated page (relative to the repository root) -> function rendering its content."""
    marked = ("docs/technical_reference.md", "docs/configuration.md", "docs/metrics.md")
    return {
        PROTOBUF_PAGE: lambda: render_proto_reference(ROOT / "proto"),
        # Hand-written pages whose marked tables are generated (see market_maker.docs_tables).
        **{Path(p): lambda p=p: regenerate((ROOT / p).read_text(encoding="utf-8")) for p in marked},
        # The design's worked examples, computed by the strategy code on the bundled sample.
        Path("docs/design.md"): lambda: regenerate_examples(
            (ROOT / "docs/design.md").read_text(encoding="utf-8")
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; fail if a page is out of date"
    )
    args = parser.parse_args(argv)
    stale = []
    proto = ""
    for relative, render in pages().items():
        path = ROOT / relative
        content = render()
        if relative == PROTOBUF_PAGE:
            proto = content
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(relative.as_posix())
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="\n")
    for name in stale:
        print(f"{'stale' if args.check else 'wrote'}: {name}")
    missing = [f"docs/reference/protobuf.md: {row}" for row in undocumented(proto)]
    missing += [f"docs/configuration.md: `{name}`" for name in undocumented_fields()]
    for problem in missing:
        print(f"undocumented: {problem}")
    if missing:
        print(
            "add a // comment in proto/ or a description= to the config field",
            file=sys.stderr,
        )
    if args.check and stale:
        print("run `make docs` (python scripts/gen_docs.py) and commit the result", file=sys.stderr)
    return 1 if missing or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
