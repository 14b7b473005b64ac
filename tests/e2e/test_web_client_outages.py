"""The web page against a server that fails for a moment (in this process, so the test
can make its presence store fail), with Debian's Chromium."""

import httpx
from playwright.async_api import Browser, expect

from chat_server.config import Settings
from tests.e2e.conftest import DESKTOP
from tests.support.api import PASSWORD, register
from tests.support.servers import FlakyPresence, serving


async def test_the_page_keeps_retrying_when_the_server_refuses_a_connect_for_a_moment(
    browser: Browser, settings: Settings, database_url: str
) -> None:
    presence = FlakyPresence(failures=2)
    async with serving(settings, database_url, presence) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            alice = await register(http, "Alice")
        context = await browser.new_context(base_url=url, viewport=DESKTOP)
        try:
            page = await context.new_page()
            await page.goto("/")
            form = page.locator("#login-form")
            await form.get_by_label("Email").fill(alice.email)
            await form.get_by_label("Password").fill(PASSWORD)
            await form.get_by_role("button", name="Log in").click()
            await expect(page.locator("#me-name")).to_have_text("Alice")
            # Refused twice with `internal`; the page tries again on its own.
            await expect(page.locator("#connection-state")).to_have_text("online")
            assert presence.failures == 0
        finally:
            await context.close()
