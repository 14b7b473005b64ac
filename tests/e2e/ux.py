"""Helpers for the browser tests of how the page feels (issue 15): seeded demo people,
screenshots at desktop and phone width, and the usual locators."""

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from chat_server.config import Settings
from chat_server.db import make_engine
from chat_server.seed import SEED_PASSWORD, SeedSummary, seed
from tests.e2e.conftest import OpenAs, Person, Screenshots
from tests.support.api import TestUser

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


async def both_widths(shot: Screenshots, person: Person, step: str) -> None:
    """Screenshots at desktop and phone width, then back to the page's own size."""
    page = person.page
    size = page.viewport_size
    for name, viewport in (("desktop", WIDE), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.wait_for_timeout(50)  # a frame for the layout to settle
        await shot(person, f"{step}-{name}")
    if size:
        await page.set_viewport_size(size)


def chat_item(page: Page, title: str) -> Locator:
    return page.locator("#chat-list .chat-item", has_text=title)


def bubble(page: Page, text: str) -> Locator:
    return page.locator("#messages .msg", has_text=text)


async def open_chat(person: Person, title: str) -> None:
    await chat_item(person.page, title).click()
    await expect(person.page.locator("#chat-title")).to_have_text(title)


def composer(page: Page) -> Locator:
    return page.get_by_label("Message", exact=True)


async def send(person: Person, text: str) -> None:
    box = composer(person.page)
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


async def start_private_chat(api: httpx.AsyncClient, a: TestUser, b: TestUser) -> int:
    response = await api.post("/chats/private", json={"user_id": b.id}, headers=a.headers)
    assert response.status_code in (200, 201), response.text
    chat_id: int = response.json()["id"]
    return chat_id


async def post_messages(
    api: httpx.AsyncClient, sender: TestUser, chat_id: int, *texts: str
) -> list[int]:
    """Send over REST, in order; returns the seqs."""
    seqs = []
    for text in texts:
        response = await api.post(
            f"/chats/{chat_id}/messages", json={"text": text}, headers=sender.headers
        )
        assert response.status_code == 201, response.text
        seqs.append(response.json()["seq"])
    return seqs


async def my_watermark(api: httpx.AsyncClient, user: TestUser, chat_id: int) -> int:
    response = await api.get(f"/chats/{chat_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    member = next(m for m in response.json()["members"] if m["user_id"] == user.id)
    seq: int = member["last_read_seq"]
    return seq


@pytest.fixture
async def seeded(database_url: str, settings: Settings) -> AsyncIterator[SeedSummary]:
    """The demo data of `python -m chat_server seed`, in the live server's database."""
    engine: AsyncEngine = make_engine(database_url, pool_size=2)
    try:
        yield await seed(engine, settings)
    finally:
        await engine.dispose()


async def seeded_user(api: httpx.AsyncClient, name: str) -> TestUser:
    email = f"{name.lower()}@example.com"
    response = await api.post("/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = (await api.get("/users/me", headers=headers)).json()
    return TestUser(id=me["id"], name=name, email=email, token=token, headers=headers)


async def open_seeded(
    open_as: OpenAs, api: httpx.AsyncClient, name: str, **options: object
) -> Person:
    """Log in to the page as a seeded demo person."""
    user = await seeded_user(api, name)
    return await open_as(name, user=user, password=SEED_PASSWORD, **options)
