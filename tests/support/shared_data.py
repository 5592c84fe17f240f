"""Where the machine's shared market data lives (``../shared/data`` of the repository).

Those files are not part of the repository (some may not be redistributed); tests that
need real long datasets read them from here. ``MARKET_MAKER_SHARED_DATA`` overrides the
location. A missing file fails the test with the fix, never skips it.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = (ROOT.parent / "shared" / "data", Path("/work/shared/data"))


def shared_data(relative: str) -> Path:
    """The path of ``relative`` under the shared data folder; fails the test if absent."""
    env = os.environ.get("MARKET_MAKER_SHARED_DATA")
    roots = [Path(env)] if env else list(CANDIDATES)
    for root in roots:
        path = root / relative
        if path.exists():
            return path
    pytest.fail(
        f"{relative} not found under {', '.join(map(str, roots))}: set "
        "MARKET_MAKER_SHARED_DATA to the folder holding the shared market data"
    )
