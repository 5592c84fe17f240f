"""Command-line interface: the ``market-maker`` console script (see ``market_maker.cli.main``)."""
