"""docs/design.md's worked examples show what the code computes on the bundled sample.

The tables are rendered by ``devtools.design_examples`` from the real ATR, interval and
strategy code; the prose around them quotes some of their figures. Both are checked here,
together with the behaviour the prose explains (a clamp, a wider grid, a shifted window).
"""

import inspect
import re
from decimal import Decimal
from pathlib import Path

import pytest

from devtools.design_examples import (
    EXAMPLES,
    block,
    regenerate,
    skew_example,
    volatility_example,
)
from market_maker.durable import workflows
from market_maker.engine.execution import CheckpointPolicy
from market_maker.engine.grid import MAX_ROUNDS, GridEngine
from market_maker.indicators.atr import Atr
from market_maker.stores.base import Store
from market_maker.strategy.interval import effective_interval

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"


@pytest.fixture(scope="module")
def text() -> str:
    return DESIGN.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_block_is_what_the_code_computes(text: str, name: str) -> None:
    shown = block(text, name)
    assert shown is not None, f"docs/design.md has no <!-- BEGIN EXAMPLE: {name} --> block"
    assert shown == EXAMPLES[name](), (
        f"docs/design.md's {name} example is stale: run `make docs` "
        "(python -m devtools.design_examples)"
    )


def test_regenerate_rewrites_a_stale_block() -> None:
    stale = "a\n<!-- BEGIN EXAMPLE: skew -->\nold figures\n<!-- END EXAMPLE: skew -->\nb\n"
    fresh = regenerate(stale)
    assert "old figures" not in fresh
    assert block(fresh, "skew") == EXAMPLES["skew"]()
    assert fresh.startswith("a\n") and fresh.endswith("\nb\n")


def test_volatility_example_follows_the_formula() -> None:
    ex = volatility_example()
    g = ex.grid
    for hour in (ex.quiet, ex.volatile):
        # The ATR shown is the mean of the true ranges shown.
        assert sum(hour.ranges, Decimal(0)) / g.atr_window == hour.atr
        assert hour.interval == effective_interval(g, hour.atr, g.baseline_atr)
    assert ex.quiet.mean_range < ex.volatile.mean_range
    # Quiet: the formula asks for less than min_interval and the clamp holds it there.
    assert g.min_interval is not None and ex.quiet.raw_interval < g.min_interval
    assert ex.quiet.interval == g.min_interval
    # Volatile: inside the clamp, wider than the base interval.
    assert g.max_interval is not None
    assert g.base_interval < ex.volatile.interval == ex.volatile.raw_interval < g.max_interval
    # What it does to the grid: the buys come closer together, or spread out.
    static_gap = ex.quiet.static_buys[0] - ex.quiet.static_buys[1]
    assert static_gap == g.base_interval
    assert ex.quiet.dynamic_buys[0] - ex.quiet.dynamic_buys[1] == g.min_interval
    assert ex.volatile.dynamic_buys[0] - ex.volatile.dynamic_buys[-1] > 4 * g.base_interval


def test_first_atr_is_what_the_engine_measures_as_its_baseline() -> None:
    from devtools.design_examples import sample_candles

    atr = Atr(14)
    first = next(
        v for c in sample_candles() if (v := atr.update(c.high, c.low, c.close)) is not None
    )
    assert first == volatility_example().first_atr


def test_skew_example_moves_the_buys_and_not_the_closes() -> None:
    ex = skew_example()
    plain = [o.price for o in ex.plain.openings]
    skewed = [o.price for o in ex.skewed_target.openings]
    assert ex.skewed < ex.price
    assert skewed[0] == plain[0] - ex.grid.base_interval  # one level further from the market
    assert ex.skewed_target.center == ex.plain.center - ex.grid.base_interval
    assert ex.plain.closes == ex.skewed_target.closes  # take-profits do not move
    assert [o.price for o in ex.plain.closes] == sorted(
        level + ex.grid.base_interval for level in ex.filled
    )
    # The exposure cap: positions plus resting buys stay within max_inventory.
    qty = sum((o.qty for o in ex.skewed_target.openings), Decimal(0))
    assert ex.inventory + qty == ex.grid.max_inventory
    assert ex.skewed_target.capped and len(skewed) < ex.grid.buy_window


@pytest.mark.parametrize(
    "figure",
    [
        # The prose quotes these; each is recomputed below and must still be true.
        "24.02",
        "121.89",
        "74.23",
        "50.70",
        "20.73",
        "103657.9",
    ],
)
def test_prose_figures_are_the_computed_ones(text: str, figure: str) -> None:
    vol, skew = volatility_example(), skew_example()
    computed = {
        "24.02": vol.quiet.raw_interval,
        "121.89": vol.volatile.interval,
        "74.23": vol.first_atr,
        "50.70": vol.median_atr,
        "20.73": skew.price - skew.skewed,
        "103657.9": skew.plain.openings[0].price
        + max(skew.grid.safety_buffer * skew.grid.base_interval, Decimal("0.1")),
    }
    assert str(computed[figure].quantize(Decimal(figure))) == figure
    outside = text
    for name in EXAMPLES:  # the figure is quoted in the prose, not only in a table
        shown = block(text, name)
        assert shown is not None
        outside = outside.replace(shown, "")
    assert figure in outside


def _mermaid(text: str) -> str:
    found = re.search(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert found is not None, "docs/design.md has lost its event-loop diagram"
    return found.group(1)


def test_event_loop_diagram_names_what_the_code_has(text: str) -> None:
    diagram = _mermaid(text)
    for entry in ("on_candle", "on_price_update", "on_order_update"):
        assert entry in diagram
        assert callable(getattr(GridEngine, entry))
    assert f"{MAX_ROUNDS} rounds at most" in diagram
    assert "CheckpointPolicy" in diagram
    assert "ON_STOP" in diagram
    assert CheckpointPolicy.ON_STOP.name == "ON_STOP"  # a rename breaks the diagram's text
    assert "Store.save" in diagram
    assert callable(Store.save)


def test_workflow_names_in_the_design_are_registered() -> None:
    names = set(re.findall(r"`(mm_\w+)`", DESIGN.read_text(encoding="utf-8")))
    assert names, "the design names the DBOS workflows and steps"
    source = inspect.getsource(workflows)
    for name in names:
        assert f'name="{name}"' in source, f"{name} is not a registered workflow or step"
    assert workflows.cycle_id("p-", 7) == "p-cycle-7"  # the id the design shows
