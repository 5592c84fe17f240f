"""Allow ``python -m market_maker``, the same as the ``market-maker`` console script."""

from market_maker.cli.main import main

if __name__ == "__main__":
    main()
