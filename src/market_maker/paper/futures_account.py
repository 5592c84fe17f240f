"""The USDⓈ-M account a paper exchange serves: wallet, position, margins (one-way, cross).

The simulated exchange keeps a margin account as cash: the quote balance moves by the
value of every fill and its fee, and the base balance is the signed position. Binance
reports the same account as a **wallet balance** (deposits plus realized profit minus
fees) plus the position's **unrealized profit** against its average entry price. With the
entry price from the venue's ``Journal`` the two agree exactly:

    wallet = cash + position x entry_price
    unrealized = position x (mark - entry_price)
    wallet + unrealized = cash + position x mark          (the equity)

The mark price is the last price. Initial margin is notional / leverage, for the
position and for resting orders that are not reduce-only; maintenance margin is taken as
0.4% of the position's notional (Binance's first BTCUSDT bracket). Nothing is ever
liquidated.
"""

from dataclasses import dataclass
from decimal import Decimal

from market_maker.domain.decimals import ZERO
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.exchanges.simulated import SimulatedExchange
from market_maker.paper.binance_errors import MARGIN_REASON
from market_maker.paper.binance_format import Json, dec
from market_maker.paper.binance_market import BinanceMarket
from market_maker.paper.journal import Position

MAINTENANCE_RATE = Decimal("0.004")
"""Maintenance margin rate of the position's notional."""
MARGIN_QUANTUM = Decimal("0.00000001")
"""Margins are rounded to 8 decimals, as Binance writes them."""


@dataclass(frozen=True, slots=True)
class MarginSnapshot:
    """The futures account at one moment (quote currency unless stated).

    Attributes:
        wallet: Wallet balance.
        position: Signed position, base currency.
        entry_price: Average entry price (0 when flat).
        mark_price: Mark price (the last price).
        unrealized: Unrealized profit of the position.
        position_margin: Initial margin of the position.
        order_margin: Initial margin of resting orders that are not reduce-only.
        leverage: Leverage in use.
        time_ms: Market time of the snapshot.
    """

    wallet: Decimal
    position: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized: Decimal
    position_margin: Decimal
    order_margin: Decimal
    leverage: int
    time_ms: int

    @property
    def margin_balance(self) -> Decimal:
        """Wallet plus unrealized profit (the equity)."""
        return self.wallet + self.unrealized

    @property
    def available(self) -> Decimal:
        """What new orders may still use as initial margin."""
        return self.margin_balance - self.position_margin - self.order_margin

    @property
    def notional(self) -> Decimal:
        """Signed position value at the mark price."""
        return self.position * self.mark_price


def snapshot(
    exchange: SimulatedExchange,
    position: Position,
    market: BinanceMarket,
    leverage: int,
    mark: Decimal,
    time_ms: int,
) -> MarginSnapshot:
    """The account of ``exchange`` (a margin account) with ``position`` from the journal."""
    qty, entry = position.qty, position.entry_price
    orders = sum(
        (
            (o.request.qty - o.filled) * o.request.price
            for o in exchange.resting.values()
            if not o.request.reduce_only
        ),
        ZERO,
    )
    return MarginSnapshot(
        wallet=exchange.total(market.quote) + qty * entry,
        position=qty,
        entry_price=entry,
        mark_price=mark,
        unrealized=qty * (mark - entry),
        position_margin=(abs(qty) * mark / leverage).quantize(MARGIN_QUANTUM),
        order_margin=(orders / leverage).quantize(MARGIN_QUANTUM),
        leverage=leverage,
        time_ms=time_ms,
    )


def margin_shortfall(account: MarginSnapshot, request: PlaceOrderRequest, price: Decimal) -> str:
    """Why the account cannot cover a new order at ``price``, or "" when it can.

    Reduce-only orders need no margin.
    """
    if request.reduce_only:
        return ""
    need = (request.qty * price / account.leverage).quantize(MARGIN_QUANTUM)
    if need <= account.available:
        return ""
    return (
        f"{MARGIN_REASON}: the order needs {need} of initial margin at {account.leverage}x, "
        f"{account.available} is available"
    )


def account_json(account: MarginSnapshot, market: BinanceMarket) -> Json:
    """``GET /fapi/v3/account`` (also served as ``/fapi/v2/account``)."""
    maint = (abs(account.notional) * MAINTENANCE_RATE).quantize(MARGIN_QUANTUM)
    initial = account.position_margin + account.order_margin
    totals = {
        "totalInitialMargin": dec(initial),
        "totalMaintMargin": dec(maint),
        "totalWalletBalance": dec(account.wallet),
        "totalUnrealizedProfit": dec(account.unrealized),
        "totalMarginBalance": dec(account.margin_balance),
        "totalPositionInitialMargin": dec(account.position_margin),
        "totalOpenOrderInitialMargin": dec(account.order_margin),
        "totalCrossWalletBalance": dec(account.wallet),
        "totalCrossUnPnl": dec(account.unrealized),
        "availableBalance": dec(account.available),
        "maxWithdrawAmount": dec(max(account.available, ZERO)),
    }
    asset = {
        "asset": market.quote,
        "walletBalance": dec(account.wallet),
        "unrealizedProfit": dec(account.unrealized),
        "marginBalance": dec(account.margin_balance),
        "maintMargin": dec(maint),
        "initialMargin": dec(initial),
        "positionInitialMargin": dec(account.position_margin),
        "openOrderInitialMargin": dec(account.order_margin),
        "crossWalletBalance": dec(account.wallet),
        "crossUnPnl": dec(account.unrealized),
        "availableBalance": dec(account.available),
        "maxWithdrawAmount": dec(max(account.available, ZERO)),
        "marginAvailable": True,
        "updateTime": account.time_ms or 1,  # ccxt drops an asset whose updateTime is 0
    }
    positions = []
    if account.position:
        positions.append(
            {
                "symbol": market.symbol_id,
                "positionSide": "BOTH",
                "positionAmt": dec(account.position),
                "unrealizedProfit": dec(account.unrealized),
                "isolatedMargin": "0",
                "notional": dec(account.notional),
                "isolatedWallet": "0",
                "initialMargin": dec(account.position_margin),
                "maintMargin": dec(maint),
                "updateTime": account.time_ms,
            }
        )
    return totals | {"assets": [asset], "positions": positions}


def position_risk_json(account: MarginSnapshot, market: BinanceMarket) -> list[Json]:
    """``GET /fapi/v3/positionRisk`` (one-way mode: one ``BOTH`` entry for the symbol)."""
    maint = (abs(account.notional) * MAINTENANCE_RATE).quantize(MARGIN_QUANTUM)
    return [
        {
            "symbol": market.symbol_id,
            "positionSide": "BOTH",
            "positionAmt": dec(account.position),
            "entryPrice": dec(account.entry_price),
            "breakEvenPrice": dec(account.entry_price),
            "markPrice": dec(account.mark_price),
            "unRealizedProfit": dec(account.unrealized),
            "liquidationPrice": "0",
            "isolatedMargin": "0",
            "notional": dec(account.notional),
            "marginAsset": market.quote,
            "isolatedWallet": "0",
            "initialMargin": dec(account.position_margin + account.order_margin),
            "maintMargin": dec(maint),
            "positionInitialMargin": dec(account.position_margin),
            "openOrderInitialMargin": dec(account.order_margin),
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "leverage": str(account.leverage),
            "marginType": "cross",
            "updateTime": account.time_ms,
        }
    ]


def leverage_bracket_json(market: BinanceMarket, leverage: int) -> list[Json]:
    """``GET /fapi/v1/leverageBracket``: one bracket covering every notional."""
    return [
        {
            "symbol": market.symbol_id,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": max(leverage, 125),
                    "notionalCap": 1_000_000_000,
                    "notionalFloor": 0,
                    "maintMarginRatio": float(MAINTENANCE_RATE),
                    "cum": 0.0,
                }
            ],
        }
    ]
