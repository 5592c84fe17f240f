"""Risk configuration: frozen, strict, every field documented with a unit."""

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from market_maker.risk.config import (
    CircuitBreakerConfig,
    OrderCleanerConfig,
    ReconcilerConfig,
    RiskConfig,
    RiskMonitorConfig,
)

MODELS: list[type[BaseModel]] = [
    RiskMonitorConfig,
    CircuitBreakerConfig,
    OrderCleanerConfig,
    ReconcilerConfig,
    RiskConfig,
]


@pytest.mark.parametrize("model", MODELS)
def test_every_field_has_a_one_line_description(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        assert "\n" not in field.description


@pytest.mark.parametrize("model", MODELS)
def test_configs_are_frozen_and_reject_unknown_fields(model: type[BaseModel]) -> None:
    config = model()
    name = next(iter(model.model_fields))
    with pytest.raises(ValidationError):
        setattr(config, name, getattr(config, name))
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({"no_such_field": 1})


def test_defaults_are_conservative() -> None:
    risk = RiskConfig()
    assert risk.monitor.enabled
    assert risk.breaker.cooldown_s == 0  # manual reset
    assert risk.cleaner.max_order_age_s == 0
    assert risk.reconciler.unknown_orders.value == "cancel"


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (RiskMonitorConfig, {"window_candles": 0}),
        (RiskMonitorConfig, {"volume_multiplier": "0"}),
        (CircuitBreakerConfig, {"max_drawdown_pct": "101"}),
        (CircuitBreakerConfig, {"max_drawdown_quote": "0"}),
        (CircuitBreakerConfig, {"cooldown_s": -1}),
        (ReconcilerConfig, {"max_divergence_pct": "-1"}),
    ],
)
def test_out_of_range_values_are_refused(model: type[BaseModel], values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(values)


def test_yaml_style_values_parse_exactly() -> None:
    risk = RiskConfig.model_validate(
        {"breaker": {"max_drawdown_quote": "250.5", "cooldown_s": "60"}}
    )
    assert risk.breaker.max_drawdown_quote == Decimal("250.5")
    assert risk.breaker.cooldown_s == 60
