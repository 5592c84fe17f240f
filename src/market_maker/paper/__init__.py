"""The paper exchange: the simulated exchange served over HTTP from its own process.

The server (``market-maker paper-exchange``) keeps orders, balances and fills while bots
come and go; ``PaperExchange`` is the ``Exchange`` adapter a bot uses to trade on it.
The server modules (FastAPI, uvicorn) are imported only by the command that serves, so
the client stays light.
"""

from market_maker.paper.client import AdvanceResult, PaperExchange
from market_maker.paper.protocol import (
    IndexedCandle,
    Ledger,
    LedgerOrder,
    MarketSnapshot,
    ProtocolError,
)

__all__ = [
    "AdvanceResult",
    "IndexedCandle",
    "Ledger",
    "LedgerOrder",
    "MarketSnapshot",
    "PaperExchange",
    "ProtocolError",
]
