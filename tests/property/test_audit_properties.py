"""The books-vs-ledger audit: books and a ledger built from the same fills always agree, and
removing, duplicating or altering any one booked fill is always reported."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from market_maker.domain.orders import OrderUpdate, PlaceOrderRequest
from market_maker.live.audit import (
    BookedFillRow,
    Books,
    ExchangeFill,
    ExchangeLedger,
    audit,
    ledger_view,
    recompute,
    resent_rejected,
)
from market_maker.paper.paper_json import Ledger, LedgerOrder
from market_maker.slots.client_ids import make_client_order_id

pytestmark = pytest.mark.timeout(120)

D = Decimal
SYMBOL = "BTC/USDT"


@st.composite
def fill_lists(draw: st.DrawFn) -> list[ExchangeFill]:
    """Fills of a few slots, each order filled in one or more pieces."""
    count = draw(st.integers(min_value=1, max_value=12))
    fills: list[ExchangeFill] = []
    for generation in range(count):
        level = D(draw(st.sampled_from(["99900", "99950", "100000", "100050.5"])))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        cid = make_client_order_id("bot", SYMBOL, level, side, generation)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            qty = D(draw(st.sampled_from(["0.001", "0.002", "0.0005", "0.01"])))
            price = level + D(draw(st.integers(min_value=-50, max_value=50))) / 10
            fee = (qty * price * D("0.0002")).quantize(D("0.00000001"))
            fills.append(ExchangeFill(cid, side, qty, price, fee))
    return fills


def _books(fills: list[ExchangeFill], booked: list[BookedFillRow], offset: Decimal) -> Books:
    """The bot's books as if it had booked ``fills`` (its fill rows are ``booked``)."""
    again = recompute(fills)
    return Books(again.position, offset, again.realized_pnl, again.fees, booked, ["x-open"])


def _ledger(fills: list[ExchangeFill], offset: Decimal) -> ExchangeLedger:
    return ExchangeLedger(fills, ["x-open"], recompute(fills).position + offset)


def _rows(fills: list[ExchangeFill]) -> list[BookedFillRow]:
    return [BookedFillRow(f.client_order_id, f.qty, f.fee) for f in fills]


@given(fill_lists(), st.sampled_from([D(0), D("0.5")]))
def test_books_and_ledger_of_the_same_fills_agree(fills: list[ExchangeFill], offset: D) -> None:
    assert audit(_books(fills, _rows(fills), offset), _ledger(fills, offset)) == []


@given(fill_lists(), st.data())
def test_a_missing_booked_fill_is_reported(fills: list[ExchangeFill], data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(fills) - 1))
    kept = fills[:i] + fills[i + 1 :]
    found = audit(_books(kept, _rows(kept), D(0)), _ledger(fills, D(0)))
    fills_found = [m for m in found if m.check == "fills"]
    assert len(fills_found) == 1
    assert fills[i].client_order_id in fills_found[0].message
    assert "exchange-only [" in fills_found[0].message


@given(fill_lists(), st.data())
def test_a_fill_booked_twice_is_reported(fills: list[ExchangeFill], data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(fills) - 1))
    rows = _rows(fills)
    found = audit(_books(fills, [*rows, rows[i]], D(0)), _ledger(fills, D(0)))
    assert [m.check for m in found] == ["fills"]
    assert "bot-only [" in found[0].message and fills[i].client_order_id in found[0].message


@given(fill_lists(), st.data(), st.sampled_from(["qty", "fee", "client_order_id"]))
def test_an_altered_booked_fill_is_reported(
    fills: list[ExchangeFill], data: st.DataObject, what: str
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(fills) - 1))
    rows = _rows(fills)
    row = rows[i]
    changed = {
        "qty": replace(row, qty=row.qty + D("0.001")),
        "fee": replace(row, fee=row.fee + D("0.00000001")),
        "client_order_id": replace(row, client_order_id=row.client_order_id + "x"),
    }[what]
    rows[i] = changed
    found = audit(_books(fills, rows, D(0)), _ledger(fills, D(0)))
    assert [m.check for m in found] == ["fills"]


@given(fill_lists(), st.data())
def test_books_of_an_altered_fill_disagree_on_the_figures_too(
    fills: list[ExchangeFill], data: st.DataObject
) -> None:
    """A bot that booked a wrong quantity: its fills, position and PnL are all reported."""
    i = data.draw(st.integers(min_value=0, max_value=len(fills) - 1))
    wrong = list(fills)
    wrong[i] = replace(fills[i], qty=fills[i].qty * 2)
    found = {m.check for m in audit(_books(wrong, _rows(wrong), D(0)), _ledger(fills, D(0)))}
    assert {"fills", "position"} <= found


def test_open_orders_and_one_slot_two_orders_and_duplicates_are_reported() -> None:
    a = make_client_order_id("bot", SYMBOL, D("100"), Side.BUY, 1)
    b = make_client_order_id("bot", SYMBOL, D("100"), Side.BUY, 2)
    books = Books(D(0), D(0), D(0), D(0), [], [a])
    ledger = ExchangeLedger([], [a, b], D(0), duplicates=[a])
    found = audit(books, ledger)
    assert [m.check for m in found] == ["slot-orders", "duplicate-ids", "open-orders"]
    assert f"only on the exchange [{b}], only in the bot none" in found[2].message


def test_a_position_off_the_exchange_balance_is_reported_with_both_values() -> None:
    books = Books(D(0), D("0.5"), D(0), D(0), [], [])
    found = audit(books, ExchangeLedger([], [], D("0.4")))
    assert [str(m) for m in found] == ["position: bot 0 + offset 0.5 = 0.5, exchange 0.4"]


def test_a_fill_of_an_order_that_is_not_ours_is_left_out_of_the_figures() -> None:
    ours = ExchangeFill(
        make_client_order_id("bot", SYMBOL, D("100"), Side.BUY, 1), Side.BUY, D(1), D(100), D(0)
    )
    again = recompute([ours, replace(ours, client_order_id="manual-1")])
    assert (again.position, again.unknown_ids) == (D(1), ("manual-1",))


def _held(cid: str, status: OrderStatus) -> LedgerOrder:
    request = PlaceOrderRequest(
        SYMBOL, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, D(100), D(1), True, False, cid
    )
    state = OrderUpdate(SYMBOL, "1", cid, Side.BUY, status, D(100), D(1))
    return LedgerOrder(request, state)


def test_a_resent_id_is_a_duplicate_only_when_the_exchange_had_accepted_its_order() -> None:
    accepted = make_client_order_id("bot", SYMBOL, D("100"), Side.BUY, 1)
    refused = make_client_order_id("bot", SYMBOL, D("101"), Side.BUY, 1)
    ledger = Ledger(
        (_held(accepted, OrderStatus.NEW), _held(refused, OrderStatus.REJECTED)),
        (),
        (refused, accepted, refused),
    )
    assert resent_rejected(ledger) == {refused}
    view = ledger_view(ledger, D(0))
    assert list(view.duplicates) == [accepted]
    assert list(view.open_orders) == [accepted]
    books = Books(D(0), D(0), D(0), D(0), [], [accepted])
    assert [str(m) for m in audit(books, view)] == [
        f"duplicate-ids: client order id sent twice: {accepted}"
    ]
