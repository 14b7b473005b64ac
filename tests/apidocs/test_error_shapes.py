"""Error bodies have their documented shapes: a 422 is always a list of problems, and a
body that is not JSON gets a documented 400."""

import httpx

from tests.support.api import register


async def test_a_service_side_422_has_the_documented_list_shape(client: httpx.AsyncClient) -> None:
    alice = await register(client, "Alice")
    response = await client.post(
        "/chats/private", json={"user_id": alice.id}, headers=alice.headers
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "value_error", "loc": ["body"], "msg": "a private chat needs another user"}
        ]
    }


async def test_a_body_that_is_not_json_gets_a_documented_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "the request body is not valid JSON"}
    spec = (await client.get("/openapi.json")).json()
    documented = spec["paths"]["/auth/login"]["post"]["responses"]
    assert "400" in documented and "503" in documented
    assert "400" not in spec["paths"]["/auth/token"]["post"]["responses"]  # a form
