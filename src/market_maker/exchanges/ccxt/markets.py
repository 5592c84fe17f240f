"""A ccxt market as ``MarketRules``, and ccxt balances and positions as ``Balance`` entries.

Binance's raw filters (``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize``/``minQty``,
``NOTIONAL``/``MIN_NOTIONAL``) are read when present, exactly; other venues' markets from
ccxt's ``precision`` and ``limits`` (tick-size or decimal-places precision modes).
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import ZERO
from market_maker.domain.errors import InstrumentError
from market_maker.domain.instrument import Instrument, MarketRules
from market_maker.exchanges.base import Balance
from market_maker.exchanges.ccxt.numbers import pick, plain, to_dec

TICK_SIZE_MODE = 4
"""ccxt's ``TICK_SIZE`` precision mode (``precision`` values are increments)."""
DECIMAL_PLACES_MODE = 2
"""ccxt's ``DECIMAL_PLACES`` precision mode (``precision`` values count decimals)."""


def _filters(market: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    info = market.get("info")
    raw = info.get("filters") if isinstance(info, Mapping) else None
    if not isinstance(raw, list):
        return {}
    return {f["filterType"]: f for f in raw if isinstance(f, Mapping) and "filterType" in f}


def _increment(value: Any, mode: int, field: str) -> Decimal | None:
    number = to_dec(value, field=field)
    if number is None:
        return None
    if mode == DECIMAL_PLACES_MODE:
        return Decimal(1).scaleb(-int(number))
    if mode != TICK_SIZE_MODE:
        raise InstrumentError(
            f"{field}: ccxt precision mode {mode} (significant digits) is not supported; "
            "trade a venue whose markets give a tick size or decimal places"
        )
    return number


def market_rules(
    market: Mapping[str, Any],
    *,
    precision_mode: int,
    maker_fee: Decimal | None = None,
    taker_fee: Decimal | None = None,
) -> MarketRules:
    """The rules of one ccxt market.

    Args:
        market: ``exchange.market(symbol)``.
        precision_mode: ``exchange.precisionMode``.
        maker_fee: The account's maker rate, when the venue told it (else the market's).
        taker_fee: The account's taker rate, likewise.
    """
    symbol = str(market["symbol"])
    filters = _filters(market)
    price_filter = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = to_dec(price_filter.get("tickSize"), field="tickSize") or _increment(
        precision.get("price"), precision_mode, f"{symbol} precision.price"
    )
    step = to_dec(lot.get("stepSize"), field="stepSize") or _increment(
        precision.get("amount"), precision_mode, f"{symbol} precision.amount"
    )
    if tick is None or step is None:
        raise InstrumentError(
            f"{symbol}: the venue's market gives no tick size or quantity step "
            f"(precision {dict(precision)}); this market cannot be traded by the bot"
        )
    min_qty = to_dec(lot.get("minQty"), field="minQty")
    if min_qty is None:
        min_qty = to_dec((limits.get("amount") or {}).get("min"), field="limits.amount.min")
    min_notional = to_dec(notional.get("minNotional", notional.get("notional")), field="notional")
    if min_notional is None:
        min_notional = to_dec((limits.get("cost") or {}).get("min"), field="limits.cost.min")
    maker = maker_fee if maker_fee is not None else to_dec(market.get("maker"), field="maker")
    taker = taker_fee if taker_fee is not None else to_dec(market.get("taker"), field="taker")
    instrument = Instrument(
        symbol=symbol,
        tick_size=plain(tick),
        step_size=plain(step),
        min_qty=plain(min_qty or ZERO),
        min_notional=plain(min_notional or ZERO),
    )
    return MarketRules(
        instrument=instrument,
        maker_fee=plain(maker or ZERO),
        taker_fee=plain(taker or ZERO),
        spot=bool(market.get("spot")),
    )


def account_fee_rates(answer: Mapping[str, Any]) -> tuple[Decimal, Decimal] | None:
    """Maker and taker rates of a ``fetch_trading_fee`` answer, exact where possible.

    Binance spot answers ``makerCommission``/``takerCommission``, USD-M
    ``makerCommissionRate``/``takerCommissionRate``; others ccxt's ``maker``/``taker``.
    """
    maker = pick(answer, "maker", "makerCommission", "makerCommissionRate")
    taker = pick(answer, "taker", "takerCommission", "takerCommissionRate")
    if maker is None or taker is None:
        return None
    return maker, taker


def spot_balances(answer: Mapping[str, Any]) -> dict[str, Balance]:
    """A spot ``fetch_balance`` answer: Binance's raw ``balances`` exactly, else ccxt's."""
    info = answer.get("info")
    raw = info.get("balances") if isinstance(info, Mapping) else None
    out: dict[str, Balance] = {}
    if isinstance(raw, list):
        for entry in raw:
            asset = str(entry["asset"])
            out[asset] = Balance(
                asset,
                to_dec(entry.get("free"), field="free") or ZERO,
                to_dec(entry.get("locked"), field="locked") or ZERO,
            )
        return out
    free = answer.get("free") or {}
    used = answer.get("used") or {}
    for asset in set(free) | set(used):
        out[asset] = Balance(
            asset,
            to_dec(free.get(asset), field=f"free.{asset}") or ZERO,
            to_dec(used.get(asset), field=f"used.{asset}") or ZERO,
        )
    return out


def signed_position(position: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """Signed size (base currency, negative when short) and entry price of a ccxt position."""
    info = position.get("info")
    raw: Mapping[str, Any] = info if isinstance(info, Mapping) else {}
    entry = pick(position, "entryPrice", "entryPrice") or ZERO
    amount = to_dec(raw.get("positionAmt"), field="positionAmt")
    if amount is not None:
        return amount, entry
    contracts = to_dec(position.get("contracts"), field="contracts") or ZERO
    size = to_dec(position.get("contractSize"), field="contractSize") or Decimal(1)
    sign = -1 if position.get("side") == "short" else 1
    return sign * contracts * size, entry


def derivative_balances(
    answer: Mapping[str, Any], positions: list[Mapping[str, Any]], *, base: str, quote: str
) -> dict[str, Balance]:
    """A margin account as the bot's balances: the position as the base asset's entry.

    The base entry is the signed position (``locked`` 0), so position checks read spot and
    perpetual accounts alike. The quote entry is the cash equivalent, wallet balance minus
    the position's entry value, so that ``quote + position x price`` is the account's
    equity at ``price`` (as on the simulated margin account); ``free`` is at most what the
    venue calls available.
    """
    spot_view = spot_balances({"free": answer.get("free"), "used": answer.get("used")})
    info = answer.get("info")
    assets = info.get("assets") if isinstance(info, Mapping) else None
    wallet: Decimal | None = None
    available: Decimal | None = None
    if isinstance(assets, list):
        for entry in assets:
            if entry.get("asset") != quote:
                continue
            wallet = to_dec(entry.get("walletBalance"), field="walletBalance")
            if wallet is None:
                margin = to_dec(entry.get("marginBalance"), field="marginBalance") or ZERO
                unrealized = to_dec(entry.get("unrealizedProfit"), field="unrealizedProfit")
                wallet = margin - (unrealized or ZERO)
            available = to_dec(entry.get("availableBalance"), field="availableBalance")
    if wallet is None:
        held = spot_view.get(quote)
        wallet = held.total if held else ZERO
        available = held.free if held else ZERO
    position, entry_value = ZERO, ZERO
    for item in positions:
        size, price = signed_position(item)
        position += size
        entry_value += size * price
    cash = wallet - entry_value
    free = min(cash, available if available is not None else cash)
    out = dict(spot_view)
    out[quote] = Balance(quote, free, cash - free)
    out[base] = Balance(base, position, ZERO)
    return out
