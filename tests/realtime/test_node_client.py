"""The npm socket.io-client (the one browsers and Node apps use) against the server."""

import asyncio
import json

from tests.support.api import private_chat
from tests.support.servers import PROJECT_ROOT
from tests.support.tools import require_node_client

CLIENT_PACKAGE = PROJECT_ROOT / "node_modules" / "socket.io-client"


async def test_node_socket_io_client_connects_sends_and_receives(http, users, live_server):
    node = require_node_client("the socket.io-client test")
    alice, bob = await users("Alice", "Bob")
    chat_id = await private_chat(http, alice, bob)
    process = await asyncio.create_subprocess_exec(
        node,
        str(PROJECT_ROOT / "tests" / "js" / "roundtrip.mjs"),
        live_server.base_url,
        alice.token,
        bob.token,
        str(chat_id),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    out = json.loads(stdout)
    assert out["refused"] == "unauthorized"
    assert out["ack"]["ok"] is True and out["ack"]["duplicate"] is False
    assert out["duplicate"]["ok"] is True and out["duplicate"]["duplicate"] is True
    assert out["duplicate"]["message"]["id"] == out["ack"]["message"]["id"]
    assert out["received"] == out["ack"]["message"]
    assert out["received"]["sender_id"] == alice.id
    assert out["transport"] == "websocket"
