"""Risk rules: volatility monitor, circuit breaker, order cleaner, reconciler, safety checks.

Pure and deterministic like the strategy: no I/O, no clock (time arrives as ``ts_ms`` inside
the inputs), no randomness. Engines feed the components and carry out what they return.
"""

from market_maker.risk.breaker import CircuitBreaker, CircuitBreakerSnapshot
from market_maker.risk.checks import (
    CheckResult,
    PlannedOrder,
    SafetyCheck,
    SafetyCheckError,
    SafetyInputs,
    raise_on_failure,
    run_safety_checks,
)
from market_maker.risk.cleaner import OrderCancel, clean_orders
from market_maker.risk.config import (
    Aggregation,
    CircuitBreakerConfig,
    OrderCleanerConfig,
    ReconcilerConfig,
    RiskConfig,
    RiskMonitorConfig,
    SafetyChecksConfig,
    UnknownOrderPolicy,
)
from market_maker.risk.events import RiskEvent, RiskEventKind, combine_states
from market_maker.risk.monitor import RiskMonitor, RiskMonitorSnapshot
from market_maker.risk.reconcile import (
    AdoptOrder,
    BookUpdate,
    CancelUnknownOrder,
    Correction,
    CorrectPosition,
    Halt,
    QueryOrder,
    ReconcileResult,
    SuspectDivergence,
    reconcile,
)

__all__ = [
    "AdoptOrder",
    "Aggregation",
    "BookUpdate",
    "CancelUnknownOrder",
    "CheckResult",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitBreakerSnapshot",
    "CorrectPosition",
    "Correction",
    "Halt",
    "OrderCancel",
    "OrderCleanerConfig",
    "PlannedOrder",
    "QueryOrder",
    "ReconcileResult",
    "ReconcilerConfig",
    "RiskConfig",
    "RiskEvent",
    "RiskEventKind",
    "RiskMonitor",
    "RiskMonitorConfig",
    "RiskMonitorSnapshot",
    "SafetyCheck",
    "SafetyCheckError",
    "SafetyChecksConfig",
    "SafetyInputs",
    "SuspectDivergence",
    "UnknownOrderPolicy",
    "clean_orders",
    "combine_states",
    "raise_on_failure",
    "reconcile",
    "run_safety_checks",
]
