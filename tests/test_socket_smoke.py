import uuid

import httpx

from tests.helpers import private_chat, register
from tests.sockets import connected


async def test_send_over_socket_reaches_the_other_user(live_server):
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        alice = await register(http, "Alice")
        bob = await register(http, "Bob")
        chat_id = await private_chat(http, alice, bob)
    a = await connected(live_server.base_url, alice.token)
    b = await connected(live_server.base_url, bob.token)
    try:
        ack = await a.call(
            "send_message", {"chat_id": chat_id, "text": "hi", "client_msg_id": str(uuid.uuid4())}
        )
        assert ack["ok"] is True, ack
        got = await b.wait_for("message")
        assert got[0]["text"] == "hi"
    finally:
        await a.disconnect()
        await b.disconnect()
