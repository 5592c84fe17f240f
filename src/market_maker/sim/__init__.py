"""Simulated venues for demos, tests and (later) backtests."""
