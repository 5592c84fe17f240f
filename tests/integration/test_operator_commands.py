"""Operator commands through the control channel: a real queue in a real database, a real
engine on a simulated exchange, driven by the live runner with a manual clock.

Commands are submitted between polls (as another process would) and must be carried out
by the runner on its own thread between decisions, each with its outcome recorded: done
with what it did, refused with the reason and nothing changed, or failed.
"""

from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from market_maker.domain.enums import (
    OrderStatus,
    OrderType,
    RiskState,
    Side,
    SlotStatus,
    TimeInForce,
)
from market_maker.domain.orders import PlaceOrderRequest
from market_maker.durable import migrate
from market_maker.durable.database import create_engine
from market_maker.ops.commands import (
    Command,
    CommandKind,
    CommandQueue,
    CommandStatus,
    wall_ms,
)
from market_maker.slots.client_ids import id_prefix
from market_maker.stores.memory import MemoryStore
from tests.integration.test_live_runner import SYMBOL, Run, make_venue
from tests.support.live import CANDLE_MS, T0, Script

pytestmark = pytest.mark.timeout(60)

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'ops.db'}" if request.param == "sqlite" else POSTGRES
    engine = create_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(sa.table("mm_commands")))
    yield engine
    engine.dispose()


def test_a_queue_keeps_each_bots_commands_in_order_and_finishes_each_once(
    database: sa.Engine,
) -> None:
    clock = iter(range(1000, 2000, 10))
    mine = CommandQueue(database, "bot1", "BTC/USDT", clock=lambda: next(clock))
    other = CommandQueue(database, "bot2", "BTC/USDT")
    first = mine.submit(CommandKind.RISK_RESET, {}, "cli:alice@host")
    other.submit(CommandKind.STOP, {}, "cli:bob@host")
    second = mine.submit(CommandKind.SLOT_RELEASE, {"level": "100.5"}, "dashboard:127.0.0.1")
    assert [c.id for c in mine.pending()] == [first.id, second.id]
    assert mine.pending()[1].args == {"level": "100.5"}
    mine.finish(first.id, CommandStatus.DONE, {"message": "ok"})
    mine.finish(first.id, CommandStatus.FAILED, {"message": "late"})  # finished: left alone
    got = mine.get(first.id)
    assert got is not None and got.status is CommandStatus.DONE and got.result == {"message": "ok"}
    assert got.done_ms is not None and got.done_ms > got.created_ms
    assert [c.id for c in mine.pending()] == [second.id]
    assert mine.get(other.pending()[0].id) is None  # another bot's command is not ours
    assert [c.kind for c in mine.recent()] == [CommandKind.SLOT_RELEASE, CommandKind.RISK_RESET]


class Operated:
    """A runner with a command channel; ``send`` queues a command as another process would."""

    def __init__(
        self, tmp_path: Path, steps_before: int = 0, queued: Sequence[CommandKind] = ()
    ) -> None:
        self.database = create_engine(f"sqlite:///{tmp_path / 'ops.db'}")
        migrate.upgrade(self.database)
        self.queue = CommandQueue(self.database, "live", "BTC/USDT")
        # sent while the bot was not running: before this run (its runner) existed
        self.queued = [self.send(kind) for kind in queued]
        self.venue = make_venue()
        self.script = Script([])
        self.run = Run(self.venue, MemoryStore(), self.script)
        self.run.runner.commands = self.queue

    def send(self, kind: CommandKind, **args: object) -> Command:
        return self.queue.submit(kind, args, "test")

    def outcome(self, command: Command) -> Command:
        found = self.queue.get(command.id)
        assert found is not None
        return found


def test_commands_are_carried_out_between_polls_with_their_outcome(tmp_path: Path) -> None:
    ops = Operated(tmp_path)
    venue, engine = ops.venue, ops.run.engine
    sent: dict[str, Command] = {}

    def send(name: str, kind: CommandKind, **args: object) -> None:
        sent[name] = ops.send(kind, **args)

    def send_release_of_an_open_order() -> None:
        slot = next(s for s in engine.state.book.slots.values() if s.status is SlotStatus.LOCKED)
        send("release_open", CommandKind.SLOT_RELEASE, level=str(slot.level))

    ops.script.steps = [
        *venue.minute(0, "100000", "99990", "99980", "99970", "99960", "99955"),
        send_release_of_an_open_order,
        lambda: send("preview", CommandKind.RECONCILE, dry_run=True),
        lambda: send("not_a_slot", CommandKind.SLOT_RELEASE, level="1"),
        lambda: send("halt", CommandKind.HALT, reason="operator test"),
        lambda: None,  # the halt is carried out at this poll: openings cancelled, none placed
        lambda: send("breaker", CommandKind.BREAKER_RESET),
        *venue.minute(1, "99948", "99940"),
        lambda: send("cancel", CommandKind.CANCEL_OPENINGS),
        lambda: None,
        lambda: send("stop", CommandKind.STOP),
        *venue.minute(2, "99950", "99960", "99970"),  # never reached: the bot stops first
    ]
    ops.run.run()
    outcomes = {name: ops.outcome(c) for name, c in sent.items()}
    status = {name: c.status for name, c in outcomes.items()}
    assert status == {
        "release_open": CommandStatus.REFUSED,
        "preview": CommandStatus.DONE,
        "not_a_slot": CommandStatus.REFUSED,
        "halt": CommandStatus.DONE,
        "breaker": CommandStatus.DONE,
        "cancel": CommandStatus.DONE,
        "stop": CommandStatus.DONE,
    }
    assert "still open on the exchange" in outcomes["release_open"].result["message"]
    assert outcomes["preview"].result == {
        "message": "reconciliation would correct 0 thing(s)",
        "dry_run": True,
        "corrections": [],
    }
    assert outcomes["halt"].result["before"] == RiskState.NORMAL.value
    assert outcomes["halt"].result["after"] == RiskState.HALTED.value
    assert "operator test" in outcomes["halt"].result["message"]
    assert outcomes["halt"].result["reason"] == "operator test (test)"  # who, for the record
    assert outcomes["breaker"].result["before"] == RiskState.HALTED.value
    assert outcomes["breaker"].result["after"] == RiskState.NORMAL.value
    assert outcomes["cancel"].result["cancels_sent"] > 0
    assert engine.stopped == 1 and ops.queue.pending() == []
    assert not any(e[0] == "price" and int(e[1]) >= T0 + 2 * CANDLE_MS for e in engine.log)
    # the cancels reached the exchange: only openings (buys of this long grid) were cancelled
    canceled = [o for o in venue.exchange.orders.values() if o.status is OrderStatus.CANCELED]
    assert len(canceled) >= outcomes["cancel"].result["cancels_sent"]
    assert all(o.request.side is Side.BUY for o in canceled)


def test_commands_queued_while_stopped_run_at_the_start_and_a_stop_is_refused(
    tmp_path: Path,
) -> None:
    ops = Operated(tmp_path, queued=[CommandKind.STOP, CommandKind.RISK_RESET])
    stop, reset = ops.queued
    ops.script.steps = [*ops.venue.minute(0, "100000", "99990")]
    ops.run.run()
    assert ops.outcome(stop).status is CommandStatus.REFUSED
    assert "not running" in ops.outcome(stop).result["message"]
    assert ops.outcome(reset).status is CommandStatus.DONE
    assert ops.run.engine.stopped == 1  # it ran to the end of its script: the stop was void
    assert ops.run.runner.commands_done == 2


def test_a_stop_sent_while_the_bot_starts_up_is_carried_out(tmp_path: Path) -> None:
    ops = Operated(tmp_path)
    while wall_ms() <= ops.run.runner.created_wall_ms:  # at most a millisecond
        pass
    stop = ops.send(CommandKind.STOP)  # the run exists (it takes its lock as it starts)
    ops.script.steps = [*ops.venue.minute(0, "100000", "99990")]
    ops.run.run()
    assert ops.outcome(stop).status is CommandStatus.DONE, ops.outcome(stop).result
    assert ops.run.engine.stopped == 1
    assert not any(e[0] == "price" for e in ops.run.engine.log)  # stopped before trading


def test_a_dry_run_reconciliation_changes_nothing_and_apply_corrects(tmp_path: Path) -> None:
    ops = Operated(tmp_path)
    venue, engine = ops.venue, ops.run.engine
    stray = f"{id_prefix('live', SYMBOL)}stray"
    sent: list[Command] = []
    open_after_dry_run: list[bool] = []

    def place_a_stray_order() -> None:
        """An order with the bot's prefix that no slot knows (e.g. left by a lost intent)."""
        venue.exchange.place_order(
            PlaceOrderRequest(
                symbol=SYMBOL,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC,
                price=Decimal("90000"),
                qty=Decimal("0.001"),
                post_only=True,
                reduce_only=False,
                client_order_id=stray,
            )
        )

    def still_open() -> None:
        open_after_dry_run.append(venue.exchange.orders[stray].status is OrderStatus.NEW)

    ops.script.steps = [
        *venue.minute(0, "100000", "99990"),
        place_a_stray_order,
        lambda: sent.append(ops.send(CommandKind.RECONCILE, dry_run=True)),
        lambda: None,
        still_open,
        lambda: sent.append(ops.send(CommandKind.RECONCILE, dry_run=False)),
        lambda: None,
        lambda: None,
    ]
    ops.run.run()
    dry, applied = (ops.outcome(c) for c in sent)
    assert dry.status is CommandStatus.DONE and applied.status is CommandStatus.DONE
    assert [c["kind"] for c in dry.result["corrections"]] == ["CancelUnknownOrder"]
    assert stray in dry.result["corrections"][0]["reason"]
    assert open_after_dry_run == [True]  # the dry run cancelled nothing
    assert [c["kind"] for c in applied.result["corrections"]] == ["CancelUnknownOrder"]
    assert venue.exchange.orders[stray].status is OrderStatus.CANCELED
    assert engine.corrections["CancelUnknownOrder"] == 1
    assert [c.kind for c in engine.recent_corrections] == ["CancelUnknownOrder"]
