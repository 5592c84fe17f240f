"""The technical reference's generated interface and table listings refuse undocumented parts."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.reference_tables import (
    INTERFACES,
    UndocumentedError,
    durable_tables,
    interface_members,
    interface_table,
)
from market_maker.durable.schema import metadata
from market_maker.engine.base import Engine


def test_every_public_member_of_each_interface_is_listed() -> None:
    listed = {m.name for m in interface_members(INTERFACES["engine-interface"])}
    public = {n for n in dir(Engine) if not n.startswith("_")}
    public |= set(Engine.__annotations__)
    assert public <= listed, public - listed
    assert "release_slot" in listed and "orders_placed" in listed


def test_a_member_without_a_docstring_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "undoc_iface.py"
    module.write_text(
        "from typing import Protocol\n\n"
        "class Port(Protocol):\n"
        "    count: int\n"
        '    """Documented."""\n'
        "    def go(self, n: int) -> str:\n"
        "        ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UndocumentedError, match=r"document go \(") as refused:
        interface_members("undoc_iface.Port")
    assert "count" not in str(refused.value)


def test_every_column_of_the_durable_tables_is_listed() -> None:
    table = durable_tables()
    for t in metadata.tables.values():
        for column in t.columns:
            assert f"| `{t.name}` | `{column.name}` |" in table


def test_a_column_without_a_meaning_is_refused() -> None:
    extra = sa.MetaData()
    sa.Table("mm_extra", extra, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(UndocumentedError, match=r"mm_extra\.id"):
        durable_tables(extra)


def test_pipes_in_signatures_are_escaped_for_markdown() -> None:
    table = interface_table(INTERFACES["store-interface"])
    assert "GridState \\| None" in table
