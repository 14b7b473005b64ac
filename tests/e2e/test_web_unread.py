"""Opening a chat with unread messages (issue 15, item 4) and the demo data in the page
(item 11): the chat opens at the first unread message under an "Unread messages" line,
and only what scrolls into view is marked read, so the sender's ✓✓ tells the truth."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from chat_server.seed import SeedSummary
from tests.e2e import ux
from tests.e2e.conftest import OpenAs, Screenshots
from tests.e2e.test_web_client import expect_ticks
from tests.e2e.ux import (
    WIDE,
    both_widths,
    bubble,
    chat_item,
    my_watermark,
    open_chat,
    open_seeded,
    post_messages,
    start_private_chat,
)

seeded = ux.seeded  # the demo data fixture

UNREAD = 40


async def until(read: Callable[[], Awaitable[int]], done: Callable[[int], bool]) -> int:
    """Poll `read()` until `done` says yes (the page reads on its own schedule)."""
    for _ in range(100):
        value = await read()
        if done(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {value}")


async def in_view(page: Page, text: str) -> bool:
    """Whether the bubble is wholly inside the message list's visible area."""
    visible: bool = await page.evaluate(
        """(text) => {
          const box = document.querySelector("#messages").getBoundingClientRect();
          const node = [...document.querySelectorAll("#messages .msg")]
            .find((n) => n.querySelector(".text").textContent === text);
          const rect = node.getBoundingClientRect();
          return rect.top >= box.top - 1 && rect.bottom <= box.bottom + 1;
        }""",
        text,
    )
    return visible


async def test_a_chat_opens_at_the_first_unread_and_reads_only_what_scrolls_into_view(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    chat_id = await start_private_chat(api, bob.user, alice.user)
    await post_messages(api, alice.user, chat_id, "Earlier, already read")
    await open_chat(bob, "Alice")
    texts = [
        f"Update number {n}: the build is green and the tests pass" for n in range(1, UNREAD + 1)
    ]
    seqs = await post_messages(api, bob.user, chat_id, *texts)
    await expect(chat_item(alice.page, "Bob").locator(".badge")).to_have_text(str(UNREAD + 0))

    await open_chat(alice, "Bob")
    page = alice.page
    divider = page.locator("#unread-divider")
    await expect(divider).to_have_text("Unread messages")
    # The divider sits just above the first unread message, near the top of the view.
    first = bubble(page, texts[0])
    await expect(first).to_be_visible()
    assert await in_view(page, texts[0])
    assert not await in_view(page, texts[-1])
    box = await page.locator("#messages").bounding_box()
    line = await divider.bounding_box()
    assert box and line and 0 <= line["y"] - box["y"] < 80

    # Only the messages on screen are read: Bob's first ones turn ✓✓, his last stays ✓.
    await expect_ticks(bubble(bob.page, texts[0]), "read")
    watermark = await my_watermark(api, alice.user, chat_id)
    assert seqs[0] <= watermark < seqs[-1]
    await page.wait_for_timeout(300)  # nothing else is read while she does not scroll
    assert await my_watermark(api, alice.user, chat_id) == watermark
    await expect_ticks(bubble(bob.page, texts[-1]), "sent")
    await expect(chat_item(page, "Bob").locator(".badge")).to_have_text(str(seqs[-1] - watermark))
    await shot(alice, "opened-at-first-unread")
    await shot(bob, "first-read-last-not")

    # Scrolling down a little reads a little more.
    await page.locator("#messages").evaluate("box => { box.scrollTop += box.clientHeight / 2; }")
    moved = await until(lambda: my_watermark(api, alice.user, chat_id), lambda seq: seq > watermark)
    assert moved < seqs[-1]

    # To the bottom: everything is read, and Bob sees it.
    await page.locator("#messages").evaluate("box => { box.scrollTop = box.scrollHeight; }")
    await expect_ticks(bubble(bob.page, texts[-1]), "read")
    assert await my_watermark(api, alice.user, chat_id) == seqs[-1]
    await expect(chat_item(page, "Bob").locator(".badge")).to_have_count(0)
    # The line stays where it was while the chat is open.
    await expect(divider).to_be_visible()
    await both_widths(shot, alice, "read-to-the-bottom")

    # Opened again later, with nothing unread: no line, at the bottom.
    await page.go_back()
    await expect(page.locator("#chat-view")).to_be_hidden()
    await open_chat(alice, "Bob")
    await expect(bubble(page, texts[-1])).to_be_visible()
    await expect(divider).to_have_count(0)
    assert await in_view(page, texts[-1])


async def test_the_demo_data_shows_days_gaps_and_a_few_unread_messages(
    open_as: OpenAs,
    api: httpx.AsyncClient,
    seeded: SeedSummary,
    shot: Screenshots,
) -> None:
    zone = "Europe/London"
    alice = await open_seeded(
        open_as, api, "Alice", viewport=WIDE, locale="en-GB", timezone_id=zone
    )
    page = alice.page
    await expect(page.locator("#chat-list .chat-item")).to_have_count(3)
    await expect(chat_item(page, "Bob").locator(".badge")).to_have_text("2")
    await expect(chat_item(page, "Team").locator(".badge")).to_have_count(0)
    await both_widths(shot, alice, "demo-chat-list")

    # Team: several days of conversation, each day under its own separator.
    await open_chat(alice, "Team")
    history = await api.get(
        f"/history/{seeded.group_chat_id}", params={"limit": 200}, headers=alice.user.headers
    )
    local = ZoneInfo(zone)
    today = datetime.now(local).date()
    days = sorted(
        {datetime.fromisoformat(m["created_at"]).astimezone(local).date() for m in history.json()}
    )
    assert len(days) >= 4

    def label(day: object) -> str:
        ago = (today - day).days  # type: ignore[operator]
        if ago == 0:
            return "Today"
        if ago == 1:
            return "Yesterday"
        return f"{day:%a} {day.day} {day:%B}"  # type: ignore[attr-defined]

    await page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
    await expect(page.locator("#messages .day")).to_have_text([label(day) for day in days])
    await page.locator("#messages .day").nth(1).scroll_into_view_if_needed()
    await both_widths(shot, alice, "demo-team-days")

    # Alice-Bob: two unread from Bob, under the line.
    await open_chat(alice, "Bob")
    await expect(page.locator("#unread-divider")).to_be_visible()
    unread = page.locator("#unread-divider ~ .msg")
    await expect(unread).to_have_count(2)
    await expect(unread.first).to_contain_text(re.compile("the weather looks good"))
    await both_widths(shot, alice, "demo-unread")
