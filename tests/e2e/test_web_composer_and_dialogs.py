"""The message box (issue 15, item 8) and picking people for a new group (item 7)."""

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import OpenAs, Screenshots, register_user
from tests.e2e.ux import (
    WIDE,
    both_widths,
    bubble,
    chat_item,
    composer,
    open_chat,
    start_private_chat,
)


async def test_enter_sends_shift_enter_breaks_the_line_and_blank_text_is_never_sent(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")
    page = alice.page
    box = composer(page)
    send_button = page.locator("#composer").get_by_role("button", name="Send")

    await expect(send_button).to_be_disabled()
    await box.fill("   \n  ")
    await expect(send_button).to_be_disabled()
    await box.press("Enter")
    await expect(box).to_have_value("")  # the spaces are cleared, nothing is sent
    await both_widths(shot, alice, "blank-not-sent")

    await box.type("First line")
    await expect(send_button).to_be_enabled()
    await box.press("Shift+Enter")
    await box.type("second line")
    await expect(box).to_have_value("First line\nsecond line")
    await box.press("Enter")
    await expect(box).to_have_value("")
    await expect(send_button).to_be_disabled()
    received = bubble(bob.page, "second line").locator(".text")
    await expect(received).to_have_text("First line\nsecond line")

    await box.fill("With the button")
    await send_button.click()
    await expect(bubble(bob.page, "With the button")).to_be_visible()
    history = await api.get(f"/history/{chat_id}", headers=bob.user.headers)
    assert [m["text"] for m in history.json()] == ["First line\nsecond line", "With the button"]
    await both_widths(shot, bob, "multi-line-received")


async def test_each_chat_keeps_its_draft(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await register_user(api, "Bob")
    carol = await register_user(api, "Carol")
    await start_private_chat(api, alice.user, bob)
    await start_private_chat(api, alice.user, carol)
    page = alice.page
    box = composer(page)

    await open_chat(alice, "Bob")
    await box.fill("Half a thought for Bob")
    await open_chat(alice, "Carol")
    await expect(box).to_have_value("")
    await expect(chat_item(page, "Bob")).to_contain_text("Draft: Half a thought for Bob")
    await box.fill("Something for Carol")
    await both_widths(shot, alice, "draft-in-list")

    await open_chat(alice, "Bob")
    await expect(box).to_have_value("Half a thought for Bob")
    await expect(chat_item(page, "Carol")).to_contain_text("Draft: Something for Carol")
    # A reload keeps them too.
    await page.reload()
    await expect(page.locator("#chat-title")).to_have_text("Bob")
    await expect(box).to_have_value("Half a thought for Bob")
    await open_chat(alice, "Carol")
    await expect(box).to_have_value("Something for Carol")
    # Sending empties the draft.
    await box.press("Enter")
    await open_chat(alice, "Bob")
    await expect(chat_item(page, "Carol")).not_to_contain_text("Draft:")
    await expect(chat_item(page, "Carol")).to_contain_text("You: Something for Carol")


async def test_picking_people_for_a_group_clears_the_search_and_shows_removable_chips(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    for name in ("Bob", "Carol", "Dave"):
        await register_user(api, name)
    page = alice.page
    await page.get_by_role("button", name="New group").click()
    dialog = page.locator("#dialog")
    people = dialog.locator(".user-row")
    search = dialog.get_by_placeholder("Search people")

    # Everyone is listed before anything is typed.
    await expect(people).to_have_count(3)
    await search.fill("car")
    await expect(people).to_have_count(1)
    await people.first.click()
    # Picked: a chip, an empty search box with the cursor in it, everyone else listed.
    await expect(dialog.locator(".chip")).to_have_text(["Carol✕"])
    await expect(search).to_have_value("")
    await expect(search).to_be_focused()
    await expect(people).to_have_count(2)
    await expect(dialog).not_to_contain_text("Nobody found")
    await dialog.locator(".user-row", has_text="Dave").click()
    await expect(dialog.locator(".chip")).to_have_count(2)
    await expect(people).to_have_count(1)
    await both_widths(shot, alice, "chips")

    # A chip is removed with its button (here from the keyboard): the person is listed again.
    await dialog.get_by_role("button", name="Remove Carol").focus()
    await page.keyboard.press("Enter")
    await expect(dialog.locator(".chip")).to_have_text(["Dave✕"])
    await expect(people).to_have_count(2)
    # A search that finds nobody says so; clearing it lists everyone again.
    await search.fill("zzz")
    await expect(dialog.locator(".user-results")).to_have_text("Nobody found")
    await search.fill("")
    await expect(people).to_have_count(2)

    await dialog.get_by_label("Group name").fill("Board games")
    await dialog.get_by_role("button", name="Create group").click()
    await expect(page.locator("#chat-title")).to_have_text("Board games")
    await expect(page.locator("#chat-status")).to_have_text(re.compile("^2 members"))
