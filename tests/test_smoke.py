from tests.helpers import private_chat, register, send


async def test_register_login_send_history(client):
    alice = await register(client, "Alice")
    bob = await register(client, "Bob")
    chat_id = await private_chat(client, alice, bob)
    message = await send(client, alice, chat_id, "hello")
    assert message["seq"] == 1
    response = await client.get(f"/history/{chat_id}", headers=bob.headers)
    assert response.status_code == 200
    assert [m["text"] for m in response.json()] == ["hello"]
