"""Group administration racing a delete of the same group: every request gets a clean
answer (never a 5xx) and PostgreSQL never has to break a deadlock."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.support.api import TestUser, group, register
from tests.support.servers import server_process

ROUNDS = 20

Race = Callable[[httpx.AsyncClient, dict, TestUser, TestUser], Awaitable[httpx.Response]]


async def rename(
    http: httpx.AsyncClient, body: dict, owner: TestUser, other: TestUser
) -> httpx.Response:
    return await http.patch(f"/groups/{body['id']}", json={"name": "New"}, headers=owner.headers)


async def add_member(
    http: httpx.AsyncClient, body: dict, owner: TestUser, other: TestUser
) -> httpx.Response:
    return await http.post(
        f"/groups/{body['id']}/members", json={"user_id": other.id}, headers=owner.headers
    )


async def remove_member(
    http: httpx.AsyncClient, body: dict, owner: TestUser, member: TestUser
) -> httpx.Response:
    return await http.delete(f"/groups/{body['id']}/members/{member.id}", headers=owner.headers)


async def leave(
    http: httpx.AsyncClient, body: dict, owner: TestUser, member: TestUser
) -> httpx.Response:
    return await http.delete(f"/groups/{body['id']}/members/{member.id}", headers=member.headers)


async def view(
    http: httpx.AsyncClient, body: dict, owner: TestUser, member: TestUser
) -> httpx.Response:
    return await http.get(f"/groups/{body['id']}", headers=member.headers)


# What each racer may answer: done, or the group is gone / the change already happened.
RACES: dict[str, tuple[Race, bool, set[int]]] = {
    # name: (request, is the other user a member from the start, allowed statuses)
    "rename": (rename, True, {200, 404}),
    "add_member": (add_member, False, {201, 404, 409}),
    "remove_member": (remove_member, True, {204, 404}),
    "leave": (leave, True, {204, 404}),
    "view": (view, True, {200, 404}),
}


async def test_group_admin_racing_a_delete_never_fails_nor_deadlocks(
    database_url: str, tmp_path: Path
) -> None:
    """Each kind of request races DELETE /groups/{id} on ROUNDS groups, all at once."""
    log = tmp_path / "server.log"
    with server_process(database_url, tmp_path, log=log, LOG_LEVEL="info") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            owner = await register(http, "Owner")
            other = await register(http, "Other")

            async def one_round(race: str) -> tuple[str, int, int]:
                request, other_is_member, _ = RACES[race]
                body = await group(http, owner, [other] if other_is_member else [])
                deleted, raced = await asyncio.gather(
                    http.delete(f"/groups/{body['id']}", headers=owner.headers),
                    request(http, body, owner, other),
                )
                return race, deleted.status_code, raced.status_code

            answers = await asyncio.gather(
                *(one_round(race) for race in RACES for _ in range(ROUNDS))
            )
    server_log = log.read_text(errors="replace")
    errors = [line for line in server_log.splitlines() if "Error" in line or "ERROR" in line]
    wrong = [(race, d, r) for race, d, r in answers if d != 204 or r not in RACES[race][2]]
    assert wrong == [], errors
    assert "deadlock" not in server_log.lower(), errors
    assert "Traceback" not in server_log, errors
