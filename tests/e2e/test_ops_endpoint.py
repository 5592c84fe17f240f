"""End to end: the metrics, health and control endpoint of a running bot.

The paper exchange and ``market-maker run --config`` run as separate processes; the bot
serves its endpoint on a free port (``operations.http_port: 0``) and prints its URL. After
it traded a few hundred real candles, ``/metrics`` must show what the bot's own status
shows and what the exchange's ledger holds; ``/health`` is healthy; a control action with
the token is carried out by the bot, without it refused (401) and never queued; the
endpoint listens on 127.0.0.1 only.
"""

import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.domain.enums import OrderRole, Side, SlotStatus
from tests.support.ops_http import TOKEN, call, cli_json, running_bot, scrape
from tests.support.paper_binance import wait_until
from tests.support.paper_process import live_config

pytestmark = pytest.mark.timeout(240)

CANDLES = 900


def gauge(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


SAME = ("realized_pnl", "fees_paid", "position", "last_price", "slots", "open_orders")
"""What the bot's saved state and its published view must agree on for the comparison."""


def consistent_reading(url: str, config_path: Path) -> tuple[dict, dict, dict]:
    """A scrape, the published view it was taken from, and ``status --json`` equal to it.

    The bot keeps working while the test reads (its order cleaner may cancel an old order
    at any time): a reading counts when the scrape falls between two reads of the same
    published view, and the bot's saved state (``status``, read after) still equals it.
    """
    found: list[tuple[dict, dict, dict]] = []
    misses: list[str] = []

    def read() -> bool:
        view = call(f"{url}/api/view")[1]
        samples = scrape(url)
        if call(f"{url}/api/view")[1]["wall_ms"] != view["wall_ms"]:
            misses.append("a new view was published during the scrape")
            return False
        status = cli_json(config_path, "status")
        differ = {k: (status[k], view[k]) for k in SAME if status[k] != view[k]}
        if differ:
            misses.append(f"status and view differ: {differ}")
            return False
        found.append((status, view, samples))
        return True

    try:
        wait_until(read, "a reading of one published view", 90)
    except AssertionError:
        raise AssertionError(f"no consistent reading; the last misses: {misses[-3:]}") from None
    return found[0]


def test_metrics_health_and_control_of_a_running_paper_bot(tmp_path: Path) -> None:
    with running_bot(tmp_path, CANDLES) as run:
        url = run.url
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else

        status, view, samples = consistent_reading(url, run.config_path)
        ledger = run.control.ledger()

        # the bot's own state, to the last digit its float can hold
        for metric, key in [
            ("market_maker_realized_pnl", "realized_pnl"),
            ("market_maker_fees_paid", "fees_paid"),
            ("market_maker_inventory", "position"),
        ]:
            assert gauge(samples, metric) == float(Decimal(status[key])), metric
        assert gauge(samples, "market_maker_unrealized_pnl") == float(
            Decimal(view["unrealized_pnl"])
        )
        assert gauge(samples, "market_maker_equity") == float(Decimal(view["equity"]))
        assert gauge(samples, "market_maker_last_price") == float(Decimal(status["last_price"]))
        assert float(Decimal(status["realized_pnl"])) != 0  # the grid traded round trips
        for slot_status in SlotStatus:
            expected = sum(s["status"] == slot_status.value for s in status["slots"])
            got = gauge(samples, "market_maker_active_slots", status=slot_status.value)
            assert got == expected, slot_status
        assert sum(s["status"] == "LOCKED" for s in status["slots"]) > 0
        for side in Side:
            for role in OrderRole:
                expected = sum(
                    o["side"] == side.value and o["role"] == role.value
                    for o in status["open_orders"]
                )
                got = gauge(samples, "market_maker_open_orders", side=side.value, role=role.value)
                assert got == expected, (side, role)
        assert gauge(samples, "market_maker_risk_mode_active") == 0
        assert gauge(samples, "market_maker_circuit_breaker_open") == 0
        assert gauge(samples, "market_maker_up") == 1
        assert gauge(samples, "market_maker_health") == 0

        # the exchange's ledger
        fills = len(ledger.fills)
        assert fills > 10
        assert gauge(samples, "market_maker_orders_filled_total") == fills
        assert gauge(samples, "market_maker_orders_placed_total") == len(ledger.orders)
        cancelled = sum(o.state.status.value == "CANCELED" for o in ledger.orders)
        assert gauge(samples, "market_maker_orders_cancelled_total") >= cancelled
        statuses = [o.state.status.value for o in ledger.orders]
        rejected = gauge(samples, "market_maker_orders_rejected_total")
        assert rejected == statuses.count("REJECTED") + statuses.count("EXPIRED"), statuses
        resting = sum(o.state.status.value in ("NEW", "PARTIALLY_FILLED") for o in ledger.orders)
        open_total = sum(
            gauge(samples, "market_maker_open_orders", side=s.value, role=r.value)
            for s in Side
            for r in OrderRole
        )
        assert open_total == resting
        # latency histograms saw the decisions and the requests
        assert gauge(samples, "market_maker_tick_to_order_seconds_count") > 0
        creates = gauge(
            samples, "market_maker_exchange_request_seconds_count", operation="create_order"
        )
        assert creates == len(ledger.orders)

        # health
        code, health = call(f"{url}/health")
        assert (code, health) == (200, {"status": "healthy", "reasons": []})

        # control: refused without the token (nothing queued), carried out with it
        body = {"kind": "reconcile", "args": {"dry_run": True}}
        code, answer = call(f"{url}/api/commands", "POST", body)
        assert code == 401, answer
        code, answer = call(f"{url}/api/commands", "POST", body, token="wrong-" + TOKEN)
        assert code == 401, answer
        assert cli_json(run.config_path, "commands") == []
        code, queued = call(f"{url}/api/commands", "POST", body, token=TOKEN)
        assert code == 202, queued
        assert queued["actor"] == "dashboard:127.0.0.1"

        def carried_out() -> bool:
            commands = cli_json(run.config_path, "commands")
            return len(commands) == 1 and commands[0]["status"] == "done"

        wait_until(carried_out, "the bot carrying out the dashboard's command", 30)
        (done,) = cli_json(run.config_path, "commands")
        assert done["id"] == queued["id"] and done["result"]["dry_run"] is True
        code, listed = call(f"{url}/api/commands")
        assert code == 200 and [c["id"] for c in listed] == [queued["id"]]
        code, fills_listed = call(f"{url}/api/fills?limit=5")
        assert code == 200 and len(fills_listed) == 5
        code, history = call(f"{url}/api/history")
        assert code == 200 and history[-1]["price"] == status["last_price"]
    assert TOKEN not in run.bot.out + run.bot.err  # the token is never printed or logged
    assert "refused: missing or wrong token" in run.bot.err


def test_a_port_in_use_stops_run_with_exit_2_and_a_message_naming_the_setting(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = live_config(tmp_path, "http://127.0.0.1:9", "spot", operations={"http_port": port})
        done = subprocess.run(
            [sys.executable, "-m", "market_maker", "run", "--config", str(config), "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(
        f"error: operations.http_host/http_port: cannot listen on 127.0.0.1:{port}"
    )
    assert "choose a free port (0 = any)" in done.stderr
    assert "Traceback" not in done.stderr
    assert "operations: http" not in done.stdout
