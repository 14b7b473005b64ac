"""A URL per chat (issue 15, item 9): reload stays in the chat, the back button works, a
member can open a shared link, and anyone else sees "Chat not found"."""

import re

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.conftest import OpenAs, Screenshots
from tests.e2e.ux import PHONE, WIDE, both_widths, chat_item, open_chat, start_private_chat
from tests.support.api import PASSWORD
from tests.support.servers import LiveServer


async def test_each_chat_has_a_url_that_survives_reload_and_back(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    private_id = await start_private_chat(api, alice.user, bob.user)
    response = await api.post(
        "/groups", json={"name": "Band", "member_ids": [bob.user.id]}, headers=alice.user.headers
    )
    assert response.status_code == 201, response.text
    group_id = response.json()["chat_id"]
    page = alice.page
    title = page.locator("#chat-title")

    await open_chat(alice, "Bob")
    await expect(page).to_have_url(re.compile(f"#/chat/{private_id}$"))
    await open_chat(alice, "Band")
    await expect(page).to_have_url(re.compile(f"#/chat/{group_id}$"))
    await page.reload()
    await expect(title).to_have_text("Band")
    await expect(page.locator("#messages .empty-hint")).to_be_visible()

    await page.go_back()
    await expect(title).to_have_text("Bob")
    await page.go_back()
    await expect(page.locator("#chat-view")).to_be_hidden()
    await expect(page.locator("#no-chat")).to_have_text("Select a chat to start messaging")
    await page.go_forward()
    await expect(title).to_have_text("Bob")
    await both_widths(shot, alice, "after-back-and-forward")

    # Bob, a member, opens the link Alice shares, in a new tab.
    tab = await bob.context.new_page()
    await tab.goto(f"/#/chat/{group_id}")
    await expect(tab.locator("#chat-title")).to_have_text("Band")
    await expect(chat_item(tab, "Band")).to_have_attribute("aria-current", "true")
    await tab.close()


async def test_a_chat_one_cannot_see_says_chat_not_found(
    open_as: OpenAs,
    api: httpx.AsyncClient,
    shot: Screenshots,
    browser: Browser,
    live_server: LiveServer,
) -> None:
    alice = await open_as("Alice", viewport=WIDE)
    bob = await open_as("Bob", viewport=WIDE)
    carol = await open_as("Carol", viewport=PHONE)
    private_id = await start_private_chat(api, alice.user, bob.user)

    for person in (carol, alice):
        for link in (f"/#/chat/{private_id + 1000}", "/#/chat/not-a-number"):
            await person.page.goto(link)
            await expect(person.page.locator("#no-chat")).to_have_text("Chat not found")
    # Alice and Bob's chat, from Carol's phone: not found, and a way back to her list.
    page = carol.page
    await page.goto(f"/#/chat/{private_id}")
    await expect(page.locator("#no-chat")).to_have_text("Chat not found")
    await expect(page.locator("#chat-view")).to_be_hidden()
    await both_widths(shot, carol, "not-found")
    await page.get_by_role("button", name="Back to chats").click()
    await expect(page.locator("#new-chat")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/(#/)?$"))

    # A shared link opened before logging in waits for the login.
    context = await browser.new_context(base_url=live_server.base_url, viewport=WIDE)
    try:
        tab = await context.new_page()
        await tab.goto(f"/#/chat/{private_id}")
        form = tab.locator("#login-form")
        await form.get_by_label("Email").fill(bob.user.email)
        await form.get_by_label("Password").fill(PASSWORD)
        await form.get_by_role("button", name="Log in").click()
        await expect(tab.locator("#chat-title")).to_have_text("Alice")
        await expect(tab).to_have_url(re.compile(f"#/chat/{private_id}$"))
    finally:
        await context.close()
