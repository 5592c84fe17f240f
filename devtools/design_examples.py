"""The worked examples of docs/design.md, computed by the project's own code.

The design document shows numbers: the volatility adaptation on two hours of the bundled
sample, and the inventory skew on a constructed book. Each example is rendered here from
the real code (``market_maker.indicators.atr``, ``market_maker.strategy``) and kept in the
document between ``<!-- BEGIN EXAMPLE: name -->`` and ``<!-- END EXAMPLE: name -->``;
``tests/unit/test_design_examples.py`` fails when the document no longer shows what the
code computes. ``make docs`` (``scripts/gen_docs.py``) rewrites the blocks, and so does
``python -m devtools.design_examples`` on its own.
"""

import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.data.candles import load_candles
from market_maker.data.sample import SAMPLE_SYMBOL, sample_candles_path
from market_maker.domain.enums import GridMode, RiskState
from market_maker.domain.market import Candle
from market_maker.indicators.atr import Atr, true_range
from market_maker.slots.model import Slot
from market_maker.strategy.config import GridConfig
from market_maker.strategy.interval import effective_interval
from market_maker.strategy.target import TargetState, compute_target, skewed_price

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "design.md"

HOUR_MS = 3_600_000
"""One hour in milliseconds (the examples pick whole UTC hours of the sample)."""

TIMES, MINUS = "\u00d7", "\u2212"
"""The multiplication and minus signs the document's formulas use."""

LEVELS_SHOWN = 5
"""Buy levels listed per grid (the nearest ones)."""

DYNAMIC = {
    "dynamic_interval": True,
    "atr_window": 14,
    "volatility_scale": Decimal(1),
    "baseline_atr": Decimal(50),
    "min_interval": Decimal(25),
    "max_interval": Decimal(150),
}
"""The dynamic-interval settings of the volatility example, on top of the packaged grid."""

SKEW_FILLED = 6
"""Buy levels under the anchor the skew example's grid has filled (one order each)."""

SKEW_PRICE = Decimal("103672.0")
"""Market price of the skew example (below the lowest filled level)."""


def packaged_config() -> AppConfig:
    """The packaged backtest example (``market_maker/examples/backtest.yaml``)."""
    return load_config(default_backtest_config_path())


def sample_candles() -> list[Candle]:
    """The bundled sample: Binance BTC/USDT perpetual one-minute candles."""
    return list(load_candles(sample_candles_path(), symbol=SAMPLE_SYMBOL).candles)


def _utc(ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(fmt)


def _q(x: Decimal, places: str = "0.01") -> str:
    """``x`` rounded for display (the computations keep every digit)."""
    return str(x.quantize(Decimal(places)))


@dataclass(frozen=True, slots=True)
class HourExample:
    """One hour of the sample as the dynamic interval sees it at the hour's last close.

    Attributes:
        start_ms: Open time of the hour's first candle.
        mean_range: Mean true range over the hour's candles.
        minutes: Open times of the last ``atr_window`` candles of the hour.
        ranges: Their true ranges (what the ATR averages).
        close: Close of the hour's last candle (the price decided on).
        atr: ATR at that close.
        raw_interval: ``base * scale * atr / baseline`` before the clamp.
        interval: The effective interval (clamped).
        static_buys: The nearest buy levels with the base interval.
        dynamic_buys: The nearest buy levels with the effective interval.
    """

    start_ms: int
    mean_range: Decimal
    minutes: tuple[int, ...]
    ranges: tuple[Decimal, ...]
    close: Decimal
    atr: Decimal
    raw_interval: Decimal
    interval: Decimal
    static_buys: tuple[Decimal, ...]
    dynamic_buys: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class VolatilityExample:
    """The volatility example: the sample's quietest and busiest hours.

    Attributes:
        grid: The grid configuration used (packaged grid plus ``DYNAMIC``).
        anchor: Lattice anchor: the sample's first close, as the engine takes it.
        first_atr: The first complete ATR of the sample (the measured baseline).
        median_atr: Median ATR over the sample.
        quiet: The hour with the smallest mean true range.
        volatile: The hour with the largest mean true range.
    """

    grid: GridConfig
    anchor: Decimal
    first_atr: Decimal
    median_atr: Decimal
    quiet: HourExample
    volatile: HourExample


def _buys(target: TargetState) -> tuple[Decimal, ...]:
    return tuple(o.price for o in target.openings[:LEVELS_SHOWN])


def _target(
    config: AppConfig,
    grid: GridConfig,
    price: Decimal,
    interval: Decimal,
    anchor: Decimal,
    slots: dict[Decimal, Slot] | None = None,
) -> TargetState:
    slots = slots or {}
    return compute_target(
        price=price,
        interval=interval,
        anchor=anchor,
        slots=slots,
        inventory=sum((s.position_qty for s in slots.values()), Decimal(0)),
        config=grid,
        instrument=config.to_instrument(),
        risk=RiskState.NORMAL,
    )


def volatility_example() -> VolatilityExample:
    """Compute the volatility example from the sample and the packaged configuration."""
    config = packaged_config()
    grid = config.grid.model_copy(update=DYNAMIC)
    candles = sample_candles()
    anchor = config.to_instrument().round_price_nearest(candles[0].close)
    atr = Atr(grid.atr_window, grid.atr_method)
    ranges: list[Decimal] = []
    values: list[Decimal | None] = []
    prev: Decimal | None = None
    for c in candles:
        ranges.append(true_range(c.high, c.low, prev))
        prev = c.close
        values.append(atr.update(c.high, c.low, c.close))
    measured = [v for v in values if v is not None]
    hours: dict[int, list[int]] = {}
    for i, c in enumerate(candles):
        hours.setdefault(c.open_time_ms // HOUR_MS, []).append(i)
    mean = {h: sum((ranges[i] for i in idx), Decimal(0)) / len(idx) for h, idx in hours.items()}

    def hour(h: int) -> HourExample:
        last = hours[h][-1]
        window = range(last - grid.atr_window + 1, last + 1)
        value = values[last]
        assert value is not None
        close = candles[last].close
        baseline = grid.baseline_atr
        assert baseline is not None
        interval = effective_interval(grid, value, baseline)
        return HourExample(
            start_ms=h * HOUR_MS,
            mean_range=mean[h],
            minutes=tuple(candles[i].open_time_ms for i in window),
            ranges=tuple(ranges[i] for i in window),
            close=close,
            atr=value,
            raw_interval=grid.base_interval * grid.volatility_scale * value / baseline,
            interval=interval,
            static_buys=_buys(_target(config, grid, close, grid.base_interval, anchor)),
            dynamic_buys=_buys(_target(config, grid, close, interval, anchor)),
        )

    ordered = sorted(mean, key=lambda h: (mean[h], h))
    return VolatilityExample(
        grid=grid,
        anchor=anchor,
        first_atr=measured[0],
        median_atr=Decimal(statistics.median(measured)),
        quiet=hour(ordered[0]),
        volatile=hour(ordered[-1]),
    )


def _levels(prices: Sequence[Decimal]) -> str:
    return ", ".join(str(p) for p in prices)


def render_volatility() -> str:
    """The volatility example's tables (the document's prose refers to their figures)."""
    ex = volatility_example()
    g, q, v = ex.grid, ex.quiet, ex.volatile
    lines = [
        f"Parameters: the packaged example's grid (`base_interval` {g.base_interval}, "
        f"`buy_window` {g.buy_window}, `safety_buffer` {g.safety_buffer}, tick "
        f"{packaged_config().instrument.tick_size}) with `dynamic_interval: true`, "
        f"`atr_window` {g.atr_window} (simple mean), `volatility_scale` {g.volatility_scale}, "
        f"`baseline_atr` {g.baseline_atr}, `min_interval` {g.min_interval}, `max_interval` "
        f"{g.max_interval}; anchor {ex.anchor} (the sample's first close). The sample's "
        f"median ATR({g.atr_window}) is {_q(ex.median_atr)}; its first complete one, which "
        f"the engine takes as the baseline when `baseline_atr` is unset, is {_q(ex.first_atr)}.",
        "",
        f"The last {g.atr_window} true ranges of each hour (USDT):",
        "",
        f"| quiet: {_utc(q.start_ms, '%Y-%m-%d')} | TR | volatile: "
        f"{_utc(v.start_ms, '%Y-%m-%d')} | TR |",
        "|---|---:|---|---:|",
    ]
    for qm, qr, vm, vr in zip(q.minutes, q.ranges, v.minutes, v.ranges, strict=True):
        lines.append(f"| {_utc(qm, '%H:%M')} | {qr} | {_utc(vm, '%H:%M')} | {vr} |")
    rows: list[tuple[str, str, str]] = [
        ("hour (UTC)", _utc(q.start_ms, "%Y-%m-%d %H:00"), _utc(v.start_ms, "%Y-%m-%d %H:00")),
        ("mean true range over the hour", _q(q.mean_range), _q(v.mean_range)),
        (f"ATR({g.atr_window}) at the hour's last close", _q(q.atr), _q(v.atr)),
        ("price (that close)", str(q.close), str(v.close)),
        (
            f"{g.base_interval} {TIMES} {g.volatility_scale} {TIMES} ATR / {g.baseline_atr}",
            _q(q.raw_interval),
            _q(v.raw_interval),
        ),
        (
            f"interval, clamped to [{g.min_interval}, {g.max_interval}]",
            _q(q.interval),
            _q(v.interval),
        ),
        (
            f"nearest {LEVELS_SHOWN} buys, static interval {g.base_interval}",
            _levels(q.static_buys),
            _levels(v.static_buys),
        ),
        (
            f"nearest {LEVELS_SHOWN} buys, dynamic interval",
            _levels(q.dynamic_buys),
            _levels(v.dynamic_buys),
        ),
        (
            f"span of the {g.buy_window}-level buy window",
            _q(g.buy_window * q.interval),
            _q(g.buy_window * v.interval),
        ),
    ]
    lines += ["", "| | quiet hour | volatile hour |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SkewExample:
    """The skew example: a long grid holding inventory, decided with and without skew.

    Attributes:
        grid: The packaged grid configuration (its ``skew_factor``).
        anchor: Lattice anchor.
        price: Market price.
        filled: Levels holding a position (one order each).
        inventory: Sum of their positions.
        ratio: ``(inventory - target) / max_inventory``.
        skewed: The skewed price.
        plain: The target without skew (``skew_factor`` 0).
        skewed_target: The target with the packaged ``skew_factor``.
    """

    grid: GridConfig
    anchor: Decimal
    price: Decimal
    filled: tuple[Decimal, ...]
    inventory: Decimal
    ratio: Decimal
    skewed: Decimal
    plain: TargetState
    skewed_target: TargetState


def skew_example() -> SkewExample:
    """Compute the skew example: the packaged long grid after buying six levels."""
    config = packaged_config()
    grid = config.grid
    assert grid.mode is GridMode.LONG
    assert grid.order_qty is not None
    anchor = config.to_instrument().round_price_nearest(sample_candles()[0].close)
    step = grid.base_interval
    filled = tuple(anchor - k * step for k in range(1, SKEW_FILLED + 1))
    slots = {
        level: Slot(level, position_qty=grid.order_qty, cost_basis=level * grid.order_qty)
        for level in filled
    }
    inventory = grid.order_qty * SKEW_FILLED
    plain = _target(
        config, grid.model_copy(update={"skew_factor": Decimal(0)}), SKEW_PRICE, step, anchor, slots
    )
    skewed = _target(config, grid, SKEW_PRICE, step, anchor, slots)
    return SkewExample(
        grid=grid,
        anchor=anchor,
        price=SKEW_PRICE,
        filled=filled,
        inventory=inventory,
        ratio=(inventory - grid.target_inventory) / grid.max_inventory,
        skewed=skewed_price(SKEW_PRICE, inventory, grid),
        plain=plain,
        skewed_target=skewed,
    )


def render_skew() -> str:
    """The skew example's table."""
    ex = skew_example()
    g = ex.grid

    def buys(t: TargetState) -> str:
        return _levels([o.price for o in t.openings])

    def sells(t: TargetState) -> str:
        return _levels([o.price for o in t.closes])

    lines = [
        f"Parameters: the packaged example's grid (`long`, `base_interval` {g.base_interval}, "
        f"`buy_window` {g.buy_window}, `order_qty` {g.order_qty}, `max_inventory` "
        f"{g.max_inventory}, `target_inventory` {g.target_inventory}, `skew_factor` "
        f"{g.skew_factor}, `safety_buffer` {g.safety_buffer}), anchor {ex.anchor}. The price "
        f"fell from the anchor to {ex.price} and filled the {len(ex.filled)} buys from "
        f"{ex.filled[0]} down to {ex.filled[-1]}: inventory {ex.inventory}, "
        f"`inventory_ratio` = {ex.inventory} / {g.max_inventory} = {ex.ratio}, "
        f"`skewed_price` = {ex.price} {TIMES} (1 {MINUS} {g.skew_factor} {TIMES} {ex.ratio}) = "
        f"{ex.skewed}. "
        "Each row is the strategy's target with no opening order resting (as after a risk "
        "mode ended):",
        "",
        "| | no skew (`skew_factor` 0) | skew |",
        "|---|---|---|",
        f"| price the window is placed from | {ex.price} | {_q(ex.skewed)} |",
        f"| grid center | {ex.plain.center} | {ex.skewed_target.center} |",
        f"| opening buys, nearest first | {buys(ex.plain)} | {buys(ex.skewed_target)} |",
        f"| closing sells (take-profits) | {sells(ex.plain)} | {sells(ex.skewed_target)} |",
        f"| held back by the exposure cap | {'yes' if ex.plain.capped else 'no'} | "
        f"{'yes' if ex.skewed_target.capped else 'no'} |",
    ]
    return "\n".join(lines)


EXAMPLES: dict[str, Callable[[], str]] = {
    "volatility": render_volatility,
    "skew": render_skew,
}
"""Every worked example of docs/design.md, by marker name."""


def block(text: str, name: str) -> str | None:
    """The content between ``name``'s markers in ``text`` (None when the markers are absent)."""
    found = _pattern(name).search(text)
    return None if found is None else found.group(2).rstrip("\n")


def _pattern(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    return re.compile(
        rf"(<!-- BEGIN EXAMPLE: {escaped} -->\n)(.*?)(<!-- END EXAMPLE: {escaped} -->)",
        re.DOTALL,
    )


def regenerate(text: str, examples: dict[str, Callable[[], str]] = EXAMPLES) -> str:
    """Return ``text`` with every marked example replaced by its fresh rendering."""
    for name, render in examples.items():
        body = render()

        def fill(match: re.Match[str], body: str = body) -> str:
            return f"{match.group(1)}{body}\n{match.group(3)}"

        text = _pattern(name).sub(fill, text)
    return text


def main() -> int:
    """Rewrite the worked examples in docs/design.md."""
    text = DESIGN.read_text(encoding="utf-8")
    fresh = regenerate(text)
    if fresh != text:
        DESIGN.write_text(fresh, encoding="utf-8", newline="\n")
        print(f"wrote: {DESIGN.relative_to(DESIGN.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
