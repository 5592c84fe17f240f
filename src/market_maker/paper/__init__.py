"""The paper exchange: the simulated exchange served over HTTP from its own process.

The server (``market-maker paper-exchange``) speaks a subset of Binance's REST and
websocket API, so bots trade on it through ccxt, and keeps orders, balances and fills
while bots come and go. ``PaperControl`` (``paper.control``) reads its ledger and moves
its market time through the ``/paper/`` test endpoints. The server modules (FastAPI,
uvicorn) are imported only by the command that serves.
"""

from market_maker.paper.paper_json import Ledger, LedgerOrder, MarketSnapshot, PaperJsonError

__all__ = ["Ledger", "LedgerOrder", "MarketSnapshot", "PaperJsonError"]
