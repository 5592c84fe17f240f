"""Live runs: the Durable engine against a real (or paper) exchange, until a signal."""
