"""The grid strategy as pure functions: interval, lattice, target state and diff."""
