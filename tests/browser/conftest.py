"""A real Chromium, driven by Playwright, against pytest-django's live server.

Reusable by every UI journey: take ``page`` for a fresh anonymous tab, or
``signed_in_page(user)`` for a tab that has signed in through the real form.

Chromium comes from Debian (``/usr/bin/chromium``); Playwright never downloads a browser.
Without it, tests are skipped on a laptop and fail in CI (``CI`` set), where it must be present.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from iam.models import User

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself next to it are safe, because the live server uses its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no internet: stop Chromium's own background calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 15_000
# tests.factories.UserFactory's password.
FACTORY_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    """On SQLite (``make test`` with no DATABASE_URL, CI's second leg) the live server's threads
    share the test's one in-memory connection, so two requests a page makes at once (a search
    still in flight while Enter opens the result) interleave their savepoints and one fails with
    "no such savepoint". The journeys run on PostgreSQL, the production database, where each
    request has its own connection; CI's PostgreSQL leg runs every one of them."""
    from django.conf import settings

    if "sqlite" in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("Browser journeys run on PostgreSQL: SQLite's in-memory test database is one shared connection.")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(f"{reason} CI must run the browser tests.", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh tab with its own cookies; relative URLs resolve against the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def sign_in(page: Page, *, email: str, password: str) -> None:
    """Fill and submit the real sign-in form at /auth/login/."""
    page.goto("/auth/login/")
    form = page.locator("form").filter(has=page.locator('input[name="password"]'))
    form.locator('input[name="login"]').fill(email)
    form.locator('input[name="password"]').fill(password)
    with page.expect_navigation():
        form.locator('button[type="submit"], input[type="submit"]').first.click()


@pytest.fixture
def signed_in_page(page: Page) -> Callable[..., Page]:
    """``signed_in_page(user)`` signs ``user`` in through the form and returns the tab."""

    def _signed_in_page(user: User, password: str = FACTORY_PASSWORD) -> Page:
        sign_in(page, email=user.email, password=password)
        if "/auth/login/" in page.url:
            raise AssertionError(f"Sign-in as {user.email} did not leave the login page: {page.url}")
        return page

    return _signed_in_page
