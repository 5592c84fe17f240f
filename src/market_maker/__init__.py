"""Grid-trading market maker: a trailing grid of limit orders, built to survive crashes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("market-maker")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
