"""The endpoint's application (FastAPI's TestClient) on a real, migrated SQLite database.

Control actions: every kind is refused without the token or with a wrong one (401) and
when no token is configured (403), and nothing is queued then; with the token each is
queued with the client as its actor. Every action is logged, the token never.
"""

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from market_maker.config.app import AppConfig
from market_maker.durable import migrate
from market_maker.ops.commands import CommandKind
from market_maker.ops.http import DatabaseProbe, bearer_ok, create_app
from market_maker.ops.wiring import BotOperations

TOKEN = "s3cret-token-for-tests"
ARGS = {
    CommandKind.STOP: {},
    CommandKind.RISK_RESET: {},
    CommandKind.HALT: {"reason": "by hand"},
    CommandKind.BREAKER_RESET: {},
    CommandKind.CANCEL_OPENINGS: {},
    CommandKind.SLOT_RELEASE: {"level": "61800"},
    CommandKind.RECONCILE: {"dry_run": True},
}


def config(folder: Path) -> AppConfig:
    return AppConfig.model_validate(
        {
            "bot_id": "web1",
            "symbol": "BTC/USDT",
            "instrument": {"tick_size": "0.1", "step_size": "0.001"},
            "grid": {"base_interval": "50", "order_qty": "0.002", "max_inventory": "0.02"},
            "durable": {"database_url": f"sqlite:///{folder / 'bot.db'}"},
        }
    )


@pytest.fixture
def ops(tmp_path: Path) -> Iterator[BotOperations]:
    operations = BotOperations.for_config(config(tmp_path))
    migrate.upgrade(operations.database)
    try:
        yield operations
    finally:
        operations.close()


def client(ops: BotOperations, token: str | None = TOKEN) -> TestClient:
    return TestClient(create_app(ops, token=token))


@pytest.mark.parametrize("kind", list(CommandKind))
@pytest.mark.parametrize(
    ("configured", "header", "code"),
    [
        (TOKEN, None, 401),
        (TOKEN, "Bearer wrong", 401),
        (TOKEN, f"Basic {TOKEN}", 401),
        (TOKEN, f"Bearer {TOKEN}x", 401),
        (None, f"Bearer {TOKEN}", 403),
        (None, None, 403),
    ],
)
def test_every_action_is_refused_without_the_right_token_and_nothing_is_queued(
    ops: BotOperations,
    kind: CommandKind,
    configured: str | None,
    header: str | None,
    code: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = {} if header is None else {"Authorization": header}
    with caplog.at_level(logging.INFO, logger="market_maker.ops.http"):
        answer = client(ops, configured).post(
            "/api/commands", json={"kind": kind.value, "args": ARGS[kind]}, headers=headers
        )
    assert answer.status_code == code, answer.text
    if code == 403:
        assert "control disabled" in answer.json()["error"]
    assert ops.commands.recent() == []
    (record,) = caplog.records
    assert f"{kind.value!r} by dashboard:testclient refused" in record.getMessage()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", list(CommandKind))
def test_every_action_with_the_token_is_queued_for_the_bot(
    ops: BotOperations, kind: CommandKind, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="market_maker.ops.http"):
        answer = client(ops).post(
            "/api/commands",
            json={"kind": kind.value, "args": ARGS[kind]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.status_code == 202, answer.text
    (queued,) = ops.commands.recent()
    assert (queued.kind, dict(queued.args), queued.actor) == (
        kind,
        ARGS[kind],
        "dashboard:testclient",
    )
    assert queued.status.value == "pending"
    assert answer.json()["id"] == queued.id
    assert f"{kind.value} {ARGS[kind]} by dashboard:testclient: queued" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "explode"}, "kind must be one of stop, risk_reset"),
        ({"kind": "slot_release", "args": {"level": "high"}}, "needs args.level, a price"),
        ({"kind": "reconcile", "args": {"dry_run": "no"}}, "must be true or false"),
        ({"kind": "halt", "args": {"reason": 3}}, "halt's args.reason must be a text"),
        ({"kind": "halt", "args": {"reason": "x" * 201}}, "at most 200 letters"),
        ({"kind": "stop", "args": [1]}, "args must be a JSON object"),
        ("not an object", "kind must be one of"),
        ({"kind": ["stop"]}, "kind must be one of"),
        ({"kind": "x" * 10_000}, "kind must be one of"),
    ],
)
def test_a_malformed_action_is_refused_with_what_is_wrong(
    ops: BotOperations, body: object, words: str
) -> None:
    answer = client(ops).post(
        "/api/commands", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 422
    assert words in answer.json()["error"]
    assert ops.commands.recent() == []


def test_bearer_comparison() -> None:
    assert bearer_ok(f"Bearer {TOKEN}", TOKEN)
    assert bearer_ok(f"bearer {TOKEN}", TOKEN)
    assert not bearer_ok(None, TOKEN)
    assert not bearer_ok(TOKEN, TOKEN)
    assert not bearer_ok(f"Bearer {TOKEN[:-1]}", TOKEN)


def test_reads_before_the_first_view(ops: BotOperations) -> None:
    web = client(ops)
    health = web.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"
    assert "starting" in health.json()["reasons"][0]
    metrics = web.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'market_maker_up{bot_id="web1",symbol="BTC/USDT"} 1.0' in metrics.text
    assert 'market_maker_health{bot_id="web1",symbol="BTC/USDT"} 2.0' in metrics.text
    assert web.get("/api/view").json() == {}
    assert web.get("/api/history").json() == []
    assert web.get("/api/fills").json() == []
    assert web.get("/api/commands").json() == []
    assert web.get("/api/fills?limit=0").status_code == 422


def test_a_database_that_does_not_answer_is_unhealthy(tmp_path: Path) -> None:
    broken = config(tmp_path).model_copy(
        update={
            "durable": config(tmp_path).durable.model_copy(
                update={"database_url": f"sqlite:///{tmp_path / 'missing' / 'bot.db'}"}
            )
        }
    )
    operations = BotOperations.for_config(broken)
    try:
        reasons = client(operations).get("/health").json()["reasons"]
    finally:
        operations.close()
    assert reasons[0].startswith("database unreachable: unable to open database file")


def test_the_page_is_rendered_with_the_published_view_and_its_files_are_served(
    ops: BotOperations,
) -> None:
    ops.publisher.latest = {
        "symbol": "BTC/USDT",
        "risk_state": "HALTED",
        "halt": {"kind": "manual", "reason": "<b>operator</b>"},
        "realized_pnl": "1.25",
        "slots": [
            {"level": "100", "status": "FREE", "position_qty": "0", "cost_basis": "0",
             "realized_pnl": "0", "fees_paid": "0", "client_order_id": ""},
            {"level": "150", "status": "LOCKED", "position_qty": "0.1", "cost_basis": "15",
             "realized_pnl": "1.25", "fees_paid": "0.01", "client_order_id": "web1-x"},
        ],
    }  # fmt: skip
    web = client(ops)
    page = web.get("/").text
    assert page.index('data-level="150"') < page.index('data-level="100"')  # highest first
    assert page.count('class="release"') == 1  # only the slot holding an order
    assert "manual: &lt;b&gt;operator&lt;/b&gt;" in page  # escaped
    assert '<div class="value" id="fig-realized_pnl">1.25</div>' in page
    assert "cdn" not in page.lower()  # nothing from the internet
    for name, start in [("plotly.min.js", b"/**"), ("dashboard.js", b"//")]:
        answer = web.get(f"/static/{name}")
        assert answer.status_code == 200 and answer.content.startswith(start), name
    assert web.get("/static/../http.py").status_code == 404
    assert web.get("/static/secrets.yaml").status_code == 404


def test_a_database_server_that_never_answers_is_reported_within_the_probe_timeout() -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        database = sa.create_engine(f"postgresql+psycopg://u@127.0.0.1:{port}/db")
        probe = DatabaseProbe(database, timeout_s=0.3)
        started = time.monotonic()
        assert probe.error() == "no answer within 0.3 s"
        assert time.monotonic() - started < 5
        assert probe.error() == "the previous check has not answered yet"
    database.dispose()


def test_the_probe_answers_for_a_database_that_works(ops: BotOperations) -> None:
    probe = DatabaseProbe(ops.database)
    assert probe.error() is None
    assert probe.error() is None  # the previous probe finished: a new one runs
