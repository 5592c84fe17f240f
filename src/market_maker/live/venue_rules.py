"""The venue's market rules in the bot's configuration: the venue decides, the config may agree.

A live run trades with the instrument rules and fee rates the venue serves. The
configuration may state them too (the ``instrument`` section; ``backtest.maker_fee``,
``taker_fee`` and ``spot`` when written in the file): each value it states must equal the
venue's, otherwise the run refuses to start with one line per disagreement, naming the
field, both values and the fix. A value the file does not state is simply the venue's.
"""

from decimal import Decimal

from market_maker.config.app import AppConfig, InstrumentConfig
from market_maker.domain.decimals import decimal_to_str
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import MarketRules

INSTRUMENT_FIELDS = ("tick_size", "step_size", "min_qty", "min_notional")
"""Fields of the ``instrument`` section, compared with the venue's instrument."""
FEE_FIELDS = ("maker_fee", "taker_fee", "spot")
"""Fields of the ``backtest`` section that describe the venue, compared with its rules."""


class VenueMismatchError(MarketMakerError):
    """The configuration states a market rule or fee rate other than the venue's."""


def _show(value: Decimal | bool) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return decimal_to_str(value)


def mismatches(config: AppConfig, rules: MarketRules) -> list[str]:
    """One line per value the configuration states that differs from the venue's."""
    venue_values: dict[str, Decimal | bool] = {
        **{f"instrument.{name}": getattr(rules.instrument, name) for name in INSTRUMENT_FIELDS},
        "backtest.maker_fee": rules.maker_fee,
        "backtest.taker_fee": rules.taker_fee,
        "backtest.spot": rules.spot,
    }
    stated: dict[str, Decimal | bool] = {}
    if "instrument" in config.model_fields_set:
        section = config.instrument
        stated |= {f"instrument.{n}": getattr(section, n) for n in section.model_fields_set}
    if "backtest" in config.model_fields_set:
        bt = config.backtest
        stated |= {f"backtest.{n}": getattr(bt, n) for n in FEE_FIELDS if n in bt.model_fields_set}
    if rules.instrument.symbol != config.symbol:  # the other values would mean nothing
        return [
            f"symbol: the configuration says {config.symbol} but the venue answered with the "
            f"rules of {rules.instrument.symbol}; fix: trade a symbol the venue lists"
        ]
    problems = []
    for field, venue in venue_values.items():  # in the order of the configuration reference
        value = stated.get(field, venue)
        if value != venue:  # numerically: 0.10 agrees with 0.1
            problems.append(
                f"{field}: the configuration says {_show(value)} but the venue says "
                f"{_show(venue)}; fix: set {field} to {_show(venue)} or remove it from the "
                "configuration (the venue's value is used)"
            )
    return problems


def with_venue_rules(config: AppConfig, rules: MarketRules, *, venue: str) -> AppConfig:
    """``config`` with the venue's instrument and fee rates; raise if the config disagrees.

    Args:
        config: The bot's configuration as loaded.
        rules: What the venue serves for ``config.symbol``.
        venue: Where the rules came from (``binance at http://...``), for the message.

    Raises:
        VenueMismatchError: A value the configuration states differs from the venue's;
            the message has one line per field with both values and the fix.
    """
    problems = mismatches(config, rules)
    if problems:
        raise VenueMismatchError(
            f"the configuration disagrees with {venue} on {config.symbol}:\n  "
            + "\n  ".join(problems)
        )
    i = rules.instrument
    instrument = InstrumentConfig(
        tick_size=i.tick_size, step_size=i.step_size, min_qty=i.min_qty, min_notional=i.min_notional
    )
    backtest = config.backtest.model_copy(
        update={"maker_fee": rules.maker_fee, "taker_fee": rules.taker_fee, "spot": rules.spot}
    )
    return config.model_copy(update={"instrument": instrument, "backtest": backtest})
