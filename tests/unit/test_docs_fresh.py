"""Generated documentation pages match a fresh rendering of their sources."""

from pathlib import Path

from devtools.proto_doc import render_proto_reference

ROOT = Path(__file__).resolve().parents[2]
PROTOBUF_MD = ROOT / "docs" / "reference" / "protobuf.md"


def test_protobuf_reference_is_fresh() -> None:
    fresh = render_proto_reference(ROOT / "proto")
    checked_in = PROTOBUF_MD.read_text(encoding="utf-8") if PROTOBUF_MD.exists() else ""
    assert checked_in == fresh, (
        "docs/reference/protobuf.md is stale: run `make docs` (python scripts/gen_docs.py) "
        "and commit the result"
    )


def test_every_message_field_and_enum_value_is_documented() -> None:
    lines = render_proto_reference(ROOT / "proto").splitlines()
    undocumented = [
        line for line in lines if line.startswith("| `") and line.rstrip().endswith("|  |")
    ]
    undocumented += [
        line
        for i, line in enumerate(lines)
        if line.startswith("### ") and lines[i + 2].startswith(("|", "("))
    ]
    assert not undocumented, f"add a // comment in proto/ for: {undocumented}"
