"""Problems found in a market-data file, and the error that reports them.

Every loader collects *all* the problems of a file before it fails, so one run shows the
user everything to fix, each with the file and the line (or row) it is on.
"""

from dataclasses import dataclass

from market_maker.domain.errors import MarketMakerError

MAX_LISTED = 20
"""How many problems ``str(DataError)`` lists before it summarises the rest."""

FIX_ROWS = "fix the rows, or pass --skip-bad-rows to drop them"
"""The usual hint for bad rows."""


@dataclass(frozen=True, slots=True)
class DataProblem:
    """One thing wrong with a market-data file.

    Attributes:
        file: The file, as the caller named it.
        line: Where in the file: the line number as a text editor shows it for CSV (the
            header is line 1), ``"row N"`` (1-based) for Feather and Parquet, empty when
            the problem is with the whole file.
        message: What was expected and what was found.
    """

    file: str
    line: str
    message: str

    def __str__(self) -> str:
        if not self.line:
            return f"{self.file}: {self.message}"
        if self.line.isdigit():
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file} ({self.line}): {self.message}"


class DataError(MarketMakerError, ValueError):
    """A market-data file cannot be used as it is.

    Attributes:
        problems: Every problem found, in file order.
        fix: What the user can do about them.
    """

    def __init__(self, problems: list[DataProblem], fix: str) -> None:
        self.problems = problems
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} in market data:"]
        lines += [f"  {problem}" for problem in self.problems[:MAX_LISTED]]
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED} more")
        lines.append(f"To fix: {self.fix}")
        return "\n".join(lines)
