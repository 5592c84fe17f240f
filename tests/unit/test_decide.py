from decimal import Decimal

from market_maker.domain.instrument import Instrument
from market_maker.slots.book import SlotBook
from market_maker.strategy.config import GridConfig
from market_maker.strategy.decide import decide

INST = Instrument("BTC/USDT", Decimal("0.01"), Decimal("0.00001"))


def test_configured_baseline_atr_scales_the_interval_without_being_passed() -> None:
    config = GridConfig(
        dynamic_interval=True,
        baseline_atr=Decimal(50),
        base_interval=Decimal(100),
        order_qty=Decimal("0.001"),
        max_inventory=Decimal(1),
    )
    book = SlotBook("t", "BTC/USDT")
    decision = decide(
        price=Decimal(100_000), book=book, config=config, instrument=INST, atr=Decimal(100)
    )
    assert decision.target.interval == 200
    measured = decide(
        price=Decimal(100_000),
        book=book,
        config=config,
        instrument=INST,
        atr=Decimal(100),
        baseline_atr=Decimal(100),
    )
    assert measured.target.interval == 100


def test_first_decision_anchors_on_the_tick_and_reports_no_center_move() -> None:
    config = GridConfig(order_qty=Decimal("0.001"), max_inventory=Decimal(1))
    book = SlotBook("t", "BTC/USDT")
    first = decide(price=Decimal("100000.004"), book=book, config=config, instrument=INST)
    assert first.anchor == Decimal("100000.00") and not first.center_moved
    second = decide(
        price=Decimal(100_250),
        book=book,
        config=config,
        instrument=INST,
        anchor=first.anchor,
        previous_center=first.target.center,
    )
    # The center is the level above the buy window's first level (100200: at least 10 below).
    assert second.center_moved and second.target.center == Decimal("100300.00")
