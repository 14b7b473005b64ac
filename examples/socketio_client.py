"""Log in, connect over Socket.IO, send a message with an ack, print what arrives.

Usage: python examples/socketio_client.py http://localhost:8000 alice@example.com password123
"""

import asyncio
import sys
import uuid

import httpx
import socketio


async def main(base_url: str, email: str, password: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        login = await http.post("/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        chat = (await http.get("/chats", headers=headers)).json()[0]

    sio = socketio.AsyncClient()
    sio.on("message", lambda message: print("message:", message["seq"], message["text"]))
    sio.on("messages_read", lambda event: print("read by everyone:", event["message_ids"]))
    await sio.connect(base_url, auth={"token": token}, transports=["websocket"])

    ack = await sio.call(
        "send_message",
        {"chat_id": chat["id"], "text": "Hello from Python", "client_msg_id": str(uuid.uuid4())},
    )
    if not ack["ok"]:
        raise SystemExit(f"refused: {ack['error']['code']}: {ack['error']['message']}")
    print("stored as seq", ack["message"]["seq"], "duplicate:", ack["duplicate"])

    missed = await sio.call("sync", {"chat_id": chat["id"], "after_seq": 0, "limit": 5})
    print("first messages:", [m["text"] for m in missed["messages"]])
    await asyncio.sleep(1)  # let the broadcast of our own message arrive
    await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
