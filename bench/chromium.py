"""Debian's chromium as the benchmarks and the browser tests start it (Playwright's own browser
download cannot reach its servers from here): headless, no sandbox (root in a container), no
GPU, and nothing that phones home during a measurement."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
