"""Delivery ticks one can tell apart (issue 15, item 6) and clickable links (item 10)."""

import re
from typing import Any

import httpx
from playwright.async_api import Locator, expect

from tests.e2e.conftest import OpenAs, Person, Screenshots
from tests.e2e.test_web_client import expect_ticks
from tests.e2e.ux import (
    PHONE,
    WIDE,
    both_widths,
    bubble,
    chat_item,
    open_chat,
    send,
    start_private_chat,
)

STATES = {"pending": "sending", "sent": "sent", "read": "read"}


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    la, lb = (luminance(tuple(float(x) for x in re.findall(r"[\d.]+", c))) for c in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


async def look(message: Locator) -> dict[str, Any]:
    """The tick's drawing, colour, and the bubble's background."""
    result: dict[str, Any] = await message.evaluate(
        """(node) => {
          const tick = node.querySelector(".ticks");
          return {
            shape: [...tick.querySelectorAll("path")].map((p) => p.getAttribute("d")).join(" "),
            colour: getComputedStyle(tick).color,
            bubble: getComputedStyle(node).backgroundColor,
          };
        }"""
    )
    return result


async def go_offline(person: Person) -> None:
    person.allowed_errors.append(re.compile(r"WebSocket|ERR_INTERNET_DISCONNECTED"))
    await person.context.set_offline(True)
    await person.page.evaluate("window.chatClient.dropConnection()")
    await expect(person.page.locator("#offline-banner")).to_be_visible()


async def test_pending_sent_and_read_ticks_differ_in_shape_and_readable_colour(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=PHONE)
    await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")

    # One message Bob reads, one he has not seen yet, one still waiting for a connection.
    await send(alice, "Read by Bob")
    await open_chat(bob, "Alice")
    await expect_ticks(bubble(alice.page, "Read by Bob"), "read")
    await bob.page.get_by_role("button", name="Back to chats").click()
    await send(alice, "Stored, not read yet")
    await expect_ticks(bubble(alice.page, "Stored, not read yet"), "sent")
    await go_offline(alice)
    await send(alice, "Waiting for the network")
    await expect_ticks(bubble(alice.page, "Waiting for the network"), "pending")
    await both_widths(shot, alice, "three-states")

    texts = {
        "read": "Read by Bob",
        "sent": "Stored, not read yet",
        "pending": "Waiting for the network",
    }
    looks = {state: await look(bubble(alice.page, text)) for state, text in texts.items()}
    assert len({item["shape"] for item in looks.values()}) == 3, looks
    for state, item in looks.items():
        # WCAG AA: 4.5:1, the bar for text, above the 3:1 that icons need.
        assert contrast(item["colour"], item["bubble"]) >= 4.5, (state, item)
        # And a name for screen readers, on exactly one element per bubble.
        message = bubble(alice.page, texts[state])
        await expect(message.get_by_role("img", name=STATES[state], exact=True)).to_have_count(1)
    assert looks["read"]["colour"] != looks["sent"]["colour"]

    await alice.context.set_offline(False)
    await expect_ticks(bubble(alice.page, "Waiting for the network"), "sent")
    # The chat list shows the last message's ticks the same way.
    await expect(chat_item(alice.page, "Bob").get_by_role("img", name="sent")).to_be_visible()


HOSTILE = (
    "Docs: https://example.com/docs?a=1&b=2, the talk (https://example.org/wiki/Chat_(app)) "
    "and http://127.0.0.1:9/plain. Not links: javascript:alert(1), data:text/html,<b>x</b>, "
    "ftp://example.com/file, www.example.net and "
    "<a href='https://evil.example/'>a fake link</a>"
)
LINKS = [
    "https://example.com/docs?a=1&b=2",
    "https://example.org/wiki/Chat_(app)",
    "http://127.0.0.1:9/plain",
    "https://evil.example/",
]


async def test_http_links_are_clickable_and_nothing_else_becomes_markup(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")
    await send(alice, HOSTILE)
    here = f"{alice.page.url.split('/#')[0].rstrip('/')}/health"
    await send(alice, f"Server health: {here}")

    for person in (alice, bob):
        message = bubble(person.page, "Docs:")
        text = message.locator(".text")
        await expect(text).to_have_text(HOSTILE)  # every character shown, as written
        links = text.locator("a")
        await expect(links).to_have_count(len(LINKS))
        for link, href in zip(await links.all(), LINKS, strict=True):
            await expect(link).to_have_attribute("href", href)
            await expect(link).to_have_attribute("rel", "noopener noreferrer")
            await expect(link).to_have_attribute("target", "_blank")
        # Nothing but text and those links: no <b>, no <img>, no other element.
        tags = await text.evaluate("node => [...node.querySelectorAll('*')].map(n => n.tagName)")
        assert tags == ["A"] * len(LINKS)
    await both_widths(shot, bob, "links")

    # A click opens the link in a new tab that cannot reach back into the chat.
    async with bob.context.expect_page() as opened:
        await bubble(bob.page, "Server health").get_by_role("link").click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert tab.url == here
    assert await tab.evaluate("window.opener") is None
    await tab.close()
    history = await api.get(f"/history/{chat_id}", headers=bob.user.headers)
    assert history.json()[0]["text"] == HOSTILE
