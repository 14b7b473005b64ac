"""The web page keeps in step with the server across reconnects, late answers and tabs.

Each test forces one order of events that a slow network can produce: answers are held
back with Playwright routing (HeldAnswers for REST, SocketGate for socket frames) or the
connection is dropped with window.chatClient.dropConnection(); never with sleeps.
"""

import re

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import (
    OpenAs,
    Person,
    register_user,
)
from tests.e2e.test_web_client import (
    chat_item,
    open_chat,
    start_private_chat,
)
from tests.helpers import TestUser

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
    # The connect snapshot lists who is online, and Alice is not among them.
    await expect(laptop.page.locator("#chat-status")).not_to_have_text("online")
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
