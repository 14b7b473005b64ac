"""End-to-end fixtures: Debian's Chromium driven by Playwright against the live server.

One browser for the whole session (starting Chromium is the slow part, about a second
each time); every user gets a fresh browser context, so two users never share storage,
cookies or a socket, whichever module opened the browser.
"""

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Route,
    WebSocketRoute,
    async_playwright,
    expect,
)

from tests.support.api import PASSWORD, TestUser, register
from tests.support.servers import LiveServer

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
DESKTOP = {"width": 1100, "height": 720}
PHONE = {"width": 390, "height": 760}

# Wait this long for something the server pushes (a live message, a tick turning ✓✓).
expect.set_options(timeout=10_000)


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; under CI a missing one is a failure."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install it with `apt-get install -y chromium`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def api(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """REST client for arranging a scene (users, chats) faster than clicking through it."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as client:
        yield client


async def register_user(api: httpx.AsyncClient, name: str) -> TestUser:
    """Register and log in over REST (the one `register` of tests/support)."""
    return await register(api, name)


@dataclass
class Person:
    """A user with their own browser context and page."""

    user: TestUser
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # Console errors that a step causes on purpose (e.g. a refused WebSocket while offline).
    allowed_errors: list[re.Pattern[str]] = field(default_factory=list)

    def unexpected_errors(self) -> list[str]:
        return [
            text
            for text in self.console_errors
            if not any(pattern.search(text) for pattern in self.allowed_errors)
        ]


class Screenshots:
    """Numbered screenshots per test under test-artifacts/e2e/<test>/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    async def __call__(self, person: Person, step: str) -> None:
        self.count += 1
        plain_name = re.sub(r"<[^>]*>", "", person.user.name)  # the XSS test's hostile name
        who = re.sub(r"[^a-z0-9]+", "", plain_name.lower()) or "user"
        name = f"{self.count:02d}-{who}-{step}.png"
        await person.page.screenshot(path=self.folder / name)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(ARTIFACTS / request.node.name)


class SocketGate:
    """Routes a page's Socket.IO WebSocket through the test, which keeps back the frames
    from the server that `holds` picks until release(): a test makes an event arrive
    late, as a slow network would, without sleeping."""

    def __init__(self, holds: Callable[[str], bool]) -> None:
        self.holds = holds
        self.held: list[tuple[WebSocketRoute, str]] = []
        self.released = False
        self._first_held = asyncio.Event()

    async def install(self, page: Page) -> None:
        """Before the page opens its socket: only sockets opened later are routed."""
        await page.route_web_socket(lambda url: "/socket.io/" in url, self._route)

    def _route(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()

        def from_server(frame: str | bytes) -> None:
            if not self.released and isinstance(frame, str) and self.holds(frame):
                self.held.append((page_side, frame))
                self._first_held.set()
            else:
                page_side.send(frame)

        server_side.on_message(from_server)  # the page's own frames pass unchanged

    async def wait_until_held(self) -> None:
        await asyncio.wait_for(self._first_held.wait(), timeout=10)

    def release(self) -> None:
        """Deliver the held frames in their order; from now on nothing is held."""
        self.released = True
        for page_side, frame in self.held:
            page_side.send(frame)
        self.held.clear()


class HeldAnswers:
    """A route handler: each matching request is answered by the server at once, but the
    answer reaches the page only after release(), as over a slow network."""

    def __init__(self) -> None:
        self._answered = asyncio.Event()
        self._released = asyncio.Event()

    async def __call__(self, route: Route) -> None:
        response = await route.fetch()
        self._answered.set()
        await self._released.wait()
        await route.fulfill(response=response)

    async def wait_until_answered(self) -> None:
        await asyncio.wait_for(self._answered.wait(), timeout=10)

    def release(self) -> None:
        self._released.set()


def socket_event(name: str, containing: str = "") -> Callable[[str], bool]:
    """Picks the server's Socket.IO frames of event `name` (with `containing` in them)."""
    prefix = f'42["{name}"'
    return lambda frame: frame.startswith(prefix) and containing in frame


def watch(person: Person, page: Page) -> None:
    """Collect the page's console errors and dialogs for the checks after the test."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            person.console_errors.append(f"{message.text} at {message.location.get('url')}")

    async def on_dialog(dialog: Dialog) -> None:
        person.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: person.console_errors.append(str(error)))
    page.on("dialog", on_dialog)


async def open_tab(person: Person) -> Page:
    """A second tab of the same person: same context, so the same saved login and outbox."""
    page = await person.context.new_page()
    watch(person, page)
    await page.goto("/")
    await expect(page.locator("#me-name")).to_have_text(person.user.name)
    await expect(page.locator("#connection-state")).to_have_text("online")
    return page


OpenAs = Callable[..., Awaitable[Person]]


@pytest.fixture
async def open_as(
    browser: Browser, live_server: LiveServer, api: httpx.AsyncClient
) -> AsyncIterator[OpenAs]:
    """`await open_as("Alice")`: register a user, open the page in a new context, log in.

    `user=` logs in as a user registered earlier (a scene arranged before the page opens);
    `gate=` routes the page's socket through a SocketGate; other keywords (locale=,
    timezone_id=, …) go to the browser context.
    """
    people: list[Person] = []

    async def open_page(
        name: str,
        *,
        viewport: dict[str, int] = DESKTOP,
        user: TestUser | None = None,
        gate: SocketGate | None = None,
        password: str = PASSWORD,
        **context_options: Any,
    ) -> Person:
        user = user or await register_user(api, name)
        context = await browser.new_context(
            base_url=live_server.base_url, viewport=viewport, **context_options
        )
        page = await context.new_page()
        person = Person(user=user, context=context, page=page)
        watch(person, page)
        people.append(person)
        if gate:
            await gate.install(page)

        await page.goto("/")
        form = page.locator("#login-form")
        await form.get_by_label("Email").fill(user.email)
        await form.get_by_label("Password").fill(password)
        await form.get_by_role("button", name="Log in").click()
        await expect(page.locator("#me-name")).to_have_text(user.name)
        await expect(page.locator("#connection-state")).to_have_text("online")
        return person

    yield open_page

    for person in people:
        # A route handler still fetching when its context closes would fail in a later test.
        for page in person.context.pages:
            await page.unroute_all(behavior="ignoreErrors")
        await person.context.unroute_all(behavior="ignoreErrors")
        await person.context.close()
    for person in people:
        assert person.unexpected_errors() == [], f"console errors for {person.user.name}"
        assert person.dialogs == [], f"unexpected dialogs for {person.user.name}"
