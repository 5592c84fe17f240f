"""The web dashboard: one server-rendered page at ``/`` (filled in below)."""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def add_dashboard(app: FastAPI) -> None:
    """Serve the dashboard page at ``/``."""

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return "<!doctype html><title>market-maker</title><p>dashboard</p>"


__all__ = ["add_dashboard"]
