"""The terminal summary of a backtest: a two-column ``rich`` table plus the run's warnings.

Money and quantities are shown exactly (never rounded): at least two decimals for money,
trailing zeros beyond that dropped, thousands separated. Only the two percentages are
rounded, to two decimals, for display.
"""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from market_maker.backtest.result import BacktestResult
from market_maker.domain.decimals import decimal_to_str

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CENT = Decimal("0.01")


def utc_text(ts_ms: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DD HH:MM:SS UTC`` (milliseconds when present)."""
    moment = _EPOCH + timedelta(milliseconds=ts_ms)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if ts_ms % 1000:
        text += f".{ts_ms % 1000:03d}"
    return text + " UTC"


def _strip(text: str, keep: int) -> str:
    """Drop trailing fractional zeros, keeping at least ``keep`` decimals."""
    if "." not in text:
        return text + ("." + "0" * keep if keep else "")
    whole, frac = text.split(".")
    frac = frac.rstrip("0")
    frac += "0" * max(0, keep - len(frac))
    return f"{whole}.{frac}" if frac else whole


def money_text(value: Decimal) -> str:
    """An exact amount for reading: ``1,234.5`` -> ``1,234.50``; no digit is ever dropped."""
    return _strip(f"{Decimal(decimal_to_str(value)):,f}", keep=2)


def qty_text(value: Decimal) -> str:
    """An exact quantity without trailing zeros: ``0.00100`` -> ``0.001``."""
    return _strip(decimal_to_str(value), keep=0)


def pct_text(value: Decimal) -> str:
    """A percentage rounded half-even to two decimals for display: ``1.23456`` -> ``1.23%``."""
    return f"{decimal_to_str(value.quantize(_CENT, rounding=ROUND_HALF_EVEN))}%"


def _risk_text(result: BacktestResult) -> str:
    """``N (RISK_MODE x, HALTED y)``: how often each risk state was entered."""
    entered: dict[str, int] = {}
    for event in result.risk_events:
        if event.state_after != "NORMAL":
            entered[event.state_after] = entered.get(event.state_after, 0) + 1
    detail = ", ".join(f"{state} {n:,}" for state, n in sorted(entered.items()))
    return f"{len(result.risk_events):,}" + (f" ({detail})" if detail else "")


def event_unit(result: BacktestResult) -> str:
    """What the run's events were: ``candles``, ``trades``, or ``events`` when unknown."""
    data = result.extra.get("data")
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else "events"


def summary_rows(result: BacktestResult) -> list[tuple[str, str]]:
    """The headline figures as ``(metric, value)`` text pairs, in display order."""
    s = result.summary
    unit = event_unit(result)
    count = f"{s.events:,}" if unit == "events" else f"{s.events:,} {unit}"
    _, _, quote_part = s.symbol.partition("/")
    quote = quote_part.split(":")[0]
    money = f" {quote}" if quote else ""
    return [
        ("symbol", s.symbol),
        ("period", f"{utc_text(s.start_ms)} -> {utc_text(s.end_ms)}"),
        ("initial equity", money_text(s.initial_equity) + money),
        ("final equity", money_text(s.final_equity) + money),
        ("return", pct_text(s.return_pct)),
        ("max drawdown", pct_text(s.max_drawdown_pct)),
        ("realized PnL", money_text(s.realized_pnl) + money),
        ("unrealized PnL", money_text(s.unrealized_pnl) + money),
        ("fees paid", money_text(s.fees_paid) + money),
        ("volume", money_text(s.volume_quote) + money),
        ("fills", f"{s.fills:,}"),
        ("orders placed", f"{s.orders_placed:,}"),
        ("orders canceled", f"{s.orders_canceled:,}"),
        ("max inventory", qty_text(s.max_inventory)),
        ("final inventory", qty_text(s.final_inventory)),
        ("risk events", _risk_text(result)),
        ("events", count),
        ("elapsed", f"{s.elapsed_s:.3f} s"),
        ("speed", f"{s.events_per_s:,.0f} {unit}/s"),
    ]


def summary_table(result: BacktestResult, title: str = "Backtest") -> Table:
    """A two-column table (metric, value) of the run's headline figures.

    Its title is ``title`` and the symbol (a paper run prints the same table as a backtest).
    """
    table = Table(title=f"{title} {result.summary.symbol}", title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for metric, value in summary_rows(result):
        table.add_row(metric, value)
    return table


def print_summary(result: BacktestResult, console: Console, title: str = "Backtest") -> None:
    """Print the summary table (titled ``title`` and the symbol), then each warning in yellow."""
    console.print(summary_table(result, title))
    for warning in result.warnings:
        # Text, not markup: a warning may contain square brackets.
        console.print(Text(f"warning: {warning}", style="yellow"))
