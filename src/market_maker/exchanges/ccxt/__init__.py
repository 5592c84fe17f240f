"""Adapters over ccxt: the only package that imports it (an architecture test checks)."""
