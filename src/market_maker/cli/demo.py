"""``market-maker demo``: the grid deciding and trading along a sample price path.

Until the backtester lands this is the quick start's main job: it runs the real strategy,
diff and slot book against the in-memory order ledger, and prints what happened.
"""

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from market_maker.config.app import AppConfig
from market_maker.domain.orders import ActionKind
from market_maker.sim.ledger import OrderLedger
from market_maker.slots.book import SlotBook
from market_maker.strategy.decide import decide

START_PRICE = Decimal(100_000)
PATH_BP = (0, -15, -32, -18, 6, 24, 41, 26, -9, -26, -4, 18, 35, 12, -21, -37, -14, 3)
"""Sample path: moves from the start price in basis points (a range-bound oscillation)."""


def sample_path(steps: int, start: Decimal = START_PRICE) -> list[Decimal]:
    """The demo's price path: ``steps`` prices oscillating around ``start``."""
    return [start * (1 + Decimal(PATH_BP[i % len(PATH_BP)]) / 10_000) for i in range(steps)]


def run_demo(config: AppConfig, steps: int, console: Console) -> None:
    """Run the grid along the sample path and print each decision and the final books."""
    instrument = config.to_instrument()
    book = SlotBook(config.bot_id, config.symbol)
    ledger = OrderLedger(config.symbol)
    anchor: Decimal | None = None
    center: Decimal | None = None
    cash = Decimal(0)
    steps_table = Table(title=f"{config.symbol} grid demo ({config.grid.mode.value} mode)")
    for col in ("step", "price", "center", "fills", "placed", "cancelled", "inventory"):
        steps_table.add_column(col, justify="right")
    price = START_PRICE
    for step, price in enumerate(sample_path(steps)):
        fills = 0
        for update in ledger.move_to(price):
            for fill in book.apply_update(update).fills:
                fills += 1
                cash -= fill.side.sign * fill.quote + fill.fee
        decision = decide(
            price=price,
            book=book,
            config=config.grid,
            instrument=instrument,
            anchor=anchor,
            previous_center=center,
        )
        anchor, center = decision.anchor, decision.target.center
        if decision.center_moved:
            book.reset_post_only_failures()
        placed = cancelled = 0
        for action in decision.actions:
            if action.kind is ActionKind.PLACE:
                assert action.place is not None
                book.record_intent(action)
                book.apply_update(ledger.place(action.place))
                placed += 1
            else:
                book.record_cancel_sent(action.slot_level)
                cancelled_report = ledger.cancel(action.client_order_id)
                if cancelled_report is not None:
                    book.apply_update(cancelled_report)
                cancelled += 1
        steps_table.add_row(
            str(step),
            str(price),
            str(center),
            str(fills),
            str(placed),
            str(cancelled),
            str(book.inventory),
        )
    console.print(steps_table)
    console.print(_slots_table(book))
    unrealized = book.unrealized_pnl(price)
    console.print(
        f"realized PnL {book.realized_pnl}  unrealized {unrealized}  fees {book.fees_paid}  "
        f"-> equity change {cash + book.inventory * price} "
        f"(= realized + unrealized - fees: {book.realized_pnl + unrealized - book.fees_paid})"
    )


def _slots_table(book: SlotBook) -> Table:
    table = Table(title="slots")
    for col in ("level", "status", "position", "entry", "order", "order price", "qty"):
        table.add_column(col, justify="right")
    for level in sorted(book.slots, reverse=True):
        slot = book.slots[level]
        order = slot.active_order
        table.add_row(
            str(level),
            slot.status.value,
            str(slot.position_qty),
            "" if slot.entry_price is None else str(slot.entry_price),
            "" if order is None else f"{order.side.value} {order.role.value}",
            "" if order is None else str(order.price),
            "" if order is None else str(order.qty),
        )
    return table
