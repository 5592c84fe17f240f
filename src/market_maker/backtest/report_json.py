"""The JSON backtest report: exact, deterministic, and replayable.

Every price, quantity and amount is written as an exact fixed-point decimal string (see
``market_maker.domain.decimals.decimal_to_str``), counts as JSON integers, and only the two
wall-clock figures (``elapsed_s``, ``events_per_s``) as floats rounded to milliseconds. Keys
come out in a fixed order, so two runs of the same backtest produce byte-identical files
apart from those two figures.

``replay_fills`` recomputes the final balances, fees, inventory and equity from a loaded
report's ``initial_balances`` and ``fills`` alone: the accounting check a reader can run
without trusting the engine.
"""

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from market_maker.backtest.result import BacktestResult, EquityPoint, FillRecord, Summary
from market_maker.domain.decimals import ZERO, decimal_to_str, parse_decimal
from market_maker.domain.errors import MarketMakerError
from market_maker.domain.instrument import split_symbol

SECTIONS = (
    "summary",
    "fills",
    "equity_curve",
    "initial_balances",
    "final_balances",
    "config",
    "warnings",
    "risk_events",
)
"""Top-level keys of the report, in file order; ``result.extra`` sections follow them."""

_SIDE_SIGN = {"BUY": 1, "SELL": -1}


class ReportFormatError(MarketMakerError, ValueError):
    """A report cannot be written or read: a key clash, a missing section or a bad value."""


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else decimal_to_str(value)


def _seconds(value: float) -> float | None:
    # Wall-clock figures only; a zero elapsed time can make the rate infinite.
    return round(value, 3) if math.isfinite(value) else None


def _summary(summary: Summary) -> dict[str, Any]:
    s = summary
    return {
        "symbol": s.symbol,
        "start_ms": s.start_ms,
        "end_ms": s.end_ms,
        "initial_equity": decimal_to_str(s.initial_equity),
        "final_equity": decimal_to_str(s.final_equity),
        "realized_pnl": decimal_to_str(s.realized_pnl),
        "unrealized_pnl": decimal_to_str(s.unrealized_pnl),
        "fees_paid": decimal_to_str(s.fees_paid),
        "return_pct": decimal_to_str(s.return_pct),
        "max_drawdown_pct": decimal_to_str(s.max_drawdown_pct),
        "fills": s.fills,
        "orders_placed": s.orders_placed,
        "orders_canceled": s.orders_canceled,
        "max_inventory": decimal_to_str(s.max_inventory),
        "final_inventory": decimal_to_str(s.final_inventory),
        "volume_quote": decimal_to_str(s.volume_quote),
        "events": s.events,
        "elapsed_s": _seconds(s.elapsed_s),
        "events_per_s": _seconds(s.events_per_s),
    }


def _fill(fill: FillRecord) -> dict[str, Any]:
    return {
        "ts_ms": fill.ts_ms,
        "side": fill.side,
        "price": decimal_to_str(fill.price),
        "qty": decimal_to_str(fill.qty),
        "fee": decimal_to_str(fill.fee),
        "liquidity": fill.liquidity,
        "client_order_id": fill.client_order_id,
        "slot": decimal_to_str(fill.slot),
        "realized_pnl": decimal_to_str(fill.realized_pnl),
    }


def _point(point: EquityPoint) -> dict[str, Any]:
    return {
        "ts_ms": point.ts_ms,
        "price": decimal_to_str(point.price),
        "equity": decimal_to_str(point.equity),
        "inventory": decimal_to_str(point.inventory),
        "center": _opt(point.center),
        "interval": _opt(point.interval),
    }


def _balances(balances: Mapping[str, Decimal]) -> dict[str, str]:
    # Sorted by asset so the file does not depend on the order the engine met the assets.
    return {asset: decimal_to_str(balances[asset]) for asset in sorted(balances)}


def _jsonable(value: Any) -> Any:
    """Make config/extra sections JSON-ready: decimals become exact strings, tuples lists."""
    if isinstance(value, Decimal):
        return decimal_to_str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def result_to_json(result: BacktestResult) -> dict[str, Any]:
    """Build the JSON-ready report of a backtest.

    Args:
        result: The backtest outcome.

    Returns:
        The report as plain dicts, lists, strings and numbers, keys in file order.

    Raises:
        ReportFormatError: A section in ``result.extra`` has the name of a standard section.
    """
    clash = sorted(set(result.extra) & set(SECTIONS))
    if clash:
        raise ReportFormatError(
            f"extra report sections must not reuse the standard names {list(SECTIONS)}, "
            f"found {clash}; rename them"
        )
    report: dict[str, Any] = {
        "summary": _summary(result.summary),
        "fills": [_fill(f) for f in result.fills],
        "equity_curve": [_point(p) for p in result.equity_curve],
        "initial_balances": _balances(result.initial_balances),
        "final_balances": _balances(result.final_balances),
        "config": _jsonable(result.config),
        "warnings": list(result.warnings),
        "risk_events": [
            {
                "ts_ms": e.ts_ms,
                "kind": e.kind,
                "reason": e.reason,
                "state_before": e.state_before,
                "state_after": e.state_after,
            }
            for e in result.risk_events
        ],
    }
    for key, section in result.extra.items():
        report[key] = _jsonable(section)
    return report


def _encode(value: Any) -> str:
    try:
        return json.dumps(value, indent=2, sort_keys=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ReportFormatError(
            f"the report must hold only JSON values (dict, list, str, int, Decimal), "
            f"found: {exc}; convert the value in the config/extra section"
        ) from exc


def _report_text(result: BacktestResult) -> Iterator[str]:
    """The report's text piece by piece: ``json.dumps(result_to_json(result), indent=2)``.

    Every section but the fills is encoded (and checked) before the first piece; the fills,
    as many as the run made, are encoded one at a time as they are written, so a long run's
    report never sits in memory as dicts (about 2 KB a fill).
    """
    sections = [
        (key, _encode(value)) for key, value in result_to_json(replace(result, fills=[])).items()
    ]
    yield "{"
    for n, (key, text) in enumerate(sections):
        yield f"{',' if n else ''}\n  {json.dumps(key)}: "
        if key == "fills":
            yield from _fills_text(result.fills)
        else:
            yield text.replace("\n", "\n  ")
    yield "\n}\n"


def _fills_text(fills: Sequence[FillRecord]) -> Iterator[str]:
    if not fills:
        yield "[]"
        return
    yield "["
    for n, fill in enumerate(fills):
        text = json.dumps(_fill(fill), indent=2).replace("\n", "\n    ")
        yield f"{',' if n else ''}\n    {text}"
    yield "\n  ]"


def dumps(result: BacktestResult) -> str:
    """Serialise a backtest to the report text (2-space indent, trailing newline).

    Raises:
        ReportFormatError: As ``result_to_json``, or a config/extra value is not JSON-ready.
    """
    return "".join(_report_text(result))


def write_json(result: BacktestResult, path: Path) -> None:
    """Write the JSON report of ``result`` to ``path`` (UTF-8), replacing any file there.

    Written as it is encoded (``dumps`` gives the same text): the fills never sit in memory
    as one report. A section that is not JSON-ready fails before the file is touched.
    """
    pieces = _report_text(result)
    first = next(pieces)  # encodes and checks every section but the fills
    with path.open("w", encoding="utf-8") as out:
        out.write(first)
        for piece in pieces:
            out.write(piece)


def load_json(path: Path) -> dict[str, Any]:
    """Read a JSON report written by ``write_json``.

    Raises:
        ReportFormatError: The file is not JSON or lacks a standard section.
    """
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportFormatError(f"{path}: expected a JSON backtest report, found {exc}") from exc
    if not isinstance(report, dict):
        raise ReportFormatError(f"{path}: expected a JSON object, found {type(report).__name__}")
    missing = [key for key in SECTIONS if key not in report]
    if missing:
        raise ReportFormatError(
            f"{path}: expected the sections {list(SECTIONS)}, {missing} missing"
        )
    return report


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """What the fills alone imply, starting from the initial balances.

    Attributes:
        final_balances: Balances by asset after every fill (base and quote always present).
        fees_paid: Sum of the fills' fees, quote currency.
        final_inventory: Base balance after every fill (the position on a margin account).
        final_equity: Quote balance plus inventory at the last equity point's price;
            ``None`` when the report has no equity point to mark the inventory at.
    """

    final_balances: dict[str, Decimal]
    fees_paid: Decimal
    final_inventory: Decimal
    final_equity: Decimal | None

    def mismatches(self, report: Mapping[str, Any]) -> list[str]:
        """Compare with the report's own figures, exactly; one message per difference."""
        summary = report["summary"]
        found = {
            "fees_paid": self.fees_paid,
            "final_inventory": self.final_inventory,
            "final_equity": self.final_equity,
        }
        problems = []
        for key, value in found.items():
            stated = parse_decimal(summary[key], field=f"summary.{key}")
            if value != stated:
                problems.append(f"summary.{key}: report says {stated}, the fills give {value}")
        stated_balances = {
            asset: parse_decimal(text, field=f"final_balances.{asset}")
            for asset, text in report["final_balances"].items()
        }
        if stated_balances != self.final_balances:
            problems.append(
                f"final_balances: report says {stated_balances}, the fills give "
                f"{self.final_balances}"
            )
        return problems


def replay_fills(report: Mapping[str, Any]) -> ReplayOutcome:
    """Recompute the end state of a loaded report from its initial balances and fills.

    A buy moves ``price * qty + fee`` out of the quote asset and ``qty`` into the base asset; a
    sell the other way round, still paying the fee. Base and quote come from the summary's
    symbol (``BTC/USDT`` and ``BTC/USDT:USDT`` both give BTC and USDT). All arithmetic is
    exact ``Decimal``, so the result matches the engine's figures to the last digit.

    Args:
        report: A report as returned by ``load_json`` or ``result_to_json``.

    Returns:
        The balances, fees, inventory and equity the fills imply.

    Raises:
        ReportFormatError: A fill has an unknown side.
        InvalidDecimalError: A number in the report is not a decimal string.
    """
    base, quote = split_symbol(report["summary"]["symbol"])
    balances = {
        asset: parse_decimal(text, field=f"initial_balances.{asset}")
        for asset, text in report["initial_balances"].items()
    }
    balances.setdefault(base, ZERO)
    balances.setdefault(quote, ZERO)
    fees = ZERO
    for index, fill in enumerate(report["fills"]):
        sign = _SIDE_SIGN.get(fill["side"])
        if sign is None:
            raise ReportFormatError(
                f"fills[{index}].side: expected BUY or SELL, found {fill['side']!r}"
            )
        price = parse_decimal(fill["price"], field=f"fills[{index}].price")
        qty = parse_decimal(fill["qty"], field=f"fills[{index}].qty")
        fee = parse_decimal(fill["fee"], field=f"fills[{index}].fee")
        balances[quote] -= sign * price * qty + fee
        balances[base] += sign * qty
        fees += fee
    curve = report["equity_curve"]
    equity = None
    if curve:
        mark = parse_decimal(curve[-1]["price"], field="equity_curve[-1].price")
        equity = balances[quote] + balances[base] * mark
    return ReplayOutcome(
        final_balances={asset: balances[asset] for asset in sorted(balances)},
        fees_paid=fees,
        final_inventory=balances[base],
        final_equity=equity,
    )
