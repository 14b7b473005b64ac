"""Redis down does not stop sending: two processes keep serving their own clients (rate
limits counted per process), and fan-out between them resumes when Redis is back."""

import asyncio
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.support.api import private_chat, register
from tests.support.faults import own_redis
from tests.support.servers import free_port, server_process
from tests.support.sockets import connected

LIMIT = 8  # messages per minute: low enough to see the per-process counting


def send_payload(chat_id: int, text: str) -> dict:
    return {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())}


async def test_sends_reads_and_history_go_on_while_redis_is_down(
    database_url: str, tmp_path: Path
) -> None:
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ports = [free_port(), free_port()]
    origins = ",".join(f"http://127.0.0.1:{port}" for port in ports)
    with own_redis() as redis_server, ExitStack() as stack:
        url_a, url_b = (
            stack.enter_context(
                server_process(
                    database_url,
                    tmp_path,
                    port=port,
                    log=log,
                    REDIS_URL=redis_server.url,
                    CORS_ORIGINS=origins,
                    MESSAGE_RATE_LIMIT=f"{LIMIT}/minute",
                    REDIS_TIMEOUT_SECONDS="0.5",
                )
            ).base_url
            for port, log in zip(ports, logs, strict=True)
        )
        async with httpx.AsyncClient(base_url=url_a, timeout=30) as http:
            alice, bob = await register(http, "Alice"), await register(http, "Bob")
            chat_id = await private_chat(http, alice, bob)
            alice_on_a = await connected(url_a, alice.token)
            bob_on_b = await connected(url_b, bob.token)
            try:
                redis_server.stop()

                acks = [
                    await alice_on_a.call("send_message", send_payload(chat_id, f"m{i}"))
                    for i in range(LIMIT + 1)
                ]
                # Sent, and still limited: counted by this process alone.
                assert all(ack["ok"] for ack in acks[:LIMIT]), acks
                assert acks[LIMIT]["error"]["code"] == "rate_limited", acks[LIMIT]
                last_seq = acks[LIMIT - 1]["message"]["seq"]
                read = await bob_on_b.call("read", {"chat_id": chat_id, "seq": last_seq})
                assert read == {"ok": True, "last_read_seq": last_seq}
                history = await http.get(f"/history/{chat_id}", headers=alice.headers)
                assert history.status_code == 200 and len(history.json()) == LIMIT
                # B's clients missed A's events; they catch up with sync.
                synced = await bob_on_b.call("sync", {"chat_id": chat_id, "after_seq": 0})
                assert [m["text"] for m in synced["messages"]] == [f"m{i}" for i in range(LIMIT)]
                readiness = await http.get("/ready")
                assert readiness.status_code == 200, readiness.text
                assert readiness.json()["redis"] == "degraded"

                redis_server.start()
                back = time.monotonic()
                # Fan-out from B to A resumes within a few seconds of Redis coming back.
                for attempt in range(20):
                    ack = await bob_on_b.call(
                        "send_message", send_payload(chat_id, f"after {attempt}")
                    )
                    assert ack["ok"], ack
                    await asyncio.sleep(0.5)
                    if any(m["text"].startswith("after") for m in alice_on_a.received["message"]):
                        break
                resumed = time.monotonic() - back
                assert any(m["text"].startswith("after") for m in alice_on_a.received["message"]), (
                    "fan-out did not resume"
                )
                assert (await http.get("/ready")).json()["redis"] == "ok"
            finally:
                await alice_on_a.disconnect()
                await bob_on_b.disconnect()
    print(f"fan-out resumed {resumed:.1f}s after Redis came back")
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text
        # Each part that falls back says so once, not once per request.
        assert text.count("rate limits are counted per process") <= 1, text
    assert "rate limits are counted per process" in logs[0].read_text()
