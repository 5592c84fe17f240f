"""Pure, incremental market indicators."""
