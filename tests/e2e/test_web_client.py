"""The bundled web client, end to end: real Chromium, real server, real database.

Each test drives two or three people in separate browser contexts and saves a
screenshot per step under test-artifacts/e2e/<test name>/.
"""

import asyncio
import re
from typing import Any

import httpx
from playwright.async_api import Locator, Page, Route, expect

from tests.e2e.conftest import PHONE, OpenAs, Person, Screenshots, register_user
from tests.support.api import TestUser


def chat_item(page: Page, title: str) -> Locator:
    return page.locator("#chat-list .chat-item", has_text=title)


def bubble(page: Page, text: str) -> Locator:
    return page.locator("#messages .msg", has_text=text)


async def open_chat(person: Person, title: str) -> None:
    await chat_item(person.page, title).click()
    await expect(person.page.locator("#chat-title")).to_have_text(title)


async def send(person: Person, text: str) -> None:
    box = person.page.get_by_label("Message", exact=True)
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


async def expect_ticks(message: Locator, state: str) -> None:
    label = {"sent": "sent", "read": "read", "pending": "sending"}[state]
    await expect(message).to_have_attribute("data-status", state)
    await expect(message.get_by_role("img", name=label, exact=True)).to_be_visible()


async def group_with_both_open(
    open_as: OpenAs, api: httpx.AsyncClient, name: str
) -> tuple[Person, Person]:
    """Alice creates group `name` with Bob over REST; both have it open on screen."""
    alice = await open_as("Alice")
    bob = await open_as("Bob")
    await create_group(api, alice, name, [bob.user.id])
    await open_chat(alice, name)
    await open_chat(bob, name)
    return alice, bob


async def create_group(
    api: httpx.AsyncClient, creator: Person, name: str, member_ids: list[int]
) -> dict[str, Any]:
    response = await api.post(
        "/groups", json={"name": name, "member_ids": member_ids}, headers=creator.user.headers
    )
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


async def start_private_chat(api: httpx.AsyncClient, a: TestUser, b: TestUser) -> int:
    response = await api.post("/chats/private", json={"user_id": b.id}, headers=a.headers)
    assert response.status_code in (200, 201), response.text
    chat_id: int = response.json()["id"]
    return chat_id


async def test_private_chat_message_goes_from_sent_to_read(
    open_as: OpenAs, shot: Screenshots
) -> None:
    alice = await open_as("Alice")
    bob = await open_as("Bob")
    await shot(alice, "logged-in")

    # Alice finds Bob by name and opens the chat with him.
    await alice.page.get_by_role("button", name="New chat").click()
    await alice.page.get_by_placeholder("Search people").fill("bob")
    await alice.page.locator(".user-row", has_text="Bob").click()
    await expect(alice.page.locator("#chat-title")).to_have_text("Bob")
    await shot(alice, "chat-opened")

    await send(alice, "Hi Bob!")
    mine = bubble(alice.page, "Hi Bob!")
    await expect_ticks(mine, "sent")
    await shot(alice, "sent-one-tick")

    # Bob sees it arrive live in his chat list, unread.
    item = chat_item(bob.page, "Alice")
    await expect(item).to_contain_text("Hi Bob!")
    await expect(item.locator(".badge")).to_have_text("1")
    await shot(bob, "chat-list-unread")
    await expect_ticks(mine, "sent")

    await open_chat(bob, "Alice")
    await expect(bubble(bob.page, "Hi Bob!")).to_be_visible()
    await expect(item.locator(".badge")).to_have_count(0)
    await shot(bob, "chat-read")

    await expect_ticks(mine, "read")
    await shot(alice, "read-two-ticks")

    # Both have the chat open now: Alice sees Bob typing, and his reply is read at once.
    await bob.page.get_by_label("Message", exact=True).fill("Hello")
    await expect(alice.page.locator("#chat-status")).to_have_text("typing…")
    await shot(alice, "bob-typing")
    await send(bob, "Hello Alice,\nnice to see you")
    await expect(bubble(alice.page, "nice to see you")).to_be_visible()
    await expect_ticks(bubble(bob.page, "nice to see you"), "read")
    await expect(chat_item(alice.page, "Bob").locator(".badge")).to_have_count(0)
    await shot(bob, "reply-read")


async def test_group_message_is_read_only_when_everyone_opened_it(
    open_as: OpenAs, shot: Screenshots
) -> None:
    alice = await open_as("Alice")
    bob = await open_as("Bob")
    carol = await open_as("Carol")

    # Alice creates the group with Bob and Carol; it appears live for both.
    page = alice.page
    await page.get_by_role("button", name="New group").click()
    await page.get_by_label("Group name").fill("Weekend trip")
    search = page.get_by_placeholder("Search people")
    for name in ("Bob", "Carol"):
        await search.fill(name)
        await page.locator(".user-row", has_text=name).click()
    await expect(page.locator(".chip")).to_have_count(2)
    await shot(alice, "new-group-dialog")
    await page.get_by_role("button", name="Create group").click()
    await expect(page.locator("#chat-title")).to_have_text("Weekend trip")
    for person in (bob, carol):
        await expect(chat_item(person.page, "Weekend trip")).to_be_visible()

    await send(alice, "Who brings the tent?")
    mine = bubble(page, "Who brings the tent?")
    await expect_ticks(mine, "sent")
    await shot(alice, "sent")

    await open_chat(bob, "Weekend trip")
    await expect(bubble(bob.page, "Who brings the tent?")).to_contain_text("Alice")
    await shot(bob, "opened")
    # Bob has read it, Carol not yet: still one tick, and the bubble says who read it.
    await mine.click()
    await expect(mine.locator(".readers")).to_have_text("Read by Bob")
    await expect_ticks(mine, "sent")
    await shot(alice, "read-by-bob-only")

    await open_chat(carol, "Weekend trip")
    await expect(bubble(carol.page, "Who brings the tent?")).to_be_visible()
    await expect_ticks(mine, "read")
    everyone = re.compile(r"Read by (Bob, Carol|Carol, Bob)")
    await expect(mine.locator(".readers")).to_have_text(everyone)
    await shot(alice, "read-by-everyone")


async def test_html_in_messages_and_names_is_shown_as_text(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    hostile_name = "<b onmouseover=alert(2)>Mallory</b>"
    alice = await open_as("Alice")
    mallory = await open_as(hostile_name, viewport=PHONE)
    await start_private_chat(api, mallory.user, alice.user)

    payload = "<img src=x onerror=alert(1)>"
    await open_chat(mallory, "Alice")
    await send(mallory, payload)
    await expect(bubble(mallory.page, payload).locator(".text")).to_have_text(payload)
    await shot(mallory, "phone-sent")

    await expect(chat_item(alice.page, hostile_name)).to_contain_text(payload)
    await open_chat(alice, hostile_name)
    message = bubble(alice.page, payload)
    await expect(message.locator(".text")).to_have_text(payload)
    await expect(alice.page.locator("#chat-title")).to_have_text(hostile_name)
    await shot(alice, "shown-as-text")

    # Nothing was parsed as markup: no <img> or <b> anywhere, no alert (the fixture
    # also fails the test on any dialog or console error).
    for person in (alice, mallory):
        assert await person.page.locator("#app-view img, #app-view b").count() == 0
    await mallory.page.get_by_role("button", name="Back to chats").click()
    await expect(chat_item(mallory.page, "Alice")).to_be_visible()
    await shot(mallory, "phone-chat-list")


async def test_offline_user_gets_missed_messages_once_and_sends_queued_ones(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice")
    bob = await open_as("Bob")
    await start_private_chat(api, alice.user, bob.user)
    await open_chat(alice, "Bob")
    await open_chat(bob, "Alice")
    await send(alice, "Before the tunnel")
    await expect(bubble(bob.page, "Before the tunnel")).to_be_visible()

    # Bob's network goes away; the refused reconnect attempts are expected errors.
    bob.allowed_errors.append(re.compile(r"WebSocket|ERR_INTERNET_DISCONNECTED"))
    await bob.context.set_offline(True)
    await bob.page.evaluate("window.chatClient.dropConnection()")
    await expect(bob.page.locator("#offline-banner")).to_be_visible()
    await expect(bob.page.locator("#chat-status")).to_have_text("connecting…")

    await send(alice, "Sent while you were offline")
    await expect_ticks(bubble(alice.page, "Sent while you were offline"), "sent")
    await send(bob, "Typed in the tunnel")
    await expect_ticks(bubble(bob.page, "Typed in the tunnel"), "pending")
    await expect(bubble(bob.page, "Sent while you were offline")).to_have_count(0)
    await shot(bob, "offline")

    await bob.context.set_offline(False)
    await expect(bob.page.locator("#offline-banner")).to_be_hidden()
    await expect(bubble(bob.page, "Sent while you were offline")).to_have_count(1)
    await expect_ticks(bubble(bob.page, "Typed in the tunnel"), "read")
    await expect(bubble(alice.page, "Typed in the tunnel")).to_have_count(1)
    await expect_ticks(bubble(alice.page, "Sent while you were offline"), "read")
    await shot(bob, "back-online")
    await shot(alice, "back-online")

    # Nothing doubled: not on screen, and not on the server either.
    await bob.page.wait_for_timeout(300)
    await expect(bubble(bob.page, "Sent while you were offline")).to_have_count(1)
    await expect(bubble(bob.page, "Typed in the tunnel")).to_have_count(1)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    response = await api.get(f"/history/{chat_id}", headers=alice.user.headers)
    texts = [message["text"] for message in response.json()]
    assert texts == ["Before the tunnel", "Sent while you were offline", "Typed in the tunnel"]


async def test_history_loads_older_pages_when_scrolling_up(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice")
    bob_user = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, bob_user, alice.user)
    for number in range(1, 76):
        response = await api.post(
            f"/chats/{chat_id}/messages",
            json={"text": f"Message number {number}"},
            headers=bob_user.headers,
        )
        assert response.status_code == 201, response.text
    # Read already: the chat opens at its newest page (unread ones open at the first unread).
    read = await api.post(f"/chats/{chat_id}/read", json={"seq": 75}, headers=alice.user.headers)
    assert read.status_code == 200, read.text

    await open_chat(alice, "Bob")
    messages = alice.page.locator("#messages .msg")
    await expect(messages).to_have_count(50)  # the newest page
    await expect(messages.last.locator(".text")).to_have_text("Message number 75")
    await shot(alice, "newest-page")

    await alice.page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
    await expect(messages).to_have_count(75)
    await expect(messages.first.locator(".text")).to_have_text("Message number 1")
    await shot(alice, "older-page")
    await expect(chat_item(alice.page, "Bob").locator(".badge")).to_have_count(0)


async def test_login_survives_reload_and_an_expired_token_returns_to_login(
    open_as: OpenAs, shot: Screenshots
) -> None:
    alice = await open_as("Alice")
    await alice.page.reload()
    await expect(alice.page.locator("#me-name")).to_have_text("Alice")

    # The server rejects the stored token (as it does once it expires): back to the form.
    alice.allowed_errors.append(re.compile(r"401 \(Unauthorized\)"))
    await alice.page.evaluate("localStorage.setItem('chat.token', 'expired.token.value')")
    await alice.page.reload()
    await expect(alice.page.locator("#auth-notice")).to_have_text(
        "Your session has expired. Please log in again."
    )
    await expect(alice.page.locator("#login-form")).to_be_visible()
    await shot(alice, "expired")


async def test_group_members_are_removed_added_back_and_can_leave(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice, bob = await group_with_both_open(open_as, api, "Book club")

    # Alice (the creator) removes Bob: the group leaves his list and his screen at once.
    await alice.page.get_by_role("button", name="Members").click()
    dialog = alice.page.locator("#dialog")
    await dialog.locator(".member", has_text="Bob").get_by_role("button", name="Remove").click()
    await expect(dialog.locator(".member")).to_have_count(1)
    await expect(chat_item(bob.page, "Book club")).to_have_count(0)
    await expect(bob.page.locator("#no-chat")).to_have_text(
        "You are no longer a member of that chat."
    )
    await shot(bob, "removed")

    # She adds him back: the group reappears for him without a reload.
    await dialog.get_by_placeholder("Add a member").fill("Bob")
    await dialog.locator(".user-row", has_text="Bob").click()
    await expect(dialog.locator(".member")).to_have_count(2)
    await shot(alice, "members")
    await alice.page.keyboard.press("Escape")
    await open_chat(bob, "Book club")

    # Bob leaves on his own (asked once more inside the dialog).
    await bob.page.get_by_role("button", name="Members").click()
    await bob.page.get_by_role("button", name="Leave group").click()
    await bob.page.locator("#dialog .leave").get_by_role("button", name="Leave", exact=True).click()
    await expect(chat_item(bob.page, "Book club")).to_have_count(0)
    await expect(alice.page.locator("#chat-status")).to_have_text(re.compile(r"^1 member\b"))
    await shot(bob, "left")


async def test_a_chat_list_answered_before_a_removal_and_a_message_does_not_undo_them(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice = await open_as("Alice")
    bob = await open_as("Bob")
    quiz = await create_group(api, alice, "Quiz night", [bob.user.id])
    await open_chat(bob, "Quiz night")

    # Bob's next chat list is answered by the server now, but reaches his page only later.
    answered, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        response = await route.fetch()
        answered.set()
        await release.wait()
        await route.fulfill(response=response)

    await bob.page.route("**/chats", hold)
    # Being added to a group makes the page fetch its list again.
    games = await create_group(api, alice, "Board games", [bob.user.id])
    await asyncio.wait_for(answered.wait(), timeout=10)

    # While that list is on its way: Bob is removed from one group, gets a message in the other.
    removed = await api.delete(
        f"/groups/{quiz['id']}/members/{bob.user.id}", headers=alice.user.headers
    )
    assert removed.status_code == 204, removed.text
    sent = await api.post(
        f"/chats/{games['chat_id']}/messages", json={"text": "Chess?"}, headers=alice.user.headers
    )
    assert sent.status_code == 201, sent.text
    await expect(chat_item(bob.page, "Quiz night")).to_have_count(0)
    await expect(chat_item(bob.page, "Board games").locator(".badge")).to_have_text("1")

    release.set()
    await expect(bob.page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
    # The late list does not bring the group back, nor forget the message.
    await expect(chat_item(bob.page, "Quiz night")).to_have_count(0)
    await expect(bob.page.locator("#no-chat")).to_have_text(
        "You are no longer a member of that chat."
    )
    games_item = chat_item(bob.page, "Board games")
    await expect(games_item.locator(".badge")).to_have_text("1")
    await expect(games_item).to_contain_text("Chess?")
    await bob.page.unroute("**/chats")


async def test_the_creator_renames_then_deletes_a_group_and_members_see_it_live(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice, bob = await group_with_both_open(open_as, api, "Hiking")

    # Only the creator gets the controls; she cannot leave her own group (she deletes it).
    await bob.page.get_by_role("button", name="Members").click()
    await expect(bob.page.get_by_role("button", name="Rename")).to_have_count(0)
    await expect(bob.page.get_by_role("button", name="Delete group")).to_have_count(0)
    await bob.page.get_by_role("button", name="Close").click()
    await alice.page.get_by_role("button", name="Members").click()
    dialog = alice.page.locator("#dialog")
    await expect(dialog.get_by_role("button", name="Leave group")).to_have_count(0)
    # Bob was online before the group existed; Alice still sees him online in it.
    await expect(dialog.locator(".member", has_text="Bob")).to_contain_text("online")

    # Rename: Bob's header and list follow without a reload (chat_updated).
    await dialog.get_by_label("Group name").fill("Hiking <b>2027</b>")
    await dialog.get_by_role("button", name="Rename").click()
    await expect(dialog.locator("h2")).to_have_text("Hiking <b>2027</b>")
    await expect(bob.page.locator("#chat-title")).to_have_text("Hiking <b>2027</b>")
    await expect(chat_item(bob.page, "Hiking <b>2027</b>")).to_have_count(1)
    await shot(alice, "group-dialog")
    await shot(bob, "renamed")

    # Delete, confirmed once more inside the dialog: gone for both, Bob's screen says so.
    await dialog.get_by_role("button", name="Delete group").click()
    await dialog.locator(".leave").get_by_role("button", name="Delete", exact=True).click()
    await expect(alice.page.locator("#no-chat")).to_have_text("You deleted the group.")
    await expect(chat_item(alice.page, "Hiking")).to_have_count(0)
    await expect(chat_item(bob.page, "Hiking")).to_have_count(0)
    await expect(bob.page.locator("#no-chat")).to_have_text(
        "You are no longer a member of that chat."
    )
    await shot(bob, "deleted")
