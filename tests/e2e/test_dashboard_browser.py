"""End to end: the dashboard of a running paper bot in headless Chromium (Playwright).

Chromium is Debian's (``scripts/ensure_chromium.sh`` installs it), driven by Playwright
with that binary: no browser is downloaded. The page must show the bot's live slots as its
own ``market-maker slots --json`` lists them, draw its price chart from the bundled
plotly.js, refuse a control action without the token (the page says so, nothing is
queued) and carry one out with it. Screenshots go to the test's folder and two are copied
to /tmp/dashboard-*.png for a human to look at.
"""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.ops_http import TOKEN, cli_json, running_bot
from tests.support.paper_binance import wait_until

pytestmark = pytest.mark.timeout(240)

CHROMIUM = Path("/usr/bin/chromium")
CANDLES = 900
WAIT_MS = 30_000


def table(page: Page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )


def shoot(page: Page, folder: Path, name: str) -> None:
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, f"/tmp/dashboard-{name}.png")


def test_the_dashboard_shows_the_live_slots_and_controls_need_the_token(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "install Debian's chromium: scripts/ensure_chromium.sh"
    with running_bot(tmp_path, CANDLES) as run, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda r: errors.append(f"{r.url} {r.failure}"))
            page.goto(run.url)
            page.wait_for_selector("body[data-refreshed]", timeout=WAIT_MS)

            # the slot table is the bot's own (the bot keeps working: its order cleaner may
            # free a slot at any time, and the page shows it within one refresh)
            seen: list[tuple[list, dict]] = []

            def page_shows_the_bot() -> bool:
                status = cli_json(run.config_path, "status")
                shown = [(r[0], r[1], r[6]) for r in table(page, "#slots")]
                seen[:] = [(shown, status)]
                expected = [
                    (s["level"], s["status"], s["client_order_id"]) for s in status["slots"]
                ]
                return (
                    shown == expected[::-1]  # highest level first
                    and page.inner_text("#fig-realized_pnl") == status["realized_pnl"]
                    and page.inner_text("#risk") == status["risk_state"]
                )

            wait_until(page_shows_the_bot, "the page showing the bot's slots", 30)
            shown = seen[0][0]
            assert any(slot_status == "LOCKED" for _, slot_status, _ in shown)
            assert page.inner_text("#health") == "health: healthy"
            # the charts were drawn by the bundled plotly.js, with price, orders and fills
            traces = page.evaluate("document.getElementById('price-chart').data.length")
            assert traces == 5
            fills = page.evaluate(
                "document.getElementById('price-chart').data"
                ".filter(t => t.name.startsWith('fill')).reduce((n, t) => n + t.x.length, 0)"
            )
            assert fills > 10
            assert page.locator("#pnl-chart .main-svg").count() > 0
            shoot(page, tmp_path, "overview")

            # without the token: refused, the page says so, nothing queued
            page.click("button[data-kind=reconcile]")
            page.wait_for_selector("#outcome.refused", timeout=WAIT_MS)
            assert page.inner_text("#outcome").startswith("refused (401): unauthorized")
            assert cli_json(run.config_path, "commands") == []
            shoot(page, tmp_path, "refused")

            # with the token: queued, then carried out by the bot
            page.fill("#token", TOKEN)
            page.click("button[data-kind=reconcile]")
            page.wait_for_selector("#outcome.ok", timeout=WAIT_MS)
            assert page.inner_text("#outcome").startswith("queued #1 reconcile")
            page.wait_for_function(
                "document.querySelector('#commands tbody tr td:nth-child(4)')"
                "?.textContent === 'done'",
                timeout=WAIT_MS,
            )
            (done,) = cli_json(run.config_path, "commands")
            assert (done["kind"], done["status"]) == ("reconcile", "done")
            assert done["actor"] == "dashboard:127.0.0.1"
            assert table(page, "#commands")[0][:4] == ["1", "reconcile", done["actor"], "done"]
            shoot(page, tmp_path, "control")
            assert errors == []
        finally:
            browser.close()
    assert TOKEN not in run.bot.out + run.bot.err
