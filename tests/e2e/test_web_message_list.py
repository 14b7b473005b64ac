"""How the message list looks (issue 15, items 1, 2, 3 and 5): messages sit at the bottom,
days are separated in the user's locale and time zone, times follow the locale, and
sender names and avatars show only in groups, once per run of one sender."""

import re
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenAs, Screenshots, register_user
from tests.e2e.ux import (
    WIDE,
    both_widths,
    bubble,
    open_chat,
    post_messages,
    send,
    start_private_chat,
)


async def test_a_short_chat_sits_just_above_the_composer(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, bob, alice.user)
    await post_messages(api, bob, chat_id, "Hi Alice", "Lunch at noon?")
    await open_chat(alice, "Bob")
    await send(alice, "Sure!")

    page = alice.page
    last = bubble(page, "Sure!")
    await expect(last).to_be_visible()
    messages = await page.locator("#messages").bounding_box()
    composer = await page.locator("#composer").bounding_box()
    first = await bubble(page, "Hi Alice").bounding_box()
    newest = await last.bounding_box()
    assert messages and composer and first and newest
    # The newest bubble ends just above the composer; the empty space is above the messages.
    assert 0 <= composer["y"] - (newest["y"] + newest["height"]) < 40
    assert first["y"] - messages["y"] > messages["height"] / 2
    await both_widths(shot, alice, "bottom-aligned")


# A fixed "now" for the formatting checks: Wednesday 26 November 2025, 15:00 UTC.
NOW = "2025-11-26T15:00:00Z"
FORMAT = """async (cases) => {
  const time = await import("/static/ui/time.js");
  return cases.map(([fn, iso]) => time[fn](iso));
}"""


async def formatted(page: Page, cases: list[tuple[str, str]]) -> list[str]:
    result: list[str] = await page.evaluate(FORMAT, cases)
    return result


async def test_days_and_times_follow_the_users_locale_and_time_zone(
    open_as: OpenAs,
) -> None:
    cases: list[tuple[str, str]] = [
        ("dayLabel", "2025-11-26T08:00:00Z"),
        ("dayLabel", "2025-11-25T22:30:00Z"),
        ("dayLabel", "2025-11-25T23:30:00Z"),  # 00:30 on the 26th in Berlin
        ("dayLabel", "2025-11-24T12:00:00Z"),
        ("dayLabel", "2024-12-03T12:00:00Z"),
        ("clockTime", "2025-11-26T16:59:00Z"),
        ("clockTime", "2025-11-26T08:05:00Z"),
        ("fullTime", "2025-11-26T16:59:00Z"),
    ]
    expected: dict[str, list[str]] = {
        "en-GB Europe/Berlin": [
            "Today",
            "Yesterday",
            "Today",
            "Mon 24 November",
            "Tue, 3 December 2024",
            "17:59",
            "09:05",  # this locale writes hours with two digits
            "Wednesday, 26 November 2025 at 17:59",
        ],
        "en-US America/New_York": [
            "Today",
            "Yesterday",
            "Yesterday",
            "Mon, November 24",
            "Tue, December 3, 2024",
            "11:59 AM",
            "3:05 AM",  # no leading zero in this locale
            "Wednesday, November 26, 2025 at 11:59 AM",
        ],
        "de-DE Europe/Berlin": [
            "Heute",
            "Gestern",
            "Heute",
            "Mo., 24. November",
            "Di., 3. Dezember 2024",
            "17:59",
            "09:05",
            "Mittwoch, 26. November 2025 um 17:59",
        ],
    }
    for setting, labels in expected.items():
        locale, zone = setting.split()
        person = await open_as(f"Reader {locale}", locale=locale, timezone_id=zone)
        await person.page.clock.set_fixed_time(NOW)
        got = [re.sub(r"\s", " ", text) for text in await formatted(person.page, cases)]
        assert got == labels, setting


async def group_scene(open_as: OpenAs, api: httpx.AsyncClient) -> tuple[Any, int]:
    """Alice (on the page) in a group with Bob and Carol, who have written in runs."""
    alice = await open_as("Alice", viewport=WIDE, locale="en-US", timezone_id="America/New_York")
    bob = await register_user(api, "Bob")
    carol = await register_user(api, "Carol")
    response = await api.post(
        "/groups",
        json={"name": "Climbing", "member_ids": [bob.id, carol.id]},
        headers=alice.user.headers,
    )
    assert response.status_code == 201, response.text
    chat_id: int = response.json()["chat_id"]
    await post_messages(api, bob, chat_id, "Gym tonight?", "The new routes are up", "Bring chalk")
    await post_messages(api, carol, chat_id, "I'm in")
    await post_messages(api, bob, chat_id, "See you at 7")
    return alice, chat_id


async def test_groups_show_each_senders_name_and_avatar_once_per_run(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice, _ = await group_scene(open_as, api)
    page = alice.page
    await open_chat(alice, "Climbing")
    await expect(bubble(page, "See you at 7")).to_be_visible()

    runs = {
        "Gym tonight?": ("Bob", False),  # first of Bob's run: name, no avatar
        "The new routes are up": (None, False),
        "Bring chalk": (None, True),  # last of the run: the avatar
        "I'm in": ("Carol", True),
        "See you at 7": ("Bob", True),
    }
    for text, (name, has_avatar) in runs.items():
        message = bubble(page, text)
        sender = message.locator(".sender")
        if name:
            await expect(sender).to_have_text(name)
        else:
            await expect(sender).to_be_hidden()
        await expect(message.locator(".avatar")).to_have_count(1 if has_avatar else 0)
        # A screen reader hears who wrote each one, the visible name or not.
        await expect(message.locator(".who")).to_have_text(f"{name or 'Bob'}: ")

    # Times: the locale's clock without a leading zero, the full date on hover.
    time = bubble(page, "I'm in").locator("time")
    await expect(time).to_have_text(re.compile(r"^[1-9]\d?:\d\d\s[AP]M$"))
    await time.hover()
    await expect(time).to_have_attribute(
        "title", re.compile(r"^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4} at [1-9]\d?:\d\d\s[AP]M$")
    )
    await expect(page.locator("#messages .day")).to_have_text(["Today"])
    await both_widths(shot, alice, "group-runs")


async def test_private_chats_show_no_sender_names(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")
    await send(alice, "Are you coming?")
    await send(bob, "On my way")
    await send(bob, "Five minutes")

    for person in (alice, bob):
        await expect(bubble(person.page, "Five minutes")).to_be_visible()
        await expect(person.page.locator("#messages .sender:visible")).to_have_count(0)
        await expect(person.page.locator("#messages .msg .avatar")).to_have_count(0)
    await both_widths(shot, alice, "private-no-names")
