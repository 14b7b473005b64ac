"""A frozen PostgreSQL or Redis (SIGSTOP: connections stay open, nothing answers) turns
requests into quick `unavailable` answers instead of hangs, and /ready into a quick 503."""

import time
import uuid
from pathlib import Path

import httpx

from tests.support.api import private_chat, register
from tests.support.faults import OwnPostgres, own_redis
from tests.support.servers import server_process
from tests.support.sockets import connected

# Short bounds keep the test quick; the defaults (5 s) behave alike, only slower.
TIMEOUTS = {
    "DB_COMMAND_TIMEOUT_SECONDS": "2",
    "DB_CONNECT_TIMEOUT_SECONDS": "2",
    "DB_POOL_TIMEOUT_SECONDS": "2",
    "REDIS_TIMEOUT_SECONDS": "1",
}


def send_payload(chat_id: int) -> dict:
    return {"chat_id": chat_id, "text": "hello", "client_msg_id": str(uuid.uuid4())}


async def test_a_frozen_database_answers_sends_unavailable_within_seconds(
    own_pg: OwnPostgres, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with server_process(own_pg.url, tmp_path, log=log, **TIMEOUTS) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            chat_id = await private_chat(http, alice, bob)
            client = await connected(server.base_url, alice.token)
            try:
                assert (await client.call("send_message", send_payload(chat_id)))["ok"]
                own_pg.freeze()
                try:
                    started = time.monotonic()
                    ack = await client.call("send_message", send_payload(chat_id), within=30)
                    send_seconds = time.monotonic() - started
                    started = time.monotonic()
                    readiness = await http.get("/ready")
                    ready_seconds = time.monotonic() - started
                    history = await http.get(f"/history/{chat_id}", headers=alice.headers)
                finally:
                    own_pg.thaw()
                assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
                assert send_seconds < 6, send_seconds
                assert readiness.status_code == 503 and ready_seconds < 1.5, ready_seconds
                assert readiness.json()["database"] == "unavailable"
                assert history.status_code == 503, history.text
                # Back to normal once it thaws.
                ack = await client.call("send_message", send_payload(chat_id), within=30)
                assert ack["ok"], ack
                assert (await http.get("/ready")).status_code == 200
            finally:
                await client.disconnect()
    print(
        f"frozen PostgreSQL: send answered in {send_seconds:.2f}s, /ready in {ready_seconds:.2f}s"
    )
    assert "Traceback" not in log.read_text(errors="replace")


async def test_a_frozen_redis_neither_hangs_sends_nor_readiness(
    own_pg: OwnPostgres, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with (
        own_redis() as redis_server,
        server_process(
            own_pg.url, tmp_path, log=log, REDIS_URL=redis_server.url, **TIMEOUTS
        ) as server,
    ):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            chat_id = await private_chat(http, alice, bob)
            client = await connected(server.base_url, alice.token)
            try:
                assert (await client.call("send_message", send_payload(chat_id)))["ok"]
                redis_server.freeze()
                try:
                    started = time.monotonic()
                    ack = await client.call("send_message", send_payload(chat_id), within=30)
                    send_seconds = time.monotonic() - started
                    started = time.monotonic()
                    readiness = await http.get("/ready")
                    ready_seconds = time.monotonic() - started
                finally:
                    redis_server.thaw()
            finally:
                await client.disconnect()
    # Redis is not needed to serve this process's own clients: degraded, not down.
    assert ack["ok"], ack
    assert send_seconds < 4, send_seconds
    assert readiness.status_code == 200 and ready_seconds < 1.5, ready_seconds
    assert readiness.json() == {"status": "ok", "database": "ok", "redis": "degraded"}
    print(f"frozen Redis: send answered in {send_seconds:.2f}s, /ready in {ready_seconds:.2f}s")
    assert "Traceback" not in log.read_text(errors="replace")
