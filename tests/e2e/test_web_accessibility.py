"""Keyboard and screen reader (issue 15, item 12): axe-core finds no serious or critical
problem on the login page, the chat list, an open chat and a dialog; every action works
from the keyboard with a visible focus; and the page loads nothing from elsewhere.

axe-core comes from npm (pinned in package.json, a dev dependency) and is injected by the
test only: the page never ships it."""

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from chat_server.seed import SeedSummary
from tests.e2e import ux
from tests.e2e.conftest import OpenAs, Screenshots
from tests.e2e.ux import PHONE, WIDE, both_widths, bubble, chat_item, composer, open_seeded
from tests.support.servers import LiveServer

seeded = ux.seeded  # the demo data fixture

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def require_axe() -> None:
    if AXE.is_file():
        return
    reason = f"{AXE} not found: run `npm ci`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def serious_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [node["target"] for node in v["nodes"]][:5],
            "summary": v["nodes"][0].get("failureSummary", ""),
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def check_both_widths(page: Page, what: str) -> None:
    size = page.viewport_size
    for viewport in (WIDE, PHONE):
        await page.set_viewport_size(viewport)
        problems = await serious_problems(page)
        assert problems == [], f"{what} at {viewport['width']}px:\n" + json.dumps(
            problems, indent=1
        )
    if size:
        await page.set_viewport_size(size)


async def test_axe_finds_no_serious_problem_on_any_screen(
    open_as: OpenAs,
    api: httpx.AsyncClient,
    seeded: SeedSummary,
    browser: Any,
    live_server: LiveServer,
    shot: Screenshots,
) -> None:
    require_axe()
    # The login and sign-up forms, before anyone logs in.
    context = await browser.new_context(base_url=live_server.base_url, viewport=WIDE)
    try:
        page = await context.new_page()
        await page.goto("/")
        await expect(page.locator("#login-form")).to_be_visible()
        await check_both_widths(page, "login form")
        await page.get_by_role("button", name="Sign up").click()
        await check_both_widths(page, "sign-up form")
    finally:
        await context.close()

    alice = await open_seeded(open_as, api, "Alice", viewport=WIDE)
    page = alice.page
    await expect(chat_item(page, "Bob").locator(".badge")).to_be_visible()
    await check_both_widths(page, "chat list")
    # A group with my messages (ticks, who-read toggles), links and days; then a private
    # chat opened at its unread line.
    await chat_item(page, "Team").click()
    await expect(bubble(page, "Shipped")).to_be_visible()
    await bubble(page, "Release day").get_by_role("button", name="Who has read it").click()
    await check_both_widths(page, "open group chat")
    await chat_item(page, "Bob").click()
    await expect(page.locator("#unread-divider")).to_be_visible()
    await check_both_widths(page, "open private chat")
    await page.get_by_role("button", name="New group").click()
    await expect(page.locator("#dialog .user-row")).to_have_count(3)
    await check_both_widths(page, "new group dialog")
    await both_widths(shot, alice, "new-group-dialog")


# Where the focus is, read in one go (a re-render between two reads would name one
# element and measure another): what a keyboard user would hear for it, roughly (a chat's
# name, a button's label, a field's label; "" on the page itself), and whether it shows
# it: an outline, or (text fields) a ring drawn with box-shadow.
FOCUS = """() => {
  const el = document.activeElement;
  if (el === document.body) return ["", false];
  const s = getComputedStyle(el);
  const ring = s.outlineStyle !== "none" || s.boxShadow !== "none";
  const item = el.closest(".chat-item");
  if (item) return ["chat " + item.querySelector(".chat-name").textContent, ring];
  const message = el.closest(".msg");
  if (el.matches(".seen-by")) {
    return ["toggle " + message.querySelector(".text").textContent, ring];
  }
  return [el.getAttribute("aria-label") || el.placeholder || el.textContent.trim(), ring];
}"""


async def tab_to(page: Page, wanted: str, *, backwards: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `wanted`; every stop on the way must
    show a focus ring."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        await page.keyboard.press(key)
        label, ring = await page.evaluate(FOCUS)
        if label != "":
            assert ring, f"no visible focus on {label!r}"
        if label == wanted:
            return
    raise AssertionError(f"{key} never reached {wanted!r}")


async def test_everything_works_from_the_keyboard(
    open_as: OpenAs,
    api: httpx.AsyncClient,
    seeded: SeedSummary,
    browser: Any,
    live_server: LiveServer,
    shot: Screenshots,
) -> None:
    bob = await open_seeded(open_as, api, "Bob", viewport=WIDE)
    context = await browser.new_context(base_url=live_server.base_url, viewport=WIDE)
    try:
        page = await context.new_page()
        await page.goto("/")
        # Log in: the email field has the focus; Tab to the password, Enter submits.
        await expect(page.locator("#login-form").get_by_label("Email")).to_be_focused()
        await page.keyboard.type("alice@example.com")
        await page.keyboard.press("Tab")
        await page.keyboard.type("password123")
        await page.keyboard.press("Enter")
        await expect(page.locator("#me-name")).to_have_text("Alice")

        # Open the chat with Bob from the list, write and send.
        await tab_to(page, "chat Bob")
        await page.screenshot(path=shot.folder / "01-focus-on-a-chat.png")
        await page.keyboard.press("Enter")
        await expect(page.locator("#chat-title")).to_have_text("Bob")
        await expect(composer(page)).to_be_focused()
        await page.keyboard.type("Typed without a mouse")
        await page.keyboard.press("Enter")
        await expect(chat_item(bob.page, "Alice")).to_contain_text("Typed without a mouse")

        # The message list takes the focus and scrolls with the keys.
        await tab_to(page, "Messages", backwards=True)
        box = page.locator("#messages")
        before = await box.evaluate("node => node.scrollTop")
        await page.keyboard.press("PageUp")
        await page.wait_for_function(f"document.querySelector('#messages').scrollTop < {before}")
        await page.screenshot(path=shot.folder / "02-focus-on-the-messages.png")

        # Team: who has read my last message, opened with Enter on its button.
        await tab_to(page, "chat Team", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("#chat-title")).to_have_text("Team")
        await expect(composer(page)).to_be_focused()
        last_mine = "Great job, team. Thank you all!"
        await tab_to(page, f"toggle {last_mine}", backwards=True)
        await page.keyboard.press("Enter")
        mine = bubble(page, last_mine)
        await expect(mine.locator(".readers")).to_contain_text("Read by")
        await expect(mine.get_by_role("button", name="Who has read it")).to_have_attribute(
            "aria-expanded", "true"
        )
        await page.screenshot(path=shot.folder / "03-focus-on-who-read-it.png")

        # A new group, all from the keyboard: name, find someone, pick, create.
        await tab_to(page, "+ New group", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.get_by_label("Group name")).to_be_focused()
        await page.keyboard.type("Keyboard club")
        await tab_to(page, "Search people by name or email")
        await page.keyboard.type("dave")
        await expect(page.locator("#dialog .user-row")).to_have_count(1)
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.locator("#dialog .chip")).to_have_text(["Dave✕"])
        await page.screenshot(path=shot.folder / "04-group-dialog-from-the-keyboard.png")
        await tab_to(page, "Create group")
        await page.keyboard.press("Enter")
        await expect(page.locator("#chat-title")).to_have_text("Keyboard club")

        # The members dialog opens with Enter and closes with Escape.
        await tab_to(page, "Members", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("#dialog")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#dialog")).to_be_hidden()
    finally:
        await context.close()


async def test_the_page_loads_nothing_from_anywhere_else(
    open_as: OpenAs, api: httpx.AsyncClient, seeded: SeedSummary, live_server: LiveServer
) -> None:
    """Every request and socket of a session (links in messages included, which are only
    followed on a click) goes to the server itself."""
    alice = await open_seeded(open_as, api, "Alice", viewport=WIDE)
    page = alice.page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    await page.reload()
    await expect(page.locator("#connection-state")).to_have_text("online")
    for title in ("Bob", "Dave", "Team"):
        await chat_item(page, title).click()
        await expect(page.locator("#chat-title")).to_have_text(title)
        await page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
    await expect(page.locator("#messages a[href^='https://example']").first).to_be_attached()

    origin = live_server.base_url
    ws_origin = origin.replace("http://", "ws://", 1)
    elsewhere = [url for url in urls if not url.startswith((origin + "/", ws_origin + "/"))]
    assert urls and elsewhere == []
