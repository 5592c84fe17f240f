"""The bot's books against the exchange's ledger: what must agree after any run.

A pure comparison of plain data, used by the crash harness (``live.chaos``, after hundreds
of SIGKILLs) and by the end of a paper run (``live.run_summary``). The caller reads both
sides (the bot's database or engine, the exchange's ledger) into the types below; the
checks are:

1. ``slot-orders``: no slot has two orders open on the exchange;
2. ``duplicate-ids``: no client order id of an order the exchange accepted was sent again
   as a new order (``ledger_view`` leaves out the ids of orders it rejected);
3. ``fills``: every fill the exchange reports is booked exactly once by the bot (matched by
   client order id, quantity and fee; a fill booked twice, missing or altered shows);
4. ``position``: the bot's position (slots plus the offset it holds outside them) equals
   the exchange's; and the slots' position equals the one recomputed from the exchange's
   fills;
5. ``pnl``: realized PnL and fees equal those recomputed from the exchange's fills, slot
   by slot, with the same accounting the book uses (``slots.accounting.book_fill``);
6. ``open-orders``: the orders resting on the exchange are exactly the ones the bot holds.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from market_maker.domain.decimals import ZERO
from market_maker.domain.enums import OrderStatus, Side
from market_maker.domain.errors import ClientOrderIdError
from market_maker.domain.orders import OrderUpdate
from market_maker.paper.paper_json import Ledger
from market_maker.slots.accounting import book_fill
from market_maker.slots.client_ids import parse_client_order_id
from market_maker.slots.model import Slot

CHECKS = ("slot-orders", "duplicate-ids", "fills", "position", "pnl", "open-orders")
"""The names of the checks, in the order they run (``Mismatch.check``)."""


@dataclass(frozen=True, slots=True)
class ExchangeFill:
    """One fill as the exchange reports it.

    Attributes:
        client_order_id: The order's id (ours: it names the slot).
        side: Buy or sell.
        qty: Quantity filled, base currency.
        price: Price of this fill.
        fee: Fee of this fill, quote currency.
    """

    client_order_id: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class BookedFillRow:
    """One fill as the bot booked it (a row of its fill ledger).

    Attributes:
        client_order_id: The order's id.
        qty: Quantity booked, base currency.
        fee: Fee booked, quote currency.
    """

    client_order_id: str
    qty: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class Books:
    """The bot's side: what its state and fill ledger say.

    Attributes:
        position: Position the slots hold, base currency (signed).
        position_offset: Base currency the bot knows is on the exchange outside the slots.
        realized_pnl: Realized PnL booked, before fees.
        fees_paid: Fees booked.
        fills: Every fill booked.
        open_orders: Client order ids of the orders the bot holds open.
    """

    position: Decimal
    position_offset: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal
    fills: Sequence[BookedFillRow]
    open_orders: Collection[str]


@dataclass(frozen=True, slots=True)
class ExchangeLedger:
    """The exchange's side: its fill list, its resting orders and its balance.

    Attributes:
        fills: Every fill, in the order they happened.
        open_orders: Client order ids of the orders resting now.
        position: The account's base balance (spot) or position (derivatives).
        duplicates: Client order ids placed again after the first time.
    """

    fills: Sequence[ExchangeFill]
    open_orders: Collection[str]
    position: Decimal
    duplicates: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way the books and the ledger disagree.

    Attributes:
        check: Which check found it (one of ``CHECKS``).
        message: What differs, with both sides' values.
    """

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True, slots=True)
class Recomputed:
    """Position, realized PnL and fees recomputed from a fill list alone."""

    position: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    unknown_ids: tuple[str, ...] = field(default=())


def exchange_fill(report: OrderUpdate) -> ExchangeFill:
    """The fill an exchange's fill report carries (its last fill)."""
    return ExchangeFill(
        report.client_order_id,
        report.side,
        report.last_fill_qty,
        report.last_fill_price,
        report.last_fee,
    )


def ledger_view(ledger: Ledger, position: Decimal, prefix: str = "") -> ExchangeLedger:
    """The paper exchange's ledger as the audit reads it; ``position`` is its base balance.

    ``prefix``: only orders and fills whose client order id starts with it (the bot's own,
    ``slots.client_ids.id_prefix``): trades made by hand on the same account are not the
    bot's to book (its position offset carries them).

    A client order id sent again counts as a duplicate only when the exchange accepted
    its first order: an order the exchange rejected (a post-only order that would take,
    say) never existed, so re-sending its id cannot make a second order. A bot does this
    legitimately when it is killed after the rejection and before recording it: the
    re-run looks the order up, finds none (Binance keeps no rejected order and frees its
    id) and sends it again. ``resent_rejected`` lists those ids.
    """
    harmless = resent_rejected(ledger)
    return ExchangeLedger(
        fills=[exchange_fill(f) for f in ledger.fills if f.client_order_id.startswith(prefix)],
        open_orders=[
            o.state.client_order_id
            for o in ledger.orders
            if not o.state.status.is_terminal and o.state.client_order_id.startswith(prefix)
        ],
        position=position,
        duplicates=tuple(c for c in ledger.duplicates if c not in harmless),
    )


def resent_rejected(ledger: Ledger) -> frozenset[str]:
    """Client order ids sent again whose first order the exchange had rejected."""
    rejected = {
        o.request.client_order_id for o in ledger.orders if o.state.status is OrderStatus.REJECTED
    }
    return frozenset(c for c in ledger.duplicates if c in rejected)


def books_from_status(status: Mapping[str, Any], fills: Sequence[BookedFillRow]) -> Books:
    """The bot's books from its read model (``state.views.state_view``) and its fill rows."""
    return Books(
        position=Decimal(status["position"]),
        position_offset=Decimal(status["position_offset"] or "0"),
        realized_pnl=Decimal(status["realized_pnl"]),
        fees_paid=Decimal(status["fees_paid"]),
        fills=fills,
        open_orders=[o["client_order_id"] for o in status["open_orders"]],
    )


def recompute(fills: Iterable[ExchangeFill]) -> Recomputed:
    """Book ``fills`` slot by slot, as the bot's book does, from empty slots.

    A fill whose client order id is not one of ours (no slot to book it on) is listed in
    ``unknown_ids`` and left out.
    """
    slots: dict[Decimal, Slot] = {}
    realized = fees = ZERO
    unknown: list[str] = []
    for f in fills:
        try:
            level = parse_client_order_id(f.client_order_id).level
        except ClientOrderIdError:
            unknown.append(f.client_order_id)
            continue
        slot = slots.get(level) or Slot(level=level)
        slot, pnl = book_fill(slot, f.side, f.qty, f.qty * f.price, f.fee)
        slots[level] = slot
        realized += pnl
        fees += f.fee
    position = sum((s.position_qty for s in slots.values()), ZERO)
    return Recomputed(position, realized, fees, tuple(unknown))


def _level(client_order_id: str) -> Decimal | str:
    try:
        return parse_client_order_id(client_order_id).level
    except ClientOrderIdError:
        return client_order_id  # not ours: counted on its own


def _listed(items: Iterable[object]) -> str:
    shown = sorted(map(str, items))
    return "[" + ", ".join(shown) + "]" if shown else "none"


def audit(books: Books, ledger: ExchangeLedger) -> list[Mismatch]:
    """Every disagreement between ``books`` and ``ledger``; empty when they agree."""
    found: list[Mismatch] = []
    per_slot = Counter(_level(cid) for cid in ledger.open_orders)
    found += [
        Mismatch("slot-orders", f"slot {level} has {n} open orders on the exchange")
        for level, n in sorted(per_slot.items(), key=str)
        if n > 1
    ]
    found += [
        Mismatch("duplicate-ids", f"client order id sent twice: {cid}") for cid in ledger.duplicates
    ]
    booked = Counter((f.client_order_id, f.qty, f.fee) for f in books.fills)
    reported = Counter((f.client_order_id, f.qty, f.fee) for f in ledger.fills)
    if booked != reported:
        found.append(
            Mismatch(
                "fills",
                f"exchange-only {_listed((reported - booked).elements())}, "
                f"bot-only {_listed((booked - reported).elements())}",
            )
        )
    held = books.position + books.position_offset
    if held != ledger.position:
        found.append(
            Mismatch(
                "position",
                f"bot {books.position} + offset {books.position_offset} = {held}, "
                f"exchange {ledger.position}",
            )
        )
    again = recompute(ledger.fills)
    if books.position != again.position:
        found.append(
            Mismatch(
                "position",
                f"slots hold {books.position}, the exchange's fills add up to {again.position}",
            )
        )
    if (books.realized_pnl, books.fees_paid) != (again.realized_pnl, again.fees):
        found.append(
            Mismatch(
                "pnl",
                f"bot realized/fees {books.realized_pnl}/{books.fees_paid}, recomputed from "
                f"the exchange's fills {again.realized_pnl}/{again.fees}",
            )
        )
    bot_open, resting = set(books.open_orders), set(ledger.open_orders)
    if bot_open != resting:
        found.append(
            Mismatch(
                "open-orders",
                f"only on the exchange {_listed(resting - bot_open)}, "
                f"only in the bot {_listed(bot_open - resting)}",
            )
        )
    return found


__all__ = [
    "CHECKS",
    "BookedFillRow",
    "Books",
    "ExchangeFill",
    "ExchangeLedger",
    "Mismatch",
    "Recomputed",
    "audit",
    "books_from_status",
    "exchange_fill",
    "ledger_view",
    "recompute",
]
