"""GET /search/messages: matching in any script, scope, order and paging, bad input."""

from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.api import TestUser, group, private_chat, register, send
from tests.support.db import plain_dsn


async def search(
    client: httpx.AsyncClient, user: TestUser, q: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/search/messages", params={"q": q, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()
    return hits


def texts(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["text"] for hit in hits]


@pytest.fixture
async def alice_and_bob(client: httpx.AsyncClient) -> tuple[TestUser, TestUser, int]:
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    return alice, bob, await private_chat(client, alice, bob)


# --- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("прив", "Привет, как дела?"),
        ("ПРИВЕТ", "Привет, как дела?"),
        ("дела", "Привет, как дела?"),
        ("deploy", "Deployment done 🎉"),
        ("DONE!!!", "Deployment done 🎉"),
        ("ДОМ", "дом у реки"),
        ("deploy friday", "Friday deploy is done"),
        ("friday, deploy?", "Friday deploy is done"),
        ("Ελλ", "Ελληνικά κείμενα"),
        ("straße", "Die Straße ist nass"),
    ],
)
async def test_words_and_word_prefixes_match_in_any_script_and_case(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int], query: str, found: str
) -> None:
    alice, bob, chat_id = alice_and_bob
    for text in [
        "Привет, как дела?",
        "Deployment done 🎉",
        "дом у реки",
        "Friday deploy is done",
        "Ελληνικά κείμενα",
        "Die Straße ist nass",
        "nothing to see here",
    ]:
        await send(client, alice, chat_id, text)
    assert found in texts(await search(client, bob, query))


async def test_every_word_must_match_and_inner_parts_of_words_do_not(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int]
) -> None:
    alice, bob, chat_id = alice_and_bob
    await send(client, alice, chat_id, "Friday deploy is done")
    await send(client, alice, chat_id, "deploy on Monday")
    assert texts(await search(client, bob, "deploy friday")) == ["Friday deploy is done"]
    assert await search(client, bob, "deploy tuesday") == []
    assert await search(client, bob, "ploy") == []  # not a word beginning
    assert await search(client, bob, "🎉") == []  # no words at all: nothing matches


async def test_a_hit_is_the_message_with_its_chat_name_and_a_marked_snippet(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int]
) -> None:
    alice, bob, chat_id = alice_and_bob
    sent = await send(client, alice, chat_id, "<b>Deployment</b> done")
    [hit] = await search(client, bob, "deploy")
    assert {key: hit[key] for key in sent} == sent
    assert hit["chat_name"] == "Alice"  # a private chat is named after the other person
    assert hit["snippet"] == "&lt;b&gt;<mark>Deploy</mark>ment&lt;/b&gt; done"
    [own] = await search(client, alice, "deploy")
    assert own["chat_name"] == "Bob"


# --- scope ------------------------------------------------------------------------------


async def test_only_the_callers_current_chats_are_searched(client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, name) for name in ("Alice", "Bob", "Carol")]
    private = await private_chat(client, alice, bob)
    team = await group(client, alice, [bob, carol], name="Team")
    await send(client, alice, private, "secret plan for alice and bob")
    await send(client, alice, team["chat_id"], "team plan")

    assert texts(await search(client, carol, "plan")) == ["team plan"]
    assert sorted(texts(await search(client, bob, "plan"))) == [
        "secret plan for alice and bob",
        "team plan",
    ]
    [hit] = await search(client, bob, "plan", chat_id=team["chat_id"])
    assert hit["chat_name"] == "Team"

    # Carol asks for the private chat by id: the same 404 as a chat that does not exist.
    for chat_id in (private, 10**9):
        response = await client.get(
            "/search/messages", params={"q": "plan", "chat_id": chat_id}, headers=carol.headers
        )
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "chat not found"}

    left = await client.delete(f"/groups/{team['id']}/members/{carol.id}", headers=carol.headers)
    assert left.status_code in (200, 204), left.text
    assert await search(client, carol, "plan") == []


async def test_a_deleted_message_is_not_found_at_once(
    client: httpx.AsyncClient,
    alice_and_bob: tuple[TestUser, TestUser, int],
    database_url: str,
) -> None:
    alice, bob, chat_id = alice_and_bob
    kept = await send(client, alice, chat_id, "keep this note")
    gone = await send(client, alice, chat_id, "delete this note")
    response = await client.delete(
        f"/chats/{chat_id}/messages/{gone['seq']}", headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert texts(await search(client, bob, "note")) == [kept["text"]]
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        assert await conn.fetchval("SELECT text FROM messages WHERE id = $1", gone["id"]) is None
    finally:
        await conn.close()


# --- order and paging -------------------------------------------------------------------


async def test_hits_come_newest_first_and_page_by_before_id(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int]
) -> None:
    alice, bob, chat_id = alice_and_bob
    for i in range(1, 8):
        await send(client, alice if i % 2 else bob, chat_id, f"report {i}")
        await send(client, alice, chat_id, f"unrelated {i}")
    first = await search(client, bob, "report", limit=3)
    assert texts(first) == ["report 7", "report 6", "report 5"]
    second = await search(client, bob, "report", limit=3, before_id=first[-1]["id"])
    assert texts(second) == ["report 4", "report 3", "report 2"]
    last = await search(client, bob, "report", limit=3, before_id=second[-1]["id"])
    assert texts(last) == ["report 1"]
    assert len(await search(client, bob, "report")) == 7  # the default limit is 20


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ok", "limit": 0}, "limit"),
        ({"q": "ok", "limit": 101}, "limit"),
        ({"q": "ok", "limit": "ten"}, "limit"),
        ({"q": "ok", "before_id": "abc"}, "before_id"),
        ({"q": "ok", "before_id": "1.5"}, "before_id"),
        ({"q": "ok", "before_id": 0}, "before_id"),
        ({"q": "ok", "chat_id": 2**63}, "chat_id"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient,
    alice_and_bob: tuple[TestUser, TestUser, int],
    params: dict[str, Any],
    field: str,
) -> None:
    _, bob, _ = alice_and_bob
    response = await client.get("/search/messages", params=params, headers=bob.headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert error["msg"]


async def test_search_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/search/messages", params={"q": "x"})
    assert response.status_code == 401


NASTY_QUERIES = [
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    "& | ! ( ) : *",
    "a & b",
    "a | b",
    "!a",
    "a:*",
    "a:* & b:A",
    "<->",
    "a <-> b",
    "(a",
    "a)",
    "'; DROP TABLE messages; --",
    "1 OR 1=1",
    "%",
    "_",
    "$1",
    "ab\x00cd",
    "🎉🎉",
    "O'Reilly",
    "C:\\path\\file",
]


@pytest.mark.parametrize("query", NASTY_QUERIES)
async def test_query_syntax_is_taken_literally_never_a_500(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int], query: str
) -> None:
    alice, bob, chat_id = alice_and_bob
    await send(client, alice, chat_id, "O'Reilly wrote about C:\\path\\file & a | b")
    response = await client.get("/search/messages", params={"q": query}, headers=bob.headers)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        for hit in response.json():
            assert hit["text"].startswith("O'Reilly")
    messages = await client.get(f"/history/{chat_id}", headers=bob.headers)
    assert len(messages.json()) == 1  # nothing was dropped


async def test_quoted_words_find_what_they_say(
    client: httpx.AsyncClient, alice_and_bob: tuple[TestUser, TestUser, int]
) -> None:
    alice, bob, chat_id = alice_and_bob
    await send(client, alice, chat_id, "O'Reilly wrote about C:\\path\\file")
    await send(client, alice, chat_id, "something else")
    for query in ("O'Reilly", "reilly", "c:\\path", "file & path"):
        assert texts(await search(client, bob, query)) == ["O'Reilly wrote about C:\\path\\file"], (
            query
        )
