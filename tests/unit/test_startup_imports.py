"""Starting the CLI for a backtest loads no database, exchange or web library.

Every ``market-maker`` command imports the whole CLI; SQLAlchemy and psycopg alone took
about 0.3 s of a backtest's start (a third of a backtest on the bundled sample), so the
operator commands, the config checks and the backtest import them only where they use them.
"""

import subprocess
import sys

HEAVY = ("sqlalchemy", "psycopg", "dbos", "ccxt", "fastapi", "uvicorn")


def test_the_cli_and_a_backtest_import_no_database_exchange_or_web_library() -> None:
    probe = (
        "import sys\n"
        "from market_maker.cli.main import app\n"
        "from market_maker.backtest.runner import run_backtest\n"
        "from market_maker.config.loader import default_backtest_config_path, load_config\n"
        "load_config(default_backtest_config_path())\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above can fail: importing the operator queue pulls SQLAlchemy in."""
    probe = "import sys\nimport market_maker.ops.commands\nprint('sqlalchemy' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "True"
