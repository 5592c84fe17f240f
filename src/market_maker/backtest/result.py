"""What a backtest produces: the summary, every fill, and the sampled equity curve.

All money and quantities are ``Decimal``; the JSON report writes them as decimal strings.
"""

import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, overload

MAX_EQUITY_POINTS = 5_000
"""Most points an equity curve keeps, however long the run (even: see ``EquityCurve``)."""


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill as the bot booked it.

    Attributes:
        ts_ms: Event time (the candle's open time for candle backtests, the trade's time
            for tick backtests).
        side: ``BUY`` or ``SELL``.
        price: Average price of the booked quantity.
        qty: Quantity, base currency.
        fee: Fee, quote currency.
        liquidity: ``maker`` or ``taker``.
        client_order_id: The order's deterministic id.
        slot: Level of the slot that owns the order.
        realized_pnl: PnL this fill realised, before fees.
    """

    ts_ms: int
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    liquidity: str
    client_order_id: str
    slot: Decimal
    realized_pnl: Decimal


_SEP = "\x1f"
"""Separates a fill's fields in ``FillLog`` (the ASCII unit separator)."""
_CODES = {
    ("BUY", "maker"): "b",
    ("BUY", "taker"): "B",
    ("SELL", "maker"): "s",
    ("SELL", "taker"): "S",
}
"""A fill's side and liquidity, as one letter of its line."""
_DECODE = {code: pair for pair, code in _CODES.items()}


class FillLog(Sequence[FillRecord]):
    """Every fill of a run, each held as one line of text; a ``Sequence`` of ``FillRecord``.

    The reports show every fill, so a run keeps them all; as its time in an ``int64``
    array and a line of UTF-8 text (side and liquidity as one letter, the slot left out
    when it is written as the price: about 75 bytes) a fill costs a tenth of a
    ``FillRecord`` and its decimals. Lines are gathered in blocks of ``BLOCK`` fills, and a
    full block is kept zlib-compressed (about a fifth of its size: ids and prices repeat),
    so a year of fills grows the heap by a few megabytes; reading decompresses one block
    at a time (the last one read is kept, so reading in order decompresses each once).
    Decimals are written with ``str`` and read back with ``Decimal``, which gives the same
    digits and exponent. A fill with another side or liquidity, or whose client order id
    holds the separator, is kept as it is.
    """

    BLOCK: Final = 1024
    """Fills per compressed block."""

    __slots__ = ("_blocks", "_ends", "_kept", "_read", "_text", "_times")

    def __init__(self, fills: Iterable[FillRecord] = ()) -> None:
        self._text = bytearray()  # the lines of the block being filled
        self._blocks: list[bytes] = []  # full blocks, compressed
        self._read: tuple[int, bytes] = (-1, b"")  # the block read last, decompressed
        self._ends = array("i")  # where each fill's line ends in its block
        self._times = array("q")  # each fill's ts_ms
        self._kept: dict[int, FillRecord] = {}  # fills kept whole, by position
        for fill in fills:
            self.append(fill)

    def add(
        self,
        ts_ms: int,
        side: str,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        liquidity: str,
        client_order_id: str,
        slot: Decimal,
        realized_pnl: Decimal,
    ) -> None:
        """Append one fill (``FillRecord``'s fields, in its order)."""
        code = _CODES.get((side, liquidity))
        if code is None or _SEP in client_order_id or not -(2**63) <= ts_ms < 2**63:
            self._kept[len(self._ends)] = FillRecord(
                ts_ms, side, price, qty, fee, liquidity, client_order_id, slot, realized_pnl
            )
            self._times.append(0)
            self._ends.append(len(self._text))
            self._close_block()
            return
        price_text, slot_text = str(price), str(slot)
        self._text += _SEP.join(
            (
                code,
                price_text,
                str(qty),
                str(fee),
                client_order_id,
                "" if slot_text == price_text else slot_text,  # the slot is often the price
                str(realized_pnl),
            )
        ).encode()
        self._times.append(ts_ms)
        self._ends.append(len(self._text))
        self._close_block()

    def _close_block(self) -> None:
        """Compress the block being filled once it holds ``BLOCK`` fills."""
        if len(self._ends) % self.BLOCK == 0:
            self._blocks.append(zlib.compress(bytes(self._text), 1))
            self._text = bytearray()

    def _block(self, block: int) -> bytes | bytearray:
        if block == len(self._blocks):
            return self._text
        if self._read[0] != block:
            self._read = (block, zlib.decompress(self._blocks[block]))
        return self._read[1]

    def append(self, fill: FillRecord) -> None:
        """Append a ``FillRecord``."""
        self.add(
            fill.ts_ms,
            fill.side,
            fill.price,
            fill.qty,
            fill.fee,
            fill.liquidity,
            fill.client_order_id,
            fill.slot,
            fill.realized_pnl,
        )

    def _record(self, i: int) -> FillRecord:
        kept = self._kept.get(i)
        if kept is not None:
            return kept
        text = self._block(i // self.BLOCK)
        start = self._ends[i - 1] if i % self.BLOCK else 0
        row = text[start : self._ends[i]].decode()
        code, price, qty, fee, cid, slot, pnl = row.split(_SEP)
        side, liquidity = _DECODE[code]
        return FillRecord(
            self._times[i],
            side,
            Decimal(price),
            Decimal(qty),
            Decimal(fee),
            liquidity,
            cid,
            Decimal(slot or price),
            Decimal(pnl),
        )

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> FillRecord: ...

    @overload
    def __getitem__(self, index: slice) -> "FillLog": ...

    def __getitem__(self, index: int | slice) -> "FillRecord | FillLog":
        if isinstance(index, slice):
            return FillLog(self._record(i) for i in range(len(self))[index])
        return self._record(range(len(self))[index])  # IndexError, negative indices: range's

    def __iter__(self) -> Iterator[FillRecord]:
        return map(self._record, range(len(self)))

    def __add__(self, other: Sequence[FillRecord]) -> "FillLog":
        """The fills of both, in order (as lists concatenate: runs resumed in parts)."""
        both = FillLog(self)
        for fill in other:
            both.append(fill)
        return both

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FillLog({len(self)} fills)"


@dataclass(frozen=True, slots=True)
class RiskEventRecord:
    """One change of the risk state.

    Attributes:
        ts_ms: Event time.
        kind: Why (e.g. ``volatility_anomaly``, ``consecutive_losses``, ``calm_recovery``).
        reason: Explanation with the numbers.
        state_before: Risk state of the component before (``NORMAL``, ``RISK_MODE``,
            ``HALTED``).
        state_after: Its state after.
    """

    ts_ms: int
    kind: str
    reason: str
    state_before: str
    state_after: str


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One sample of the equity curve.

    Attributes:
        ts_ms: Event time.
        price: Mark price (candle close, or trade price on ticks).
        equity: Cash plus inventory at the mark, quote currency.
        inventory: Signed position, base currency.
        center: Grid center at that time (``None`` before the first decision).
        interval: Absolute price distance between levels at that time.
    """

    ts_ms: int
    price: Decimal
    equity: Decimal
    inventory: Decimal
    center: Decimal | None
    interval: Decimal | None


class EquityCurve:
    """An equity curve that never holds more than ``max_points`` points.

    The loops offer a *candidate* point every ``equity_sample_every`` events (ticks also
    thin by trade time) and keep every ``stride``-th candidate, ``stride`` starting at 1.
    When the curve is full, every other point is dropped and ``stride`` doubles, so the
    curve stays the one a run sampled every ``stride`` candidates from the start would
    have (evenly spaced), plus the run's last event, which is always added. A run with at
    most ``max_points`` candidates keeps all of them, as before the bound existed.

    Points are held as lines of text in one buffer, like ``FillLog``'s (decimals exactly:
    ``str`` and back), and made into ``EquityPoint`` objects by ``points``: small objects
    kept for the whole run, scattered among the run's short-lived ones, would keep the
    allocator's memory from being reused (RSS grew with the run although the objects did
    not).
    """

    __slots__ = ("_candidates", "_ends", "_text", "max_points", "stride")

    def __init__(self, max_points: int = MAX_EQUITY_POINTS) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError(
                f"max_points: expected an even number of at least 2, found {max_points}"
            )
        self.max_points = max_points
        self._text = bytearray()
        self._ends = array("q")  # where each point's line ends in _text
        self.stride = 1
        self._candidates = 0

    def due(self) -> bool:
        """Count one candidate; whether the curve keeps it (then ``add`` it)."""
        count = self._candidates
        self._candidates = count + 1
        return count % self.stride == 0

    def add(self, point: EquityPoint) -> None:
        """Append a kept candidate, or the run's last point; halve the curve when full."""
        if len(self._ends) >= self.max_points:
            # Keep candidates 0, 2s, 4s...: those of the doubled stride.
            lines = [self._line(i) for i in range(0, len(self._ends), 2)]
            self._text, self._ends = bytearray(), array("q")
            for line in lines:
                self._append(line)
            self.stride *= 2
        center, interval = point.center, point.interval
        self._append(
            f"{point.ts_ms} {point.price} {point.equity} {point.inventory} "
            f"{'' if center is None else center} {'' if interval is None else interval}".encode()
        )

    def __len__(self) -> int:
        return len(self._ends)

    def _append(self, line: bytes) -> None:
        self._text += line
        self._ends.append(len(self._text))

    def _line(self, i: int) -> bytes:
        return bytes(self._text[self._ends[i - 1] if i else 0 : self._ends[i]])

    @property
    def points(self) -> list[EquityPoint]:
        """The curve, oldest first."""
        out = []
        for i in range(len(self._ends)):
            ts, price, equity, inventory, center, interval = self._line(i).decode().split(" ")
            out.append(
                EquityPoint(
                    int(ts),
                    Decimal(price),
                    Decimal(equity),
                    Decimal(inventory),
                    Decimal(center) if center else None,
                    Decimal(interval) if interval else None,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline figures of a run (names as in the JSON report).

    ``events`` counts the market events replayed (candles, or trades on ticks; the report's
    ``data`` section says which) and ``events_per_s`` is their rate in wall-clock time.
    """

    symbol: str
    start_ms: int
    end_ms: int
    initial_equity: Decimal
    final_equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal
    return_pct: Decimal
    max_drawdown_pct: Decimal
    fills: int
    orders_placed: int
    orders_canceled: int
    max_inventory: Decimal
    final_inventory: Decimal
    volume_quote: Decimal
    events: int
    elapsed_s: float
    events_per_s: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """A complete backtest outcome.

    Attributes:
        summary: Headline figures.
        fills: Every fill, in order (a ``FillLog`` from the runs).
        equity_curve: Sampled every ``equity_sample_every`` events (at most 60) plus the
            last event; on trade ticks also at most once per ``equity_sample_ms`` of trade
            time (see ``tick_replay``). At most ``MAX_EQUITY_POINTS`` points: a longer
            run keeps every 2nd, 4th... sample (see ``EquityCurve``).
        initial_balances: Starting balances by asset (for replaying the fills).
        final_balances: Ending balances by asset.
        config: The effective configuration, JSON-ready.
        warnings: Problems worth a researcher's attention (e.g. failed safety checks).
        risk_events: Every change of the risk state, in order.
        extra: Further JSON-ready sections: ``data`` (``kind`` ``candles`` or ``trades``
            and how they were replayed), ``decisions``, ``safety_checks``,
            ``reconciliation``.
    """

    summary: Summary
    fills: Sequence[FillRecord]
    equity_curve: list[EquityPoint]
    initial_balances: dict[str, Decimal]
    final_balances: dict[str, Decimal]
    config: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    risk_events: list[RiskEventRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
