"""The read model says why a bot is HALTED: the breaker's kind, reason and time."""

from market_maker.config.app import AppConfig
from market_maker.config.loader import default_backtest_config_path, load_config
from market_maker.engine.risk_gate import RiskGate
from market_maker.risk.events import RiskEventKind
from market_maker.slots.book import SlotBook
from market_maker.state.model import GridState
from market_maker.state.views import halt_view, state_view


def _state(config: AppConfig, gate: RiskGate | None) -> GridState:
    state = GridState(config.bot_id, config.symbol, SlotBook(config.bot_id, config.symbol))
    state.risk_layer = None if gate is None else gate.snapshot()
    return state


def test_a_halt_shows_its_kind_reason_and_time_and_a_running_bot_shows_none() -> None:
    config = load_config(default_backtest_config_path())
    gate = RiskGate(config.risk, config.symbol)
    assert halt_view(_state(config, None)) is None  # no risk layer saved yet
    assert halt_view(_state(config, gate)) is None  # armed: nothing to explain

    reason = "exchange position 0.012, book expects 0.002 (83.3333% apart): halted"
    gate.halt(RiskEventKind.POSITION_DIVERGENCE, reason, 1_747_180_860_000)
    view = state_view(_state(config, gate))

    assert view["halt"] == {
        "kind": "position_divergence",
        "reason": reason,
        "since_ms": 1_747_180_860_000,
    }
