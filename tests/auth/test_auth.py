"""Registration, tokens (form and JSON), the current user, password storage, people search."""

import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt
from sqlalchemy import text

from tests.support.api import PASSWORD, TestUser, private_chat, register
from tests.support.servers import TEST_JWT_SECRET


def unique_email(local: str = "user") -> str:
    return f"{local}-{uuid.uuid4().hex[:8]}@example.com"


async def register_as(
    client: httpx.AsyncClient, name: str, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/register", json={"name": name, "email": email, "password": password}
    )


async def me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed_token(user_id: int, *, secret: str = TEST_JWT_SECRET, **claims: Any) -> str:
    payload: dict[str, Any] = {"sub": str(user_id), "exp": int(time.time()) + 600, **claims}
    token: str = jwt.encode(payload, secret, algorithm="HS256")
    return token


async def status_of_me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})


# --- register -------------------------------------------------------------------------


async def test_register_returns_201_with_the_new_user(client: httpx.AsyncClient) -> None:
    email = unique_email("alice")
    response = await register_as(client, "Alice", email)
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["name"] == "Alice"
    assert body["email"] == email
    assert "created_at" in body


async def test_register_response_never_contains_the_password(client: httpx.AsyncClient) -> None:
    response = await register_as(client, "Alice", unique_email())
    assert response.status_code == 201
    assert "password" not in response.json()
    assert PASSWORD not in response.text
    assert "$argon2" not in response.text


async def test_register_duplicate_email_in_other_case_is_409(client: httpx.AsyncClient) -> None:
    local = f"alice-{uuid.uuid4().hex[:8]}"
    first = await register_as(client, "Alice", f"{local}@example.com")
    assert first.status_code == 201
    second = await register_as(client, "Alice Two", f"{local.upper()}@Example.COM")
    assert second.status_code == 409
    assert "detail" in second.json()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Alice", "email": "not-an-email", "password": PASSWORD},
        {"name": "Alice", "email": "alice@", "password": PASSWORD},
        {"name": "Alice", "email": "EMAIL", "password": "x" * 7},
        {"name": "Alice", "email": "EMAIL", "password": "x" * 129},
        {"name": "   ", "email": "EMAIL", "password": PASSWORD},
        {"name": "", "email": "EMAIL", "password": PASSWORD},
        {"email": "EMAIL", "password": PASSWORD},
        {"name": "Alice", "password": PASSWORD},
        {"name": "Alice", "email": "EMAIL"},
        {},
        {"name": "Al\x00ice", "email": "EMAIL", "password": PASSWORD},
        {"name": "Al\ud800ice", "email": "EMAIL", "password": PASSWORD},
        {"name": "Alice", "email": "EMAIL", "password": "pass\x00word!"},
    ],
    ids=[
        "bad-email",
        "email-without-domain",
        "password-7-chars",
        "password-129-chars",
        "blank-name",
        "empty-name",
        "missing-name",
        "missing-email",
        "missing-password",
        "empty-body",
        "nul-in-name",
        "lone-surrogate-in-name",
        "nul-in-password",
    ],
)
async def test_register_rejects_invalid_input_with_422(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    body = {k: (unique_email() if v == "EMAIL" else v) for k, v in body.items()}
    # json.dumps escapes what httpx's encoder refuses (lone surrogates), as a client may.
    response = await client.post(
        "/auth/register", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


@pytest.mark.parametrize("length", [8, 128])
async def test_register_accepts_passwords_at_the_length_bounds(
    client: httpx.AsyncClient, length: int
) -> None:
    email = unique_email()
    password = "p" * length
    assert (await register_as(client, "Alice", email, password)).status_code == 201
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200


async def test_register_with_mixed_case_email_can_log_in_in_any_case(
    client: httpx.AsyncClient,
) -> None:
    local = f"MiXeD-{uuid.uuid4().hex[:8]}"
    assert (await register_as(client, "Mixed", f"{local}@Example.com")).status_code == 201
    for email in (f"{local}@Example.com", f"{local.lower()}@example.com"):
        response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, email


# --- tokens ---------------------------------------------------------------------------


async def test_token_form_login_returns_a_working_bearer_token(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/auth/token", data={"username": alice.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert (await me(client, body["access_token"]))["id"] == alice.id


async def test_token_form_with_wrong_password_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/auth/token", data={"username": alice.email, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert "access_token" not in response.text


async def test_token_form_with_oversized_fields_is_401_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    huge_password = await client.post(
        "/auth/token", data={"username": alice.email, "password": "p" * 5000}
    )
    huge_username = await client.post(
        "/auth/token", data={"username": "u" * 1_000_000 + "@example.com", "password": PASSWORD}
    )
    assert (huge_password.status_code, huge_username.status_code) == (401, 401)
    json_login = await client.post(
        "/auth/login", json={"email": "e" * 250 + "@example.com", "password": PASSWORD}
    )
    assert json_login.status_code == 422


async def test_json_login_returns_a_working_bearer_token(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post("/auth/login", json={"email": alice.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert (await me(client, response.json()["access_token"]))["email"] == alice.email


async def test_login_email_is_case_insensitive(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/auth/login", json={"email": alice.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert (await me(client, response.json()["access_token"]))["id"] == alice.id


async def test_login_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    wrong_password = await client.post(
        "/auth/login", json={"email": alice.email, "password": "not the password"}
    )
    unknown_email = await client.post(
        "/auth/login", json={"email": unique_email("nobody"), "password": PASSWORD}
    )
    assert wrong_password.status_code == 401
    assert unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["detail"]


async def test_login_with_missing_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json={"email": unique_email()})
    assert response.status_code == 422


# --- /users/me and token checks ---------------------------------------------------------


async def test_users_me_returns_the_token_owner(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    await register(client, "Bob")
    response = await client.get("/users/me", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["email"]) == (alice.id, "Alice", alice.email)
    assert "password" not in body


async def test_users_me_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


async def test_users_me_with_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await status_of_me(client, "not.a.jwt")).status_code == 401
    assert (await status_of_me(client, "garbage")).status_code == 401


async def test_users_me_with_token_signed_by_another_secret_is_401(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "Alice")
    forged = signed_token(alice.id, secret="some-other-secret")
    assert (await status_of_me(client, forged)).status_code == 401
    # The same claims with the right secret work, so the secret is what was rejected.
    assert (await status_of_me(client, signed_token(alice.id))).status_code == 200


async def test_users_me_with_expired_token_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    expired = signed_token(alice.id, exp=int(time.time()) - 60)
    assert (await status_of_me(client, expired)).status_code == 401


async def test_users_me_with_unsigned_alg_none_token_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    claims = {"sub": str(alice.id), "exp": int(time.time()) + 600}
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."
    assert (await status_of_me(client, unsigned)).status_code == 401


async def test_users_me_with_other_hmac_algorithm_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    token = jwt.encode(
        {"sub": str(alice.id), "exp": int(time.time()) + 600}, TEST_JWT_SECRET, algorithm="HS512"
    )
    assert (await status_of_me(client, token)).status_code == 401


async def test_users_me_with_token_missing_exp_or_sub_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    no_exp = jwt.encode({"sub": str(alice.id)}, TEST_JWT_SECRET, algorithm="HS256")
    no_sub = jwt.encode({"exp": int(time.time()) + 600}, TEST_JWT_SECRET, algorithm="HS256")
    assert (await status_of_me(client, no_exp)).status_code == 401
    assert (await status_of_me(client, no_sub)).status_code == 401


async def test_users_me_with_token_of_unknown_user_is_401(client: httpx.AsyncClient) -> None:
    await register(client, "Alice")
    assert (await status_of_me(client, signed_token(987654321))).status_code == 401


async def test_history_checks_the_token_as_every_route_does(client: httpx.AsyncClient) -> None:
    """GET /history reads the user id from the token and looks the user up in the page's
    own statement: every bad token is still 401, and so is one of a user who is gone."""
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    now = int(time.time())
    bad = {
        "garbage": "not.a.token",
        "expired": signed_token(alice.id, exp=now - 60),
        "other secret": signed_token(alice.id, secret="another-secret-" + "x" * 40),
        "alg none": f"{b64url({'alg': 'none', 'typ': 'JWT'})}."
        f"{b64url({'sub': str(alice.id), 'exp': now + 600})}.",
        "unknown user": signed_token(987654321),
    }
    for name, token in bad.items():
        response = await client.get(
            f"/history/{chat_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (name, response.text)
    assert (await client.get(f"/history/{chat_id}")).status_code == 401
    ok = await client.get(f"/history/{chat_id}", headers=alice.headers)
    assert ok.status_code == 200, ok.text


# --- password storage -------------------------------------------------------------------


async def test_password_is_stored_as_an_argon2_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice = await register(client, "Alice")
    async with app.state.runtime.sessions() as session:
        stored = (
            await session.execute(
                text("SELECT password FROM users WHERE id = :id"), {"id": alice.id}
            )
        ).scalar_one()
    assert stored.startswith("$argon2")
    assert PASSWORD not in stored


# --- people search --------------------------------------------------------------------


async def search(client: httpx.AsyncClient, user: TestUser, query: str) -> list[str]:
    response = await client.get("/users", params={"query": query}, headers=user.headers)
    assert response.status_code == 200, response.text
    return sorted(u["name"] for u in response.json())


async def test_search_finds_users_by_name_substring_ignoring_case(
    client: httpx.AsyncClient,
) -> None:
    caller = await register(client, "Caller", unique_email("caller"))
    await register(client, "Margaret", unique_email("m1"))
    await register(client, "Bob", unique_email("b1"))
    assert await search(client, caller, "GARE") == ["Margaret"]
    assert await search(client, caller, "marg") == ["Margaret"]


async def test_search_finds_users_by_email_substring_ignoring_case(
    client: httpx.AsyncClient,
) -> None:
    caller = await register(client, "Caller", unique_email("caller"))
    await register(client, "Zed", f"zztop-{uuid.uuid4().hex[:6]}@music.example.org")
    await register(client, "Yan", unique_email("yan"))
    assert await search(client, caller, "ZZTOP") == ["Zed"]
    assert await search(client, caller, "music.example") == ["Zed"]


async def test_search_excludes_the_caller(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    alicia = await register(client, "Alicia")
    assert await search(client, alice, "Ali") == ["Alicia"]
    assert await search(client, alicia, "Ali") == ["Alice"]
    assert "Alice" not in await search(client, alice, "")


async def test_search_treats_percent_and_underscore_literally(client: httpx.AsyncClient) -> None:
    caller = await register(client, "Caller", unique_email("caller"))
    await register(client, "Sale 100% off", unique_email("p1"))
    await register(client, "Sale 1000 off", unique_email("p2"))
    await register(client, "snake_case", unique_email("s1"))
    await register(client, "snakeXcase", unique_email("s2"))
    assert await search(client, caller, "%") == ["Sale 100% off"]
    assert await search(client, caller, "0% o") == ["Sale 100% off"]
    assert await search(client, caller, "e_c") == ["snake_case"]
    assert await search(client, caller, "_") == ["snake_case"]


async def test_search_treats_backslash_literally(client: httpx.AsyncClient) -> None:
    caller = await register(client, "Caller", unique_email("caller"))
    await register(client, "back\\slash", unique_email("b1"))
    await register(client, "backslash", unique_email("b2"))
    assert await search(client, caller, "k\\s") == ["back\\slash"]


async def test_search_returns_public_fields_only(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    await register(client, "Bob")
    response = await client.get("/users", params={"query": "bob"}, headers=alice.headers)
    [bob] = response.json()
    assert {"id", "name", "email"} <= bob.keys()
    assert "password" not in bob


async def test_search_without_token_is_401(client: httpx.AsyncClient) -> None:
    await register(client, "Alice")
    response = await client.get("/users", params={"query": "alice"})
    assert response.status_code == 401


async def test_credentials_the_database_could_not_hold_are_refused_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client, "Alice")
    json_login = await client.post(
        "/auth/login", json={"email": user.email, "password": "hunter2\x00secret"}
    )
    form_login = await client.post(
        "/auth/token", data={"username": user.email + "\x00", "password": "whatever1"}
    )
    assert (json_login.status_code, form_login.status_code) == (422, 401)
    assert "hunter2" not in json_login.text  # a 422 never echoes what was sent


async def test_search_with_a_nul_character_is_422(client: httpx.AsyncClient) -> None:
    user = await register(client, "Alice")
    response = await client.get("/users", params={"query": "a\x00"}, headers=user.headers)
    assert response.status_code == 422
