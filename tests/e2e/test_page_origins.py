"""The page goes live from whatever address serves it; other sites' pages may not connect.

The server runs on a random port with the default CORS_ORIGINS (port 8000 only), as
`PORT=8001 ./start.sh --local` or a second Docker replica would, plus one listed foreign
site: the listed list still works on top of the page's own origin.
"""

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.e2e.conftest import register_user
from tests.support.api import PASSWORD, TestUser
from tests.support.servers import free_port, settings_env, start_server, stop_server, wait_ready

DEFAULT_ORIGINS = "http://localhost:8000,http://127.0.0.1:8000"


@dataclass
class Scene:
    port: int
    listed_port: int  # a foreign site's port that CORS_ORIGINS lists
    alice: TestUser
    bob: TestUser
    chat_id: int


@pytest.fixture(scope="module")
def server(database_url: str, data_dir: Path) -> Iterator[tuple[int, int]]:
    port, listed_port = free_port(), free_port()
    env = settings_env(database_url, data_dir)
    env["CORS_ORIGINS"] = f"{DEFAULT_ORIGINS},http://127.0.0.1:{listed_port}"
    process = start_server(env, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield port, listed_port
    finally:
        stop_server(process)


@pytest.fixture
async def scene(server: tuple[int, int]) -> Scene:
    port, listed_port = server
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
        alice = await register_user(api, "Alice")
        bob = await register_user(api, "Bob")
        response = await api.post("/chats/private", json={"user_id": bob.id}, headers=alice.headers)
        assert response.status_code == 201, response.text
        return Scene(port, listed_port, alice, bob, response.json()["id"])


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context()
    yield opened
    await opened.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_page_on_any_port_goes_live_and_its_messages_are_acked(
    context: BrowserContext, scene: Scene, host: str
) -> None:
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"http://{host}:{scene.port}/")
    form = page.locator("#login-form")
    await form.get_by_label("Email").fill(scene.alice.email)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Log in").click()
    await expect(page.locator("#connection-state")).to_have_text("online")

    await page.locator("#chat-list .chat-item", has_text="Bob").click()
    text = f"from {host} {uuid.uuid4().hex[:6]}"
    box = page.get_by_label("Message", exact=True)
    await box.fill(text)
    await box.press("Enter")
    # "sent" is the ack of send_message over the socket (pending until then).
    await expect(page.locator("#messages .msg", has_text=text)).to_have_attribute(
        "data-status", "sent"
    )
    assert errors == []


# A page of another site: it loads socket.io-client from the chat server and tries to
# connect with a valid token, then to send a message.
FOREIGN_PAGE = """<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script src="{server}/static/vendor/socket.io.min.js"></script>
<script>
window.tryChat = (token, chatId, transports) => new Promise((resolve) => {{
  const socket = io("{server}", {{ auth: {{ token }}, transports, reconnection: false }});
  socket.on("connect_error", (error) => {{
    socket.close();
    resolve("refused: " + error.message);
  }});
  socket.on("connect", () => socket.emit(
    "send_message",
    {{ chat_id: chatId, text: "from elsewhere", client_msg_id: crypto.randomUUID() }},
    (ack) => {{ socket.close(); resolve(ack.ok ? "sent" : "error ack: " + ack.error.code); }},
  ));
}});
</script>"""


@pytest.fixture
def foreign_site(scene: Scene) -> Iterator[Any]:
    """Serves FOREIGN_PAGE on a port of our choosing, as another web site would."""
    body = FOREIGN_PAGE.format(server=f"http://127.0.0.1:{scene.port}").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    servers: list[ThreadingHTTPServer] = []

    def serve(port: int) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{port}/"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]])
async def test_a_page_of_another_origin_is_refused(
    context: BrowserContext, scene: Scene, foreign_site: Any, transports: list[str]
) -> None:
    page = await context.new_page()
    await page.goto(foreign_site(free_port()))
    result = await page.evaluate(
        "([token, chatId, transports]) => tryChat(token, chatId, transports)",
        [scene.alice.token, scene.chat_id, transports],
    )
    assert result.startswith("refused: "), result


async def test_a_listed_origin_is_still_accepted(
    context: BrowserContext, scene: Scene, foreign_site: Any
) -> None:
    """The control for the refusal above: the same page from a CORS_ORIGINS site works."""
    page = await context.new_page()
    await page.goto(foreign_site(scene.listed_port))
    result = await page.evaluate(
        "([token, chatId]) => tryChat(token, chatId, ['websocket'])",
        [scene.alice.token, scene.chat_id],
    )
    assert result == "sent"
