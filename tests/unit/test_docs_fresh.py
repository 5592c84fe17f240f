"""Generated documentation pages match a fresh rendering of their sources."""

from pathlib import Path

from devtools.proto_doc import render_proto_reference, undocumented

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
    missing = undocumented(render_proto_reference(ROOT / "proto"))
    assert not missing, f"add a // comment in proto/ for: {missing}"


def test_undocumented_rows_and_headings_are_found() -> None:
    page = "### `A`\n\n| Field | Type |\n| --- | --- |\n| `x` | `string` | 1 | meaning |\n"
    page += "| `y` | `string` | 2 |  |\n\n### `B`\n\nB's comment.\n\n(no fields)\n"
    assert undocumented(page) == ["| `y` | `string` | 2 |  |", "### `A`"]
