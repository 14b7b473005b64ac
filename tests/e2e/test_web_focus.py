"""Keyboard focus on a message's control survives the list being drawn again: a
keyboard or screen reader user must not lose their place (focus falling to <body>)
when the chat changes under them.

Two kinds of redraw:
  * another member's change arriving live (read receipt, new message, edit, reaction),
    with the focus on the "who has read it" toggle, the ⋯ button or a reaction chip;
  * the last page of older history arriving (the "Scroll up for older messages" hint
    leaves the top of the list, and every message below it used to be moved), with the
    focus on a message's control, also while walking up the chat by keyboard.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from chat_server.seed import SeedSummary
from tests.e2e import ux
from tests.e2e.conftest import OpenAs, Person
from tests.e2e.ux import WIDE, chat_item, open_seeded
from tests.support.api import TestUser, group, register

seeded = ux.seeded  # the demo data fixture

# What the focus is on, named the way a user would tell it apart: "" for the page itself.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const message = el.closest(".msg");
  const text = message ? message.querySelector(".text").textContent : "";
  if (el.matches(".seen-by")) return "toggle " + text;
  if (el.matches(".more")) return "actions " + text;
  if (el.matches(".reaction")) return "reaction " + el.dataset.emoji + " on " + text;
  return el.getAttribute("aria-label") || el.placeholder || el.textContent.trim();
}"""

# From now on, note every time a control in the message list loses the keyboard focus to
# nothing (the focus falls to <body>): a `focusout` with no element gaining the focus, or
# <body> focused in a frame right after a message control was (polled every frame, so a
# loss is seen even if a later key press puts the focus somewhere again). Leaving the list
# for the rest of the page, or the page for the browser's own UI, is not counted.
WATCH = """() => {
  window.__lost = [];
  const inList = (el) => Boolean(el && el !== document.body && el.closest("#messages"));
  const name = (el) => el.className || el.tagName;
  document.addEventListener("focusout", (event) => {
    if (inList(event.target) && !event.relatedTarget) {
      window.__lost.push("focusout " + name(event.target));
    }
  }, true);
  let last = null;
  const tick = () => {
    const el = document.activeElement;
    if (!el || el === document.body) {
      if (last) window.__lost.push("body after " + last);
      last = null;
    } else {
      last = inList(el) ? name(el) : null;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def bubble(page: Page, text: str) -> Locator:
    own_text = page.locator(".text").get_by_text(text, exact=True)
    return page.locator("#messages .msg").filter(has=own_text)


async def focused(page: Page) -> str:
    name: str = await page.evaluate(FOCUS)
    return name


async def press_until(page: Page, key: str, wanted: str, limit: int = 40) -> None:
    for _ in range(limit):
        await page.keyboard.press(key)
        if await focused(page) == wanted:
            return
    raise AssertionError(f"{key} never reached {wanted!r} (at {await focused(page)!r})")


# ---- another member's change arriving live ----

MINE = "Mine to watch"
BOBS = "Bob was here"


@dataclass
class Scene:
    api: httpx.AsyncClient
    alice: Person
    bob: TestUser
    carol: TestUser
    chat_id: int

    async def call(self, method: str, path: str, user: TestUser, **body: Any) -> None:
        response = await self.api.request(
            method, f"/chats/{self.chat_id}{path}", json=body or None, headers=user.headers
        )
        assert response.status_code in (200, 201), response.text


async def make_scene(open_as: OpenAs, api: httpx.AsyncClient) -> Scene:
    """A group of Alice, Bob and Carol: Alice's message (Bob reacted 👍), then Bob's.
    Alice has it open, with the keyboard focus in the composer."""
    alice, bob, carol = [await register(api, name) for name in ("Alice", "Bob", "Carol")]
    chat_id = (await group(api, alice, [bob, carol], name="Focus"))["id"]
    scene = Scene(api, None, bob, carol, chat_id)  # type: ignore[arg-type]
    await scene.call("POST", "/messages", alice, text=MINE)
    await scene.call("PUT", "/messages/1/reaction", bob, emoji="👍")
    await scene.call("POST", "/messages", bob, text=BOBS)
    scene.alice = await open_as("Alice", user=alice, viewport=WIDE)
    page = scene.alice.page
    await chat_item(page, "Focus").click()
    await expect(bubble(page, BOBS)).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    return scene


async def focus_control(page: Page, control: str) -> str:
    """Put the keyboard focus on `control` of Alice's message, by keys only."""
    if control == "toggle":
        wanted = f"toggle {MINE}"
        await press_until(page, "Shift+Tab", wanted)
    elif control == "reaction":
        wanted = f"reaction 👍 on {MINE}"
        await press_until(page, "Shift+Tab", wanted)
    else:  # the ⋯ in the Tab order is the newest message's; ArrowUp moves to the one above
        await press_until(page, "Shift+Tab", f"actions {BOBS}")
        await page.keyboard.press("ArrowUp")
        wanted = f"actions {MINE}"
    assert await focused(page) == wanted
    return wanted


async def bob_and_carol_read(scene: Scene) -> None:
    await scene.call("POST", "/read", scene.bob, seq=2)
    await scene.call("POST", "/read", scene.carol, seq=2)
    await expect(bubble(scene.alice.page, MINE).locator(".ticks.read")).to_be_attached()


async def bob_writes(scene: Scene) -> None:
    await scene.call("POST", "/messages", scene.bob, text="Something new")
    await expect(bubble(scene.alice.page, "Something new")).to_be_attached()


async def bob_edits(scene: Scene) -> None:
    await scene.call("PATCH", "/messages/2", scene.bob, text=BOBS + "!")
    await expect(bubble(scene.alice.page, BOBS + "!").locator(".edited")).to_be_visible()


async def carol_reacts(scene: Scene) -> None:
    await scene.call("PUT", "/messages/1/reaction", scene.carol, emoji="👍")
    await expect(bubble(scene.alice.page, MINE).locator(".reaction")).to_have_text("👍 2")


TRIGGERS: dict[str, Callable[[Scene], Awaitable[None]]] = {
    "read_receipt": bob_and_carol_read,
    "new_message": bob_writes,
    "edit": bob_edits,
    "reaction": carol_reacts,
}


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("control", ["toggle", "actions", "reaction"])
async def test_focus_stays_when_another_member_changes_the_chat(
    open_as: OpenAs, api: httpx.AsyncClient, control: str, trigger: str
) -> None:
    scene = await make_scene(open_as, api)
    page = scene.alice.page
    wanted = await focus_control(page, control)
    await page.evaluate(WATCH)
    await TRIGGERS[trigger](scene)
    await page.wait_for_timeout(100)  # a frame or two for any later re-render
    lost = await page.evaluate("window.__lost")
    assert await focused(page) == wanted, f"{trigger}: the focus left {wanted!r} ({lost})"
    assert lost == [], f"{trigger}: the focus left {wanted!r} for a moment ({lost})"


# ---- the last page of older history arriving ----


async def test_focus_stays_when_the_oldest_page_arrives(
    open_as: OpenAs, api: httpx.AsyncClient, seeded: SeedSummary
) -> None:
    """The seeded Team chat has 107 messages: it opens with the newest 50 under the
    "Scroll up for older messages" hint. Focus a control from the keyboard, then scroll
    to the top until every page is loaded (the hint goes)."""
    alice = await open_seeded(open_as, api, "Alice", viewport=WIDE)
    page = alice.page
    await chat_item(page, "Team").click()
    await expect(page.locator("#chat-title")).to_have_text("Team")
    await expect(page.locator("#messages .older-hint")).to_be_attached()
    wanted = "toggle Great job, team. Thank you all!"
    await press_until(page, "Shift+Tab", wanted)
    await page.evaluate(WATCH)
    box = page.locator("#messages")
    for _ in range(5):
        if await page.locator("#messages .older-hint").count() == 0:
            break
        before = await page.locator("#messages .msg").count()
        await box.evaluate("box => { box.scrollTop = 0; }")
        await expect(page.locator("#messages .msg")).not_to_have_count(before)
    await expect(page.locator("#messages .older-hint")).to_have_count(0)
    await page.wait_for_timeout(100)
    lost = await page.evaluate("window.__lost")
    assert lost == [], f"focus fell to <body>: {lost}"
    assert await focused(page) == wanted


async def test_focus_never_falls_to_the_page_walking_up_team_by_keyboard(
    open_as: OpenAs, api: httpx.AsyncClient, seeded: SeedSummary
) -> None:
    """What test_everything_works_from_the_keyboard does: Shift+Tab from the composer up
    through the Team chat, past "Which endpoint?" (seq 12, in the second older page),
    with the list scrolling (and loading older pages) as the focus moves up."""
    alice = await open_seeded(open_as, api, "Alice", viewport=WIDE)
    page = alice.page
    await chat_item(page, "Team").click()
    await expect(page.locator("#chat-title")).to_have_text("Team")
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    await page.evaluate(WATCH)
    await press_until(page, "Shift+Tab", "toggle Which endpoint?", limit=150)
    await expect(page.locator("#messages .older-hint")).to_have_count(0)
    await page.wait_for_timeout(100)
    lost = await page.evaluate("window.__lost")
    assert lost == [], f"focus fell to <body>: {lost}"
    assert await focused(page) == "toggle Which endpoint?"
