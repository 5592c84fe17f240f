"""The incremental planner decides exactly like the reference ``decide``.

One planner follows one book through a random life: price walks that fill orders, risk
state changes, lost exchange reports (slots left PENDING and resolved later), pruning and
post-only resets. At every step the planner's decision (target with its band, actions,
flags) must equal the reference functions' decision on the same book.
"""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from test_decision_band import INST, configs

from market_maker.domain.enums import HaltedClosingPolicy, RiskState
from market_maker.domain.orders import ActionKind
from market_maker.exchanges.simulated import SimulatedExchange, SimulatedExchangeConfig
from market_maker.slots.book import SlotBook
from market_maker.strategy.config import GridConfig
from market_maker.strategy.decide import decide
from market_maker.strategy.planner import Planner

step = st.tuples(
    st.integers(-400, 400),  # price move
    st.sampled_from([RiskState.NORMAL] * 4 + [RiskState.RISK_MODE, RiskState.HALTED]),
    st.sampled_from(["all", "all", "all", "lose-last", "prune", "reset"]),
)


@settings(max_examples=300, deadline=None)
@given(
    configs(),
    st.sampled_from(list(HaltedClosingPolicy)),
    st.sampled_from([None, Decimal("0.3")]),
    st.sampled_from([0, 0, 3, 8]),
    st.lists(step, min_size=1, max_size=40),
)
def test_planner_matches_the_reference_at_every_step(  # type: ignore[no-untyped-def]
    config, halted_policy, fill_fraction, max_open_orders, steps
) -> None:
    config = GridConfig(**{**config.model_dump(), "halted_closing_orders": halted_policy})
    book = SlotBook("b", "BTC/USDT")
    venue = SimulatedExchange(
        "BTC/USDT",
        {"USDT": Decimal(10**7)},
        SimulatedExchangeConfig(
            max_fill_fraction=fill_fraction, spot=False, qty_step=INST.step_size
        ),
    )
    planner = Planner(config, INST)
    anchor = center = None
    price = Decimal(100_000)
    lost: list[str] = []
    for move, risk, mode in steps:
        price += Decimal(move)
        for update in venue.on_trade(len(steps), price, Decimal("0.005")):
            book.apply_update(update)  # partial fills when the venue takes a fraction
        for cid in lost:  # a restarted engine looks lost orders up by client order id
            found = venue.get_order("BTC/USDT", cid)
            if found is None:
                book.resolve_absent(cid)
            else:
                book.apply_update(found)
        lost.clear()
        args = {
            "price": price,
            "book": book,
            "risk": risk,
            "anchor": anchor,
            "max_open_orders": max_open_orders,
        }
        expected = decide(config=config, instrument=INST, previous_center=center, **args)
        actual = planner.decide(previous_center=center, **args)
        assert actual == expected
        anchor, center = expected.anchor, expected.target.center
        for i, action in enumerate(expected.actions):
            if action.kind is ActionKind.PLACE:
                assert action.place is not None
                book.record_intent(action)
                if mode == "lose-last" and i == len(expected.actions) - 1:
                    if move % 2:  # reached the exchange, the report was lost
                        venue.place_order(action.place)
                    lost.append(action.client_order_id)
                    continue
                book.apply_update(venue.place_order(action.place))
            else:
                assert action.cancel is not None
                book.record_cancel_sent(action.slot_level)
                update = venue.cancel_order(action.cancel)
                if update is not None:
                    book.apply_update(update)
        if mode == "prune":
            book.prune(keep=[o.level for o in expected.target.openings])
        elif mode == "reset":
            book.reset_post_only_failures()
