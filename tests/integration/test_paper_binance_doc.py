"""The ccxt snippet of docs/paper_exchange.md runs as written against a real server."""

import contextlib
import io
import re
from pathlib import Path

import pytest

from market_maker.paper.signing import Credentials
from support.paper_binance import paper_server

pytestmark = pytest.mark.timeout(60)

DOC = Path(__file__).parents[2] / "docs" / "paper_exchange.md"


def snippet() -> str:
    text = DOC.read_text()
    match = re.search(r"<!-- snippet: ccxt -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "docs/paper_exchange.md lost its ccxt snippet"
    return match.group(1)


def test_the_documented_snippet_trades_on_the_paper_exchange() -> None:
    code = snippet()
    assert 'asyncio.run(main("http://127.0.0.1:8765"))' in code
    with paper_server("spot", credentials=Credentials.resolve(env={})) as server:
        server.advance(1)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code.replace("http://127.0.0.1:8765", server.url), str(DOC), "exec"), {})
        last, order_id, status = out.getvalue().split()
        assert float(last) == float(server.venue.candles[0].close)
        assert status == "open"
        ledger = server.ledger()
        assert [o["request"]["client_order_id"] for o in ledger["orders"]] == ["doc1"]
        assert ledger["orders"][0]["state"]["order_id"] == order_id
