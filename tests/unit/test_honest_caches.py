"""The strategy's memo tables never let one way of writing a decimal answer for another.

``Decimal("100.00") == Decimal("100")`` and they hash alike, so a table keyed by value
returns whatever was computed first; the grid center it reports (and the state stores)
would then depend on what an earlier backtest in the same process happened to use.
"""

from decimal import Decimal

from market_maker.domain.enums import Spacing
from market_maker.domain.instrument import Instrument
from market_maker.strategy.config import GridConfig
from market_maker.strategy.lattice import Lattice
from market_maker.strategy.planner import Planner
from market_maker.strategy.target import StrategyMemo, frame_at

INST = Instrument("BTC/USDT", Decimal("0.01"), Decimal("0.00001"))
CONFIG = GridConfig(order_qty=Decimal("0.001"), max_inventory=Decimal(1))


MEMO = StrategyMemo()
"""One memo for every call, as a planner keeps one across its decisions."""


def center(anchor: str, interval: str) -> str:
    frame, _ = frame_at(
        Decimal("100250"), Decimal(interval), Decimal(anchor), Decimal(0), CONFIG, INST, MEMO
    )
    return str(frame.center)


def test_the_center_is_written_like_its_own_anchor_whatever_came_first() -> None:
    assert center("100000", "100") == "100300"
    assert center("100000.00", "100") == "100300.00"
    assert center("100000", "100.0") == "100300.0"
    assert center("100000", "100") == "100300"


def test_lattices_written_differently_are_different_keys() -> None:
    a = Lattice(Decimal("100.00"), Decimal(5), Spacing.ARITHMETIC)
    b = Lattice(Decimal("100"), Decimal(5), Spacing.ARITHMETIC)
    assert a != b and {a: 1}.get(b) is None
    assert a == Lattice(Decimal("100.00"), Decimal(5), Spacing.ARITHMETIC)
    assert hash(a) == hash(Lattice(Decimal("100.00"), Decimal(5), Spacing.ARITHMETIC))


def test_instruments_written_differently_quantise_differently_and_are_different_keys() -> None:
    two = Instrument("BTC/USDT", Decimal("0.01"), Decimal("0.001"))
    three = Instrument("BTC/USDT", Decimal("0.010"), Decimal("0.001"))
    assert two != three and {two: 1}.get(three) is None
    assert str(two.round_price_nearest(Decimal("100.004"))) == "100.00"
    assert str(three.round_price_nearest(Decimal("100.004"))) == "100.000"


def test_each_planner_owns_its_memo_tables() -> None:
    a, b = Planner(CONFIG, INST), Planner(CONFIG, INST)
    assert a.memo is not b.memo
    lattice = a.memo.lattice(Decimal(100), Decimal(5), Spacing.ARITHMETIC)
    assert a.memo.level(lattice, 3) == Decimal(115)
    assert a.memo.level.cache_info().currsize == 1
    assert b.memo.level.cache_info().currsize == 0  # nothing leaks from one to the other


def test_the_memo_makes_one_lattice_per_way_of_writing_it() -> None:
    memo = StrategyMemo()
    plain = memo.lattice(Decimal("100"), Decimal(5), Spacing.ARITHMETIC)
    zeros = memo.lattice(Decimal("100.00"), Decimal(5), Spacing.ARITHMETIC)
    assert plain is not zeros
    assert str(memo.level(zeros, 1)) == "105.00" and str(memo.level(plain, 1)) == "105"
    assert memo.lattice(Decimal("100"), Decimal(5), Spacing.ARITHMETIC) is plain
