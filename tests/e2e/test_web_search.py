"""The search box (issue 12): results as a list, a hit opens its chat at the message,
and a message's own markup stays text in the results."""

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import OpenAs, Screenshots
from tests.e2e.ux import WIDE, both_widths, bubble, chat_item, post_messages, start_private_chat


async def test_a_hit_opens_its_chat_scrolled_to_the_message_highlighted(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    band = await api.post(
        "/groups", json={"name": "Band", "member_ids": [bob.user.id]}, headers=alice.user.headers
    )
    assert band.status_code == 201, band.text
    chat_id = band.json()["chat_id"]
    await post_messages(api, alice.user, chat_id, "warm up", "The Deployment plan is ready")
    # Far more than one page after it: opening the hit must load older history.
    await post_messages(api, bob.user, chat_id, *[f"filler {i}" for i in range(130)])
    private = await start_private_chat(api, alice.user, bob.user)
    await post_messages(api, alice.user, private, "deploy on friday?")

    page = bob.page
    search = page.get_by_label("Search messages")
    await search.fill("DEPLOY")
    hits = page.locator("#search-results .search-hit")
    await expect(hits).to_have_count(2)
    # Newest first: the private chat's message, then the group's.
    await expect(hits.nth(0)).to_contain_text("Alice")
    await expect(hits.nth(0).locator("mark")).to_have_text("deploy")
    await expect(hits.nth(1).locator(".chat-name")).to_have_text("Band")
    await expect(hits.nth(1).locator(".search-sender")).to_have_text("Alice: ")
    await expect(hits.nth(1).locator("mark")).to_have_text("Deploy")
    await expect(hits.nth(1)).to_contain_text("The Deployment plan is ready")
    await expect(page.locator("#chat-list")).to_be_hidden()
    await both_widths(shot, bob, "results")

    await hits.nth(1).click()
    await expect(page.locator("#chat-title")).to_have_text("Band")
    target = bubble(page, "The Deployment plan is ready")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await shot(bob, "opened-at-hit")
    await expect(target).not_to_have_class(re.compile(r"\bhighlight\b"), timeout=5000)

    # Escape clears the search: the chat list is back.
    await search.fill("nothing-matches-this")
    await expect(page.locator("#search-status")).to_have_text("No messages found")
    await search.press("Escape")
    await expect(search).to_have_value("")
    await expect(chat_item(page, "Band")).to_be_visible()


async def test_markup_in_a_message_stays_text_in_search_results(
    open_as: OpenAs, api: httpx.AsyncClient, shot: Screenshots
) -> None:
    bob = await open_as("Bob", viewport=WIDE)
    alice = await open_as("Alice", viewport=WIDE)
    chat_id = await start_private_chat(api, alice.user, bob.user)
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> script'
    await post_messages(api, alice.user, chat_id, hostile)

    page = bob.page
    await page.get_by_label("Search messages").fill("script")
    hit = page.locator("#search-results .search-hit")
    await expect(hit).to_have_count(1)
    await expect(hit.locator(".search-snippet")).to_contain_text(
        '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> script'
    )
    await expect(hit.locator("mark")).to_have_count(3)  # <script>, </script>, script
    assert await page.locator("#search-results img, #search-results script").count() == 0
    assert await page.evaluate("window.pwned") is None
    await shot(bob, "hostile-text-as-text")
