"""Backtesting: the run loop over historical data and its reports."""
