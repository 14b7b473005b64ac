"""Swagger UI at /docs in real Chromium, with every request off this server blocked (as on
a host without internet): it renders, Authorize logs in through the OAuth2 password form
at /auth/token, and "Try it out" calls /users/me with the token."""

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.e2e.conftest import Screenshots, register_user
from tests.support.api import PASSWORD, TestUser
from tests.support.servers import LiveServer


@pytest.fixture
async def offline_page(browser: Browser, live_server: LiveServer) -> AsyncIterator[Page]:
    """A page that can reach the server and nothing else; `page.blocked` lists the rest."""
    server = urlsplit(live_server.base_url).netloc
    blocked: list[str] = []

    async def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == server:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context(base_url=live_server.base_url)
    await context.route("**/*", only_the_server)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert blocked == [], "the docs page asked for something outside the server"
    assert errors == []


async def test_swagger_renders_offline_with_examples(offline_page: Page, shot: Screenshots) -> None:
    page = offline_page
    await page.goto("/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("chat_server")
    # The API description, and each tag's description, are shown.
    await expect(page.locator(".swagger-ui .info")).to_contain_text("Authorize")
    await expect(page.locator(".opblock-tag-section", has_text="auth")).to_contain_text(
        "bearer token"
    )
    login = page.locator("#operations-auth-login_auth_login_post")
    await login.locator(".opblock-summary").click()
    # The request body's example is a real login, not {"email": "string", …}.
    await expect(login.locator(".body-param__example")).to_contain_text("alice@example.com")
    await page.screenshot(path=shot.folder / "docs.png", full_page=True)


async def test_authorize_logs_in_and_try_it_out_sends_the_token(
    offline_page: Page, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    page = offline_page
    user: TestUser = await register_user(api, "Swagger Sam")
    await page.goto("/docs")

    await page.locator(".swagger-ui .auth-wrapper .authorize").click()
    dialog = page.locator(".swagger-ui .dialog-ux .modal-ux")
    await dialog.locator("#oauth_username").fill(user.email)
    await dialog.locator("#oauth_password").fill(PASSWORD)
    await page.screenshot(path=shot.folder / "authorize.png")
    await dialog.locator("button.modal-btn.authorize").click()
    # Swagger shows Logout once /auth/token answered with a token.
    await expect(dialog.locator("button.modal-btn", has_text="Logout")).to_be_visible()
    await dialog.locator("button.modal-btn", has_text="Close").click()

    me = page.locator("#operations-users-me_users_me_get")
    await me.locator(".opblock-summary").click()
    await me.get_by_role("button", name="Try it out").click()
    await me.get_by_role("button", name="Execute").click()
    live = me.locator(".live-responses-table .response")
    await expect(live.locator(".response-col_status")).to_have_text("200")
    await expect(live.locator(".response-col_description")).to_contain_text(user.email)
    await expect(me.locator(".request-url, .curl")).to_contain_text(["Bearer"])
    await page.screenshot(path=shot.folder / "users-me.png", full_page=True)
