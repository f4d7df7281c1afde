"""Browser tests: Debian's chromium driven by playwright against a real Airflow (marker ``browser``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("VIGIA_CHROMIUM", "/usr/bin/chromium")
# the flags this machine needs: no sandbox as root, and no background connections (the network is closed)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium against a real Airflow (slow)")


@pytest.fixture(scope="module")
def browser_context():
    """A headless chromium with a new empty profile; never downloads a browser."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is not installed: run .ci/ensure_chromium.sh")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vigia-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 900}, locale="en-US")  # the selectors below use the English labels
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
