"""The alerts section of the configuration and the alerter built from it and the environment."""

from pathlib import Path

import pytest

from market_maker.config.alerts import AlertKind
from market_maker.config.loader import ConfigError, load_config
from market_maker.domain.errors import MarketMakerError
from market_maker.ops.alert_senders import TelegramSender, WebhookSender
from market_maker.ops.alerts import alerter_from_config

BASE = """\
bot_id: grid1
symbol: BTC/USDT
instrument: {tick_size: 0.1, step_size: 0.001}
grid: {base_interval: 50, order_qty: 0.002, max_inventory: 0.02}
"""
TOKEN = "123456789:AAEhBP0av28mBWZP3s_demo-token"


def config(tmp_path: Path, alerts: str = ""):  # type: ignore[no-untyped-def]
    path = tmp_path / "bot.yaml"
    path.write_text(BASE + alerts)
    return load_config(path)


def test_without_a_destination_there_is_no_alerter(tmp_path: Path) -> None:
    app = config(tmp_path)
    assert not app.alerts.enabled
    assert tuple(app.alerts.kinds) == tuple(AlertKind)  # every kind by default
    assert alerter_from_config(app, {TELEGRAM_ENV: TOKEN}) is None


TELEGRAM_ENV = "MARKET_MAKER_TELEGRAM_TOKEN"


def test_a_webhook_and_a_telegram_chat_make_two_senders(tmp_path: Path) -> None:
    app = config(
        tmp_path,
        "alerts:\n  webhook_url: https://hooks.example.com/mm\n  telegram_chat_id: -100123\n"
        "  kinds: [halted, exchange_errors]\n  min_interval_s: 60\n",
    )
    assert app.alerts.telegram_chat_id == "-100123"  # a YAML number, kept as the chat's id
    alerter = alerter_from_config(app, {TELEGRAM_ENV: TOKEN})
    assert alerter is not None
    webhook, telegram = alerter.senders
    assert isinstance(webhook, WebhookSender) and webhook.url == "https://hooks.example.com/mm"
    assert isinstance(telegram, TelegramSender) and telegram.chat_id == "-100123"
    assert TOKEN not in repr(telegram)
    assert alerter.kinds == {AlertKind.HALTED, AlertKind.EXCHANGE_ERRORS}
    assert (alerter.bot_id, alerter.symbol, alerter.min_interval_s) == ("grid1", "BTC/USDT", 60)


def test_a_telegram_chat_without_a_token_names_the_variable_and_the_fix(tmp_path: Path) -> None:
    app = config(tmp_path, "alerts: {telegram_chat_id: '42'}\n")
    with pytest.raises(MarketMakerError) as raised:
        alerter_from_config(app, {})
    assert str(raised.value) == (
        "alerts.telegram_chat_id is '42' but MARKET_MAKER_TELEGRAM_TOKEN is not set: export "
        "the bot's token (from Telegram's @BotFather) in the environment, or remove "
        "alerts.telegram_chat_id"
    )


def test_a_malformed_token_is_refused_without_showing_it(tmp_path: Path) -> None:
    app = config(tmp_path, "alerts: {telegram_chat_id: '42'}\n")
    bad = "not a token/../secret-part"
    with pytest.raises(MarketMakerError, match="does not look like a Telegram bot token") as raised:
        alerter_from_config(app, {TELEGRAM_ENV: bad})
    assert "secret-part" not in str(raised.value)


@pytest.mark.parametrize(
    ("alerts", "field", "words"),
    [
        ("webhook_url: hooks.example.com", "alerts.webhook_url", "write it like https://"),
        ("telegram_api_url: ftp://a.b", "alerts.telegram_api_url", "is not an http(s) URL"),
        ("kinds: [halted, sms]", "alerts.kinds[1]", "must be 'risk_mode', 'halted'"),
        ("min_interval_s: -1", "alerts.min_interval_s", "greater than or equal to 0"),
        ("outage_failures: 0", "alerts.outage_failures", "greater than or equal to 1"),
        ("tokens: abc", "alerts.tokens", ""),
    ],
)
def test_bad_alert_settings_are_reported_field_by_field(
    tmp_path: Path, alerts: str, field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, f"alerts:\n  {alerts}\n")
    (problem,) = raised.value.problems
    assert problem.field == field
    assert words in f"{problem.message} {problem.fix}"
