"""What the browser tests share: Debian's Chromium and its flags, where screenshots go, the
marks that skip a test when Chromium is absent, and the service's health probe."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"

MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]


def browser_environment() -> dict[str, str]:
    """The environment Chromium starts with: this process's, less libfaketime. CI runs the
    suite a second time with the wall clock moved ahead (.ci/run); the service under test takes
    the moved date, but Chromium under libfaketime's preload never finishes loading a page (seen
    with Debian's libfaketime 0.9.10). What is tested is the service's date, not the browser's."""
    return {name: value for name, value in os.environ.items()
            if name != "LD_PRELOAD" and not name.startswith("FAKETIME")}


def healthy(base: str) -> bool:
    """/healthz answers 200: the database decides; a down AMI link does not."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def press_save(page, selector: str | None = None) -> None:
    """Ctrl+S as the officer presses it: in the field `selector` (else wherever the focus
    is), once the page's shortcuts listen (app.js marks the body), so that a key pressed
    while the page still loads is not taken for the browser's own "save page"."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-shortcuts-ready", "1")
    if selector is None:
        page.keyboard.press("Control+S")
    else:
        page.locator(selector).press("Control+S")
