"""Engines: drive the pure strategy and slot book from market and order events."""
