"""The ``operations`` section: the HTTP endpoint (metrics, health, dashboard), health rules."""

from pydantic import BaseModel, ConfigDict, Field


class OperationsConfig(BaseModel):
    """How a running bot shows itself: the HTTP endpoint and the thresholds of its health.

    The endpoint serves Prometheus metrics (``/metrics``), the health verdict (``/health``),
    the web dashboard (``/``) and its API. Control actions need the bearer token of the
    environment variable ``MARKET_MAKER_DASHBOARD_TOKEN``; it is never read from this file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    http_enabled: bool = Field(
        True, description="Serve metrics, health and the dashboard while `run --config` trades."
    )
    http_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the endpoint listens on; 127.0.0.1 keeps it on this machine "
        "(0.0.0.0: every interface, put it behind a firewall or a reverse proxy).",
    )
    http_port: int = Field(
        9309, ge=0, le=65535, description="TCP port of the endpoint; 0 = any free port."
    )
    stale_price_s: float = Field(
        30, gt=0, description="Seconds without a new price after which the bot is unhealthy."
    )
    error_window_s: float = Field(
        60, gt=0, description="Window, in seconds, over which exchange errors are counted."
    )
    max_errors_in_window: int = Field(
        5,
        ge=0,
        description="Exchange errors (timeouts, rate limits, outages, auth) in the window "
        "above which the bot is degraded.",
    )
    stuck_pending_s: float = Field(
        60,
        gt=0,
        description="Seconds a slot may stay PENDING (order sent, outcome unknown) before it "
        "counts as stuck (degraded).",
    )
    stuck_locked_s: float | None = Field(
        None,
        gt=0,
        description="Seconds a slot may stay LOCKED on the same order before it counts as "
        "stuck; none = never (a resting grid order may wait for the price for days).",
    )
    history_points: int = Field(
        2000,
        ge=10,
        le=100_000,
        description="Points of price, equity, inventory and PnL the dashboard's charts keep "
        "(one per published view, every 2 s: 2,000 = about 67 minutes).",
    )
