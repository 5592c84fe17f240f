"""The demo is a backtest: the same engine, venue and loop, so the same trading."""

from market_maker.backtest.runner import run_backtest
from market_maker.cli.demo import sample_candles, simulate
from market_maker.config.loader import default_config_path, load_config


def test_demo_trades_exactly_like_a_backtest_of_its_candles() -> None:
    config = load_config(default_config_path())
    steps = 40

    demo = simulate(config, steps)
    backtest = run_backtest(config, sample_candles(config.symbol, steps))

    summary = backtest.summary
    assert sum(r.fills for r in demo.rows) == summary.fills > 0
    assert sum(r.placed for r in demo.rows) == summary.orders_placed
    assert sum(r.cancelled for r in demo.rows) == summary.orders_canceled
    assert demo.book.realized_pnl == summary.realized_pnl
    assert demo.book.fees_paid == summary.fees_paid
    assert demo.rows[-1].inventory == summary.final_inventory
    assert demo.equity_change == summary.final_equity - summary.initial_equity
    assert [e.kind.value for e in demo.risk_events] == [e.kind for e in backtest.risk_events]
