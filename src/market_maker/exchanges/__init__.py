"""Exchange adapters behind one interface: the simulated exchange and (later) ccxt."""
