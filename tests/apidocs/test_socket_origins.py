"""Socket.IO's origin check: the page's own origin always, listed sites too, nobody else."""

from typing import Any

import httpx
import pytest
import websockets

from chat_server.realtime.origins import same_origin_or
from tests.support.servers import LiveServer

LISTED = ["http://localhost:8000", "https://chat.example.com"]


def environ(host: str, scheme: str = "http") -> dict[str, Any]:
    """What engine.io hands the check: the Host header and the ASGI scope."""
    return {"HTTP_HOST": host, "asgi.scope": {"scheme": scheme}}


@pytest.mark.parametrize(
    ("origin", "request_environ"),
    [
        ("http://127.0.0.1:8123", environ("127.0.0.1:8123")),
        ("http://localhost:8001", environ("localhost:8001", "ws")),
        ("http://chat.lan", environ("chat.lan")),  # default port, said or not
        ("http://chat.lan:80", environ("chat.lan")),
        ("http://CHAT.lan", environ("chat.lan:80")),
        # Behind a TLS proxy that uvicorn trusts, the scope already says https/wss.
        ("https://chat.lan", environ("chat.lan", "wss")),
        ("https://chat.lan", environ("chat.lan:443", "https")),
        ("http://[::1]:8000", environ("[::1]:8000")),
        # Listed sites, from any address.
        ("http://localhost:8000", environ("10.0.0.5:9000")),
        ("https://chat.example.com", environ("127.0.0.1:8000")),
    ],
)
def test_accepted(origin: str, request_environ: dict[str, Any]) -> None:
    assert same_origin_or(LISTED)(origin, request_environ)


@pytest.mark.parametrize(
    ("origin", "request_environ"),
    [
        ("http://evil.example", environ("127.0.0.1:8123")),
        ("http://127.0.0.1:9999", environ("127.0.0.1:8123")),  # another port
        ("http://localhost:8123", environ("127.0.0.1:8123")),  # another host name
        ("https://127.0.0.1:8123", environ("127.0.0.1:8123")),  # another scheme
        ("http://chat.lan", environ("chat.lan", "https")),
        ("null", environ("127.0.0.1:8123")),  # file:// pages, sandboxed frames
        ("http://127.0.0.1:8123", {"asgi.scope": {"scheme": "http"}}),  # no Host
        ("http://localhost:8000.evil.example", environ("127.0.0.1:8000")),
        (None, environ("127.0.0.1:8123")),
    ],
)
def test_refused(origin: str | None, request_environ: dict[str, Any]) -> None:
    assert not same_origin_or(LISTED)(origin, request_environ)


def test_a_star_in_the_list_allows_every_site() -> None:
    assert same_origin_or(["*"])("http://evil.example", environ("127.0.0.1:8000"))


# Against the real server (CORS_ORIGINS lists only its 127.0.0.1 address): the Engine.IO
# handshake over polling, and the WebSocket upgrade, with the Origin a browser would send.


async def polling_handshake(server: LiveServer, origin: str, host: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        return await client.get(
            "/socket.io/",
            params={"EIO": "4", "transport": "polling"},
            headers={"Origin": origin, "Host": host},
        )


async def test_server_accepts_the_page_own_origin_by_its_host(live_server: LiveServer) -> None:
    host = f"localhost:{live_server.port}"  # not in CORS_ORIGINS
    response = await polling_handshake(live_server, f"http://{host}", host)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == f"http://{host}"


async def test_server_refuses_an_origin_that_is_not_the_host(live_server: LiveServer) -> None:
    host = f"localhost:{live_server.port}"
    for origin in ("http://evil.example", f"http://localhost:{live_server.port + 1}"):
        response = await polling_handshake(live_server, origin, host)
        assert response.status_code == 400
        assert "not an accepted origin" in response.text
        assert "access-control-allow-origin" not in response.headers


async def test_websocket_upgrade_checks_the_origin_too(live_server: LiveServer) -> None:
    url = f"ws://127.0.0.1:{live_server.port}/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, origin=f"http://127.0.0.1:{live_server.port}") as ws:
        assert (await ws.recv()).startswith("0{")  # the Engine.IO open packet
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin="http://evil.example"):
            pass
    # engine.io closes before accepting, which uvicorn answers with 403.
    assert refused.value.response.status_code == 403
