"""Reply, edit, delete for everyone and reactions on the page (issue 11): two people in two
browser contexts, each change shown live to the other, and caught up after going offline."""

import asyncio
import re
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import (
    HeldAnswers,
    OpenAs,
    Person,
    Screenshots,
    SocketGate,
    register_user,
    socket_event,
)
from tests.e2e.test_web_accessibility import AXE, require_axe
from tests.e2e.test_web_client_sync import go_offline, go_online
from tests.e2e.ux import (
    PHONE,
    WIDE,
    both_widths,
    chat_item,
    composer,
    open_chat,
    start_private_chat,
)
from tests.support.api import TestUser

PRESSED = "aria-pressed"
SHOWN = re.compile(r"^(0\.[5-9][0-9]*|1)$")  # an opacity that reads as shown


def msg(page: Page, text: str) -> Locator:
    """The bubble whose own text (not a quote of it) is exactly `text`."""
    own_text = page.locator(".text").get_by_text(text, exact=True)
    return page.locator("#messages .msg").filter(has=own_text)


async def post(
    api: httpx.AsyncClient, user: TestUser, chat_id: int, text: str, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        f"/chats/{chat_id}/messages", json={"text": text, **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def no_serious_problems(page: Page, *selectors: str) -> None:
    """axe-core finds no serious or critical problem in these parts of the page (the rest
    is test_web_accessibility.py's), at desktop and phone width."""
    require_axe()
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    size = page.viewport_size
    for viewport in (WIDE, PHONE):
        await page.set_viewport_size(viewport)
        violations = await page.evaluate(
            "(include) => axe.run({include}, {resultTypes: ['violations']})"
            ".then((result) => result.violations"
            ".filter((v) => ['serious', 'critical'].includes(v.impact))"
            ".map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`))",
            [[selector] for selector in selectors],
        )
        assert violations == [], f"at {viewport['width']}px: {violations}"
    if size:
        await page.set_viewport_size(size)


async def open_menu(person: Person, bubble: Locator) -> Locator:
    """Hover the bubble, press its ⋯ button: the actions menu."""
    await bubble.hover()
    await bubble.get_by_role("button", name="Message actions").click()
    menu = person.page.get_by_role("group", name="Message actions")
    await expect(menu).to_be_visible()
    return menu


async def test_a_reply_quotes_its_message_for_both_and_the_quote_leads_to_it(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    original = await post(api, alice.user, chat_id, "Where shall we meet?")
    # A page of them: Alice's page opens without the original.
    for number in range(50):
        last = await post(api, alice.user, chat_id, f"filler {number}")
    read = await api.post(
        f"/chats/{chat_id}/read", json={"seq": last["seq"]}, headers=alice.user.headers
    )
    assert read.status_code == 200, read.text

    await open_chat(bob, "Alice")  # at his first unread message: the question
    menu = await open_menu(bob, msg(bob.page, "Where shall we meet?"))
    await both_widths(shot, bob, "actions-menu")
    await no_serious_problems(bob.page, ".msg-menu")
    await menu.get_by_role("button", name="Reply").click()
    await expect(menu).to_have_count(0)
    context = bob.page.locator("#composer-context")
    await expect(context).to_contain_text("Replying to Alice")
    await expect(context).to_contain_text("Where shall we meet?")
    await expect(composer(bob.page)).to_be_focused()
    await composer(bob.page).fill("At the station")
    await both_widths(shot, bob, "replying")
    await no_serious_problems(bob.page, "#composer-context", "#composer")
    await composer(bob.page).press("Enter")
    await expect(context).to_be_hidden()
    reply = msg(bob.page, "At the station")
    await expect(reply.locator(".quote")).to_contain_text("Alice")
    await expect(reply.locator(".quote")).to_contain_text("Where shall we meet?")
    await expect(reply).to_have_attribute("data-status", "sent")
    stored = (
        await api.get(
            f"/history/{chat_id}", params={"after_seq": last["seq"]}, headers=alice.user.headers
        )
    ).json()
    assert stored[0]["reply_to"]["seq"] == original["seq"]

    await open_chat(alice, "Bob")
    reply = msg(alice.page, "At the station")
    await expect(reply.locator(".quote")).to_contain_text("You")
    await expect(reply.locator(".quote")).to_contain_text("Where shall we meet?")
    await both_widths(shot, alice, "reply-received")
    await expect(msg(alice.page, "Where shall we meet?")).to_have_count(0)  # not loaded yet
    await reply.locator(".quote").click()
    target = msg(alice.page, "Where shall we meet?")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await shot(alice, "quote-led-to-the-original")


async def test_an_edit_shows_edited_live_and_updates_replies_quoting_it(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")
    await composer(alice.page).fill("Meet at 10")
    await composer(alice.page).press("Enter")
    await expect(msg(bob.page, "Meet at 10")).to_be_visible()
    seq = int(await msg(bob.page, "Meet at 10").get_attribute("data-seq") or 0)
    await post(api, bob.user, chat_id, "OK", reply_to_seq=seq)
    await expect(msg(alice.page, "OK").locator(".quote")).to_contain_text("Meet at 10")

    # Bob cannot edit Alice's message: his menu (a right click opens it too) has Reply but
    # no Edit (and no Delete).
    await msg(bob.page, "Meet at 10").click(button="right")
    menu = bob.page.get_by_role("group", name="Message actions")
    await expect(menu.get_by_role("button", name="Reply")).to_be_visible()
    await expect(menu.get_by_role("button", name="Edit")).to_have_count(0)
    await expect(menu.get_by_role("button", name="Delete")).to_have_count(0)
    await bob.page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)

    # Escape leaves editing and gives the box its draft back.
    box = composer(alice.page)
    await box.fill("half a thought")
    menu = await open_menu(alice, msg(alice.page, "Meet at 10"))
    await menu.get_by_role("button", name="Edit").click()
    await expect(box).to_have_value("Meet at 10")
    await expect(alice.page.locator("#composer-context")).to_contain_text("Editing")
    await expect(alice.page.locator("#composer button[type=submit]")).to_have_text("Save")
    await box.press("Escape")
    await expect(box).to_have_value("half a thought")
    await expect(alice.page.locator("#composer-context")).to_be_hidden()

    await (
        (await open_menu(alice, msg(alice.page, "Meet at 10")))
        .get_by_role("button", name="Edit")
        .click()
    )
    await box.fill("Meet at 11")
    await both_widths(shot, alice, "editing")
    await box.press("Enter")
    await expect(box).to_have_value("half a thought")
    for page in (alice.page, bob.page):
        edited = msg(page, "Meet at 11")
        await expect(edited.locator(".edited")).to_have_text("edited")
        await expect(edited.locator(".edited")).to_be_visible()
        await expect(msg(page, "Meet at 10")).to_have_count(0)
        await expect(msg(page, "OK").locator(".quote")).to_contain_text("Meet at 11")
    await both_widths(shot, bob, "edited-live")


async def test_deleting_for_everyone_leaves_a_tombstone_for_both_and_the_list_moves_back(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    group = await api.post(
        "/groups", json={"name": "Team", "member_ids": [bob.user.id]}, headers=alice.user.headers
    )
    assert group.status_code == 201, group.text
    chat_id = group.json()["chat_id"]
    await post(api, alice.user, chat_id, "Hello team")
    await post(api, bob.user, chat_id, "Oops, wrong chat")
    await open_chat(alice, "Team")
    await open_chat(bob, "Team")
    await expect(chat_item(bob.page, "Team")).to_contain_text("You: Oops, wrong chat")

    # Bob may delete his own message only; Alice, the group's creator, any message.
    menu = await open_menu(bob, msg(bob.page, "Hello team"))
    await expect(menu.get_by_role("button", name="Delete")).to_have_count(0)
    await bob.page.keyboard.press("Escape")

    # Cancel keeps the message.
    dialog = alice.page.locator("#dialog")
    await (
        (await open_menu(alice, msg(alice.page, "Oops, wrong chat")))
        .get_by_role("button", name="Delete")
        .click()
    )
    await expect(dialog).to_contain_text("Delete Bob's message for everyone")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(msg(alice.page, "Oops, wrong chat")).to_be_visible()

    # Bob starts to fix it; Alice deletes it meanwhile.
    menu = await open_menu(bob, msg(bob.page, "Oops, wrong chat"))
    await menu.get_by_role("button", name="Edit").click()
    await expect(composer(bob.page)).to_have_value("Oops, wrong chat")
    menu = await open_menu(alice, msg(alice.page, "Oops, wrong chat"))
    await menu.get_by_role("button", name="Delete").click()
    await both_widths(shot, alice, "confirm-delete")
    await dialog.get_by_role("button", name="Delete").click()
    for person in (alice, bob):
        page = person.page
        await expect(msg(page, "Oops, wrong chat")).to_have_count(0)
        tombstone = msg(page, "Message deleted")
        await expect(tombstone).to_have_class(re.compile(r"\bdeleted\b"))
        await expect(tombstone.locator(".reactions")).to_be_hidden()
        await expect(tombstone.get_by_role("button", name="Message actions")).to_be_hidden()
    await expect(chat_item(bob.page, "Team")).to_contain_text("Alice: Hello team")
    await expect(bob.page.locator("#composer-context")).to_be_hidden()
    await expect(bob.page.locator("#action-notice")).to_have_text("The message was deleted.")
    await expect(composer(bob.page)).to_have_value("")
    await expect(chat_item(alice.page, "Team")).to_contain_text("You: Hello team")
    await both_widths(shot, bob, "deleted-live")


async def test_reaction_chips_count_live_show_mine_and_toggle(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    await post(api, bob.user, chat_id, "Lunch at noon?")
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")

    menu = await open_menu(alice, msg(alice.page, "Lunch at noon?"))
    await menu.get_by_role("button", name="React with 👍").click()
    chip = {p.user.name: msg(p.page, "Lunch at noon?").locator(".reaction") for p in (alice, bob)}
    await expect(chip["Alice"]).to_have_text("👍 1")
    await expect(chip["Alice"]).to_have_attribute(PRESSED, "true")
    await expect(chip["Bob"]).to_have_text("👍 1")
    await expect(chip["Bob"]).to_have_attribute(PRESSED, "false")

    await chip["Bob"].click()  # a chip adds my reaction too
    for person in (alice, bob):
        await expect(chip[person.user.name]).to_have_text("👍 2")
        await expect(chip[person.user.name]).to_have_attribute(PRESSED, "true")
    await both_widths(shot, bob, "reactions")
    await no_serious_problems(bob.page, "#messages .msg")

    await chip["Alice"].click()  # and takes mine back
    await expect(chip["Bob"]).to_have_text("👍 1")
    await expect(chip["Alice"]).to_have_text("👍 1")
    await expect(chip["Alice"]).to_have_attribute(PRESSED, "false")
    await expect(chip["Bob"]).to_have_attribute(PRESSED, "true")

    # One reaction each: Bob's ❤️ replaces his 👍, all from the keyboard. The newest
    # message's ⋯ is the one in the Tab order; the menu starts at the first reaction.
    page = bob.page
    more = msg(page, "Lunch at noon?").get_by_role("button", name="Message actions")
    await expect(more).to_have_attribute("tabindex", "0")
    await more.focus()
    await page.keyboard.press("Enter")
    menu = page.get_by_role("group", name="Message actions")
    await expect(menu.get_by_role("button", name="React with 👍")).to_be_focused()
    await expect(menu.get_by_role("button", name="React with 👍")).to_have_attribute(
        PRESSED, "true"
    )
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await expect(menu.get_by_role("button", name="React with ❤️")).to_be_focused()
    await page.keyboard.press("Enter")
    for person in (alice, bob):
        await expect(chip[person.user.name]).to_have_count(1)
        await expect(chip[person.user.name]).to_have_text("❤️ 1")


async def test_changes_made_while_offline_show_after_the_reconnect_without_a_reload(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await register_user(api, "Alice")  # her changes go over REST
    chat_id = await start_private_chat(api, alice, bob.user)
    keep = await post(api, alice, chat_id, "Keep this")
    change = await post(api, alice, chat_id, "Change this")
    drop = await post(api, alice, chat_id, "Drop this")
    await post(api, bob.user, chat_id, "Why?", reply_to_seq=drop["seq"])
    await open_chat(bob, "Alice")
    await expect(msg(bob.page, "Why?").locator(".quote")).to_contain_text("Drop this")
    await bob.page.evaluate("window.notReloaded = true")

    await go_offline(bob)
    base = f"/chats/{chat_id}/messages"
    headers = alice.headers
    for response in [
        await api.patch(f"{base}/{change['seq']}", json={"text": "Changed"}, headers=headers),
        await api.delete(f"{base}/{drop['seq']}", headers=headers),
        await api.put(f"{base}/{keep['seq']}/reaction", json={"emoji": "🎉"}, headers=headers),
    ]:
        assert response.status_code == 200, response.text
    await post(api, alice, chat_id, "Sent while you were away")
    # A change tried while offline is not shown as done.
    menu = await open_menu(bob, msg(bob.page, "Keep this"))
    await menu.get_by_role("button", name="React with 👀").click()
    await expect(bob.page.locator("#action-notice")).to_contain_text("You are offline")
    await expect(msg(bob.page, "Keep this").locator(".reaction")).to_have_count(0)
    # A reply written offline waits in the outbox and goes out as a reply.
    await (
        (await open_menu(bob, msg(bob.page, "Keep this")))
        .get_by_role("button", name="Reply")
        .click()
    )
    await composer(bob.page).fill("Written offline")
    await composer(bob.page).press("Enter")
    queued = msg(bob.page, "Written offline")
    await expect(queued).to_have_attribute("data-status", "pending")
    await expect(queued.locator(".quote")).to_contain_text("Keep this")
    await go_online(bob)

    page = bob.page
    await expect(msg(page, "Sent while you were away")).to_be_visible()
    await expect(msg(page, "Changed").locator(".edited")).to_be_visible()
    await expect(msg(page, "Change this")).to_have_count(0)
    await expect(msg(page, "Drop this")).to_have_count(0)
    await expect(msg(page, "Message deleted")).to_have_count(1)
    await expect(msg(page, "Keep this").locator(".reaction")).to_have_text("🎉 1")
    await expect(msg(page, "Why?").locator(".quote")).to_contain_text("Deleted message")
    assert await page.evaluate("window.notReloaded") is True
    await expect(msg(page, "Written offline")).to_have_attribute("data-status", "sent")
    history = await api.get(f"/history/{chat_id}", headers=headers)
    sent = next(m for m in history.json() if m["text"] == "Written offline")
    assert sent["reply_to"]["seq"] == keep["seq"]
    await both_widths(shot, bob, "caught-up")


async def test_an_edit_that_arrives_while_the_history_loads_is_kept(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice = await register_user(api, "Alice")
    updated = asyncio.Event()

    def passes_on(frame: str) -> bool:
        """Holds nothing; notes when the edit's message_updated goes to the page."""
        if socket_event("message_updated")(frame):
            updated.set()
        return False

    bob = await open_as("Bob", gate=SocketGate(holds=passes_on))
    chat_id = await start_private_chat(api, alice, bob.user)
    first = await post(api, alice, chat_id, "Before the edit")
    await post(api, alice, chat_id, "Something else")
    # The history is read before the edit but reaches the page after its message_updated.
    history = HeldAnswers()
    await bob.page.route(f"**/history/{chat_id}**", history)
    await chat_item(bob.page, "Alice").click()
    await history.wait_until_answered()
    response = await api.patch(
        f"/chats/{chat_id}/messages/{first['seq']}",
        json={"text": "After the edit"},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    await asyncio.wait_for(updated.wait(), timeout=10)
    await bob.page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
    history.release()
    await expect(msg(bob.page, "After the edit").locator(".edited")).to_be_visible()
    await expect(msg(bob.page, "Before the edit")).to_have_count(0)


async def test_on_a_touch_screen_the_actions_button_is_always_shown_and_a_tap_opens_it(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await register_user(api, "Alice")
    bob = await open_as("Bob", viewport=PHONE, has_touch=True, is_mobile=True)
    chat_id = await start_private_chat(api, alice, bob.user)
    await post(api, alice, chat_id, "Tap the dots")
    await open_chat(bob, "Alice")
    more = msg(bob.page, "Tap the dots").get_by_role("button", name="Message actions")
    await expect(more).to_be_visible()
    # Retried: a re-render between the two reads left an element without a style.
    await expect(more).to_have_css("opacity", SHOWN)
    await more.tap()
    menu = bob.page.get_by_role("group", name="Message actions")
    await expect(menu).to_be_in_viewport(ratio=1)
    await shot(bob, "touch-menu")
    await menu.get_by_role("button", name="React with 🔥").tap()
    await expect(msg(bob.page, "Tap the dots").locator(".reaction")).to_have_text("🔥 1")
    await shot(bob, "touch-reacted")
