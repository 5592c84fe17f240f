"""End to end: the HTML backtest report opened in a real headless Chromium, offline.

Chromium comes from Debian (``scripts/ensure_chromium.sh`` installs it); when it is missing
the test fails and says so, it never skips. The browser is started with networking features
off and a fresh profile, and ``--virtual-time-budget`` lets the page's scripts run to
completion without any sleep.
"""

import math
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.backtest.report_html import BUY_COLOR, SELL_COLOR, write_html
from market_maker.backtest.result import (
    BacktestResult,
    EquityPoint,
    FillRecord,
    RiskEventRecord,
    Summary,
)

CHROMIUM = Path("/usr/bin/chromium")
T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
MIN = 60_000
POINTS, FILLS = 2_000, 1_000


def long_run() -> BacktestResult:
    """A plausible run: 2,000 equity points (one a minute), 1,000 fills, two risk events."""
    prices = [
        Decimal(str(round(100_000 + 1_500 * math.sin(i / 250) + 250 * math.sin(i / 23), 2)))
        for i in range(POINTS)
    ]
    interval = Decimal(100)
    fills, curve = [], []
    cash, inventory, center = Decimal(10_000), Decimal(0), prices[0]
    for i, price in enumerate(prices):
        if abs(price - center) >= 3 * interval:  # the grid recenters
            center = price.quantize(interval)
        if i % 2 == 1 and len(fills) < FILLS:
            side = "BUY" if price < center else "SELL"
            sign = 1 if side == "BUY" else -1
            qty, fee = Decimal("0.001"), price * Decimal("0.001") * Decimal("0.001")
            cash -= sign * price * qty + fee
            inventory += sign * qty
            fills.append(
                FillRecord(T0 + i * MIN, side, price, qty, fee, "maker", f"mm-{i}", center, 0 * fee)
            )
        equity = cash + inventory * price
        curve.append(EquityPoint(T0 + i * MIN, price, equity, inventory, center, interval))
    summary = Summary(
        symbol="BTC/USDT",
        start_ms=T0,
        end_ms=T0 + (POINTS - 1) * MIN,
        initial_equity=Decimal(10_000),
        final_equity=curve[-1].equity,
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees_paid=sum((f.fee for f in fills), Decimal(0)),
        return_pct=(curve[-1].equity - 10_000) / 100,
        max_drawdown_pct=Decimal("1.5"),
        fills=len(fills),
        orders_placed=2 * len(fills),
        orders_canceled=10,
        max_inventory=max(abs(p.inventory) for p in curve),
        final_inventory=inventory,
        volume_quote=sum((f.price * f.qty for f in fills), Decimal(0)),
        events=POINTS,
        elapsed_s=1.0,
        events_per_s=float(POINTS),
    )
    risk = [
        RiskEventRecord(
            T0 + 600 * MIN, "volatility_anomaly", "volume spike", "NORMAL", "RISK_MODE"
        ),
        RiskEventRecord(
            T0 + 1400 * MIN, "drawdown_pct", "equity 1.5% below peak", "NORMAL", "HALTED"
        ),
    ]
    return BacktestResult(
        summary=summary,
        fills=fills,
        equity_curve=curve,
        initial_balances={"USDT": Decimal(10_000), "BTC": Decimal(0)},
        final_balances={"USDT": cash, "BTC": inventory},
        config={},
        risk_events=risk,
    )


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/ensure_chromium.sh to install it")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Decode an 8-bit RGB/RGBA PNG: width, height, bytes per pixel, raw pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in {2, 6} and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride, raw = width * bpp, zlib.decompress(idat)
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                row[i] = (row[i] + pred) & 0xFF
        out += row
        prev = row
    return width, height, bpp, bytes(out)


def rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    write_html(long_run(), report)
    size = report.stat().st_size
    assert size < 6_000_000, size

    dom = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile-dom").stdout
    assert dom.count('class="main-svg"') >= 2, dom[:500]  # plotly drew its SVG layers
    assert "volatility_anomaly" in dom and "drawdown_pct" in dom  # the risk-event labels

    shot = tmp_path / "shot.png"
    chromium(
        f"--screenshot={shot}",
        "--window-size=1400,1800",
        report.as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    width, height, bpp, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1400, 1800)
    colors = {pixels[i : i + 3] for i in range(0, len(pixels), bpp)}
    assert len(colors) > 50, "the page looks blank"
    non_white = sum(1 for i in range(0, len(pixels), bpp) if pixels[i : i + 3] != b"\xff\xff\xff")
    assert non_white > width * height // 50, non_white
    for color in (BUY_COLOR, SELL_COLOR):  # the fill markers are on screen
        assert bytes(rgb(color)) in colors, color
