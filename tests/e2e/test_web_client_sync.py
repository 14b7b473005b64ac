"""The web page keeps in step with the server across reconnects, late answers and tabs.

Each test forces one order of events that a slow network can produce: answers are held
back with Playwright routing (HeldAnswers for REST, SocketGate for socket frames) or the
connection is dropped with window.chatClient.dropConnection(); never with sleeps.
"""

import re

import httpx
from playwright.async_api import Page, Route, expect

from tests.e2e.conftest import (
    HeldAnswers,
    OpenAs,
    Person,
    SocketGate,
    open_tab,
    register_user,
    socket_event,
)
from tests.e2e.test_web_client import (
    bubble,
    chat_item,
    expect_ticks,
    open_chat,
    send,
    start_private_chat,
)
from tests.support.api import TestUser

OFFLINE_ERRORS = re.compile(r"WebSocket|ERR_INTERNET_DISCONNECTED")


async def go_offline(person: Person, *pages: Page) -> None:
    """The person's network goes away (all their tabs); refused reconnects are expected."""
    person.allowed_errors.append(OFFLINE_ERRORS)
    await person.context.set_offline(True)
    for page in pages or (person.page,):
        await page.evaluate("window.chatClient.dropConnection()")
        await expect(page.locator("#offline-banner")).to_be_visible()


async def go_online(person: Person, *pages: Page) -> None:
    await person.context.set_offline(False)
    for page in pages or (person.page,):
        await expect(page.locator("#offline-banner")).to_be_hidden()


async def post_messages(
    api: httpx.AsyncClient, sender: TestUser, chat_id: int, *texts: str
) -> None:
    for text in texts:
        response = await api.post(
            f"/chats/{chat_id}/messages", json={"text": text}, headers=sender.headers
        )
        assert response.status_code == 201, response.text


async def create_group_of(
    api: httpx.AsyncClient, creator: TestUser, name: str, member_ids: list[int]
) -> dict[str, int]:
    response = await api.post(
        "/groups", json={"name": name, "member_ids": member_ids}, headers=creator.headers
    )
    assert response.status_code == 201, response.text
    return {"id": response.json()["id"], "chat_id": response.json()["chat_id"]}


async def test_a_contact_who_left_while_my_connection_was_down_is_not_shown_online(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    bob_user = await register_user(api, "Bob")
    alice = await open_as("Alice")
    await start_private_chat(api, alice.user, bob_user)
    # Bob on two devices: the laptop loses its connection, the phone stays to watch.
    laptop = await open_as("Bob", user=bob_user)
    phone = await open_as("Bob", user=bob_user)
    for bob in (laptop, phone):
        await open_chat(bob, "Alice")
        await expect(bob.page.locator("#chat-status")).to_have_text("online")

    await go_offline(laptop)
    await alice.page.close()
    # The server has announced Alice offline; the laptop was not there to hear it.
    await expect(phone.page.locator("#chat-status")).to_have_text(re.compile("^last seen"))

    await go_online(laptop)
    await expect(laptop.page.locator("#connection-state")).to_have_text("online")
    # The connect snapshot says Alice is offline, and since when.
    await expect(laptop.page.locator("#chat-status")).to_have_text(re.compile("^last seen"))
    avatar = chat_item(laptop.page, "Alice").locator(".avatar")
    await expect(avatar.locator(".dot.online")).to_have_count(0)


async def test_the_new_group_dialog_closes_with_its_close_button_while_the_name_is_empty(
    open_as: OpenAs,
) -> None:
    alice = await open_as("Alice")
    await alice.page.get_by_role("button", name="New group").click()
    dialog = alice.page.locator("#dialog")
    await expect(dialog.get_by_label("Group name")).to_have_value("")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()


async def test_unread_count_after_a_reconnect_keeps_the_missed_messages_and_adds_a_live_one(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    group = await create_group_of(api, alice_user, "Busy", [bob_user.id])
    bob = await open_as("Bob", user=bob_user)
    item = chat_item(bob.page, "Busy")
    await expect(item).to_be_visible()

    await go_offline(bob)
    await post_messages(api, alice_user, group["chat_id"], "Missed 1", "Missed 2", "Missed 3")
    # The chat list fetched after the reconnect counts those three; it reaches the page
    # only after a fourth message has arrived live.
    chats = HeldAnswers()
    await bob.page.route("**/chats", chats)
    await go_online(bob)
    await chats.wait_until_answered()
    await post_messages(api, alice_user, group["chat_id"], "Live one")
    await expect(item).to_contain_text("Live one")

    chats.release()
    await expect(bob.page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
    await expect(item.locator(".badge")).to_have_text("4")


async def test_a_live_message_the_chat_list_already_counted_is_not_counted_again(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, alice_user, bob_user)
    # Bob's page hears of the first message only after a chat list that counted it.
    gate = SocketGate(holds=socket_event("message", "Counted by the list"))
    bob = await open_as("Bob", user=bob_user, gate=gate)
    item = chat_item(bob.page, "Alice")
    await expect(item).to_be_visible()

    await post_messages(api, alice_user, chat_id, "Counted by the list")
    await gate.wait_until_held()
    async with bob.page.expect_response(lambda response: response.url.endswith("/chats")):
        await create_group_of(api, alice_user, "Another group", [bob_user.id])  # a list fetch
    await expect(item).to_contain_text("Counted by the list")
    await expect(item.locator(".badge")).to_have_text("1")

    gate.release()
    # Socket frames keep their order: once this one shows, the held one was handled.
    await post_messages(api, alice_user, chat_id, "Counted live")
    await expect(item).to_contain_text("Counted live")
    await expect(item.locator(".badge")).to_have_text("2")


async def test_a_stale_member_list_does_not_bring_back_the_badge_of_the_chat_being_read(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, alice_user, bob_user)
    await post_messages(api, alice_user, chat_id, "One", "Two", "Three")
    bob = await open_as("Bob", user=bob_user)
    item = chat_item(bob.page, "Alice")
    await expect(item.locator(".badge")).to_have_text("3")

    # Opening the chat fetches its members (answered now: Bob has read nothing yet) and
    # its history; Bob reads the history before the members reach his page.
    members = HeldAnswers()
    await bob.page.route(f"**/chats/{chat_id}", members)

    async def history_after_members(route: Route) -> None:
        await members.wait_until_answered()
        await route.continue_()

    await bob.page.route(f"**/history/{chat_id}**", history_after_members)
    await item.click()
    await expect(bubble(bob.page, "Three")).to_be_visible()
    await expect(item.locator(".badge")).to_have_count(0)

    members.release()
    # Opening a chat ends by focusing the composer, once its members are in.
    await expect(bob.page.get_by_label("Message", exact=True)).to_be_focused()
    await expect(item.locator(".badge")).to_have_count(0)


async def test_a_stale_member_list_does_not_take_back_a_read_receipt(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    bob_user = await register_user(api, "Bob")
    carol_user = await register_user(api, "Carol")
    alice = await open_as("Alice")
    group = await create_group_of(api, alice.user, "Readers", [bob_user.id])
    await open_chat(alice, "Readers")
    await send(alice, "Read me")
    mine = bubble(alice.page, "Read me")
    await expect_ticks(mine, "sent")
    await mine.click()
    await expect(mine.locator(".readers")).to_have_text("Not read by anyone yet")

    # Adding Carol makes Alice's page fetch the members: answered before Bob reads,
    # delivered after his read receipt.
    members = HeldAnswers()
    await alice.page.route(f"**/chats/{group['chat_id']}", members)
    response = await api.post(
        f"/groups/{group['id']}/members",
        json={"user_id": carol_user.id},
        headers=alice.user.headers,
    )
    assert response.status_code == 201, response.text
    await members.wait_until_answered()
    response = await api.post(
        f"/chats/{group['chat_id']}/read", json={"seq": 1}, headers=bob_user.headers
    )
    assert response.status_code == 200, response.text
    await expect(mine.locator(".readers")).to_have_text("Read by Bob")

    members.release()
    # Carol joined after the message, so she counts as having read it.
    await expect(mine.locator(".readers")).to_have_text(
        re.compile(r"Read by (Bob, Carol|Carol, Bob)")
    )


async def test_a_group_left_while_offline_is_closed_on_reconnect_and_the_rest_catches_up(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    group = await create_group_of(api, alice_user, "Gone", [bob_user.id])
    chat_id = await start_private_chat(api, alice_user, bob_user)
    bob = await open_as("Bob", user=bob_user)
    await open_chat(bob, "Gone")

    await go_offline(bob)
    response = await api.delete(
        f"/groups/{group['id']}/members/{bob_user.id}", headers=alice_user.headers
    )
    assert response.status_code == 204, response.text
    await post_messages(api, alice_user, chat_id, "Sent while you were away")

    # Catching up on "Gone" is refused (not a member); the rest of the catch-up goes on.
    await go_online(bob)
    await expect(bob.page.locator("#no-chat")).to_have_text(
        "You are no longer a member of that chat."
    )
    await expect(chat_item(bob.page, "Gone")).to_have_count(0)
    await expect(chat_item(bob.page, "Alice")).to_contain_text("Sent while you were away")


def is_sync_answer(frame: str) -> bool:
    """A Socket.IO ack ("43<id>[…]") carrying a page of messages: the answer to `sync`."""
    return frame.startswith("43") and '"messages":' in frame


async def test_catching_up_on_many_missed_messages_leaves_no_gap_when_a_live_one_comes_first(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, alice_user, bob_user)
    gate = SocketGate(holds=is_sync_answer)
    bob = await open_as("Bob", user=bob_user, gate=gate)
    await open_chat(bob, "Alice")
    await expect(bob.page.locator("#messages .empty-hint")).to_be_visible()

    await go_offline(bob)
    missed = [f"Missed number {number}" for number in range(1, 151)]  # more than one page
    await post_messages(api, alice_user, chat_id, *missed)
    await go_online(bob)
    # The first page of the catch-up is late; a new message arrives live before it.
    await gate.wait_until_held()
    await post_messages(api, alice_user, chat_id, "Live while catching up")
    await expect(bubble(bob.page, "Live while catching up")).to_be_visible()

    gate.release()
    await expect(bob.page.locator("#messages .msg")).to_have_count(151)
    seqs = await bob.page.locator("#messages .msg").evaluate_all(
        "nodes => nodes.map(node => Number(node.dataset.seq))"
    )
    assert seqs == list(range(1, 152))


async def test_two_tabs_of_one_user_keep_each_others_unsent_messages(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice = await open_as("Alice")
    bob_user = await register_user(api, "Bob")
    await start_private_chat(api, alice.user, bob_user)
    bob = await open_as("Bob", user=bob_user)
    first_tab, second_tab = bob.page, await open_tab(bob)
    for tab in (first_tab, second_tab):
        await chat_item(tab, "Alice").click()
        await expect(tab.locator("#chat-title")).to_have_text("Alice")

    # Both tabs write while offline, into the outbox the tabs share; then the first closes.
    await go_offline(bob, first_tab, second_tab)
    for tab, text in ((first_tab, "From the first tab"), (second_tab, "From the second tab")):
        box = tab.get_by_label("Message", exact=True)
        await box.fill(text)
        await box.press("Enter")
        await expect_ticks(bubble(tab, text), "pending")
    await first_tab.close()

    await go_online(bob, second_tab)
    await open_chat(alice, "Bob")
    await expect(bubble(alice.page, "From the second tab")).to_be_visible()
    # A tab opened now finds the first tab's message still saved, and sends it.
    await open_tab(bob)
    await expect(bubble(alice.page, "From the first tab")).to_be_visible()


async def test_a_rename_that_arrives_while_the_chat_list_loads_is_kept(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    group = await create_group_of(api, alice_user, "Old name", [bob_user.id])
    bob = await open_as("Bob", user=bob_user)
    await expect(chat_item(bob.page, "Old name")).to_be_visible()

    chats = HeldAnswers()
    await bob.page.route("**/chats", chats)
    await create_group_of(api, alice_user, "Another group", [bob_user.id])  # a list fetch
    await chats.wait_until_answered()
    response = await api.patch(
        f"/groups/{group['id']}", json={"name": "New name"}, headers=alice_user.headers
    )
    assert response.status_code == 200, response.text
    await expect(chat_item(bob.page, "New name")).to_be_visible()

    chats.release()
    await expect(bob.page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
    await expect(chat_item(bob.page, "Another group")).to_be_visible()
    await expect(chat_item(bob.page, "New name")).to_be_visible()
    await expect(chat_item(bob.page, "Old name")).to_have_count(0)


async def test_a_read_that_arrives_while_the_history_loads_is_kept(
    open_as: OpenAs, api: httpx.AsyncClient
) -> None:
    alice_user = await register_user(api, "Alice")
    bob_user = await register_user(api, "Bob")
    chat_id = await start_private_chat(api, alice_user, bob_user)
    await post_messages(api, alice_user, chat_id, "Read while loading")
    alice = await open_as("Alice", user=alice_user)

    # Alice opens the chat; members and history are read from the database at once but
    # reach her page only after Bob has read the message.
    answers = [HeldAnswers(), HeldAnswers()]
    await alice.page.route(f"**/chats/{chat_id}", answers[0])
    await alice.page.route(f"**/history/{chat_id}**", answers[1])
    await chat_item(alice.page, "Bob").click()
    for held in answers:
        await held.wait_until_answered()
    response = await api.post(f"/chats/{chat_id}/read", json={"seq": 1}, headers=bob_user.headers)
    assert response.status_code == 200, response.text
    await expect(chat_item(alice.page, "Bob").locator(".ticks.read")).to_be_visible()

    for held in answers:
        held.release()
    await expect_ticks(bubble(alice.page, "Read while loading"), "read")
