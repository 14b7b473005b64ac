"""The Docker path end to end on a real engine: ./start.sh builds and starts the stack, the
app answers on PORT through the proxy, a message goes from one socket to another, restarts
keep the port and the data, replicas share one address, and the image is what it claims.

Needs a Docker engine (skipped with the reason otherwise; see tests/deploy/docker_stack.py).
"""

import asyncio
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import socketio
from yarl import URL

from chat_server.seed import GROUP_MESSAGES
from tests.deploy.docker_stack import REPLICA_COOKIE, Stack, require_docker
from tests.deploy.start_sh import SEED_PASSWORD, copy_project
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(1800)

IMAGE = "chat_server:latest"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """The stack after a first `./start.sh --docker`, and that run's output."""
    require_docker()
    stack = Stack(copy_project(tmp_path_factory.mktemp("docker")), free_port())
    try:
        first = stack.start()
        output = first.stdout + first.stderr
        assert first.returncode == 0, output
        yield stack, output
    finally:
        stack.down()


def login(base_url: str, email: str) -> str:
    response = httpx.post(
        base_url + "/auth/login", json={"email": email, "password": SEED_PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def team_chat(base_url: str, token: str) -> int:
    chats = httpx.get(
        base_url + "/chats", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    chat_id: int = next(chat["id"] for chat in chats if chat["name"] == "Team")
    return chat_id


def history_texts(base_url: str, token: str, chat_id: int) -> list[str]:
    """The Team messages sent after the seeded ones."""
    response = httpx.get(
        f"{base_url}/history/{chat_id}?after_seq={GROUP_MESSAGES}&limit=200",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()]


def browser_like_session(base_url: str, replica_cookie: str | None) -> aiohttp.ClientSession:
    """An HTTP session that keeps cookies as a browser does, also for a bare IP address
    (aiohttp's default jar drops those), holding `name=value` when given."""
    jar = aiohttp.CookieJar(unsafe=True)
    if replica_cookie is not None:
        name, _, value = replica_cookie.partition("=")
        jar.update_cookies({name: value}, response_url=URL(base_url))
    return aiohttp.ClientSession(cookie_jar=jar)


async def deliver(
    base_url: str,
    sender_token: str,
    receiver_token: str,
    chat_id: int,
    *,
    sender_cookie: str | None = None,
    receiver_cookie: str | None = None,
) -> str:
    """Send a message from one Socket.IO client; return its text once the other got it.
    (The tests around it block while no client is connected: no socket waits on them.)

    Each client connects as a page does: long-polling first, then the upgrade to a
    WebSocket. Every request of a session, the upgrade included, must reach the replica that
    holds it, which is what the proxy's sticky cookie is for.
    """
    text = f"through the proxy {uuid.uuid4().hex[:8]}"
    received: asyncio.Queue[dict] = asyncio.Queue()
    sessions = [
        browser_like_session(base_url, cookie) for cookie in (sender_cookie, receiver_cookie)
    ]
    sender, receiver = (socketio.AsyncClient(http_session=session) for session in sessions)
    receiver.on("message", received.put_nowait)
    try:
        await receiver.connect(base_url, auth={"token": receiver_token})
        await sender.connect(base_url, auth={"token": sender_token})
        assert sender.transport() == receiver.transport() == "websocket"
        ack = await sender.call(
            "send_message",
            {"chat_id": chat_id, "text": text, "client_msg_id": str(uuid.uuid4())},
            timeout=30,
        )
        assert ack["ok"], ack
        while True:
            message = await asyncio.wait_for(received.get(), 30)
            if message["text"] == text:
                return text
    finally:
        await sender.disconnect()
        await receiver.disconnect()
        for session in sessions:
            await session.close()


def new_client_cookie(base_url: str) -> str:
    return httpx.get(base_url + "/ready", timeout=10).headers.get("set-cookie", "")


def test_start_builds_and_starts_the_stack_on_port(stack: tuple[Stack, str]) -> None:
    stack_, output = stack
    assert "chat_server is up (Docker Compose)" in output
    assert f"Web client:  http://localhost:{stack_.port}/" in output
    assert "Local mode" not in output
    # The runtime stage's account is created without a warning.
    assert "useradd warning" not in output
    assert stack_.check("port", "proxy", "8000").strip().endswith(f":{stack_.port}")
    # The app itself publishes nothing: the proxy is the one way in.
    (app,) = stack_.containers("app")
    assert not stack_.inspect(app)["HostConfig"]["PortBindings"]
    ready = httpx.get(stack_.base_url + "/ready", timeout=10).json()
    assert ready == {"status": "ok", "database": "ok", "redis": "ok"}
    # The only volume is the database's: `down` leaves no anonymous volumes behind.
    volumes = {
        mount["Name"]
        for service in ("db", "redis", "app", "proxy")
        for container in stack_.containers(service)
        for mount in stack_.inspect(container)["Mounts"]
        if mount["Type"] == "volume"
    }
    assert volumes == {f"{stack_.name}_pgdata"}


async def test_a_message_restarts_and_a_second_start_keep_port_and_data(
    stack: tuple[Stack, str],
) -> None:
    stack_, _ = stack
    alice = login(stack_.base_url, "alice@example.com")
    bob = login(stack_.base_url, "bob@example.com")
    chat_id = team_chat(stack_.base_url, alice)
    text = await deliver(stack_.base_url, alice, bob, chat_id)

    # A restart of the app (as after a crash): same address, same data.
    stack_.check("restart", "app")
    stack_.wait_ready()
    assert stack_.check("port", "proxy", "8000").strip().endswith(f":{stack_.port}")
    assert text in history_texts(stack_.base_url, bob, chat_id)

    # A clean stop is a success (SIGTERM after a graceful shutdown exits 0, not 143).
    (app,) = stack_.containers("app")
    stack_.check("stop", "app")
    assert stack_.inspect(app)["State"]["ExitCode"] == 0

    # `down` (keeping the volume) and ./start.sh again: the same port, nothing seeded twice,
    # the message still there, and the old token still valid (JWT_SECRET lives in .env).
    stack_.check("down")
    again = stack_.start()
    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert f"Web client:  http://localhost:{stack_.port}/" in output
    assert re.search(r"0 users, 0 chats and 0 messages created \(\d+ already there\)", output)
    assert text in history_texts(stack_.base_url, bob, chat_id)


async def test_replicas_share_one_address_and_relay_messages(stack: tuple[Stack, str]) -> None:
    stack_, _ = stack
    stack_.check("up", "-d", "--scale", "app=2")
    try:
        first, second = stack_.wait_healthy("app", 2)
        stack_.wait_ready()
        # The proxy pins a new client to a replica with its cookie.
        assert REPLICA_COOKIE in new_client_cookie(stack_.base_url)

        alice = login(stack_.base_url, "alice@example.com")
        bob = login(stack_.base_url, "bob@example.com")
        chat_id = team_chat(stack_.base_url, alice)
        socket_requests = {c: stack_.logs(c).count("/socket.io/") for c in (first, second)}
        # Alice on one replica, Bob on the other: Redis carries the message across.
        await deliver(
            stack_.base_url,
            alice,
            bob,
            chat_id,
            sender_cookie=stack_.replica_cookie(first),
            receiver_cookie=stack_.replica_cookie(second),
        )
        for container in (first, second):
            assert stack_.logs(container).count("/socket.io/") > socket_requests[container], (
                f"no Socket.IO request reached {container}"
            )
    finally:
        stack_.check("up", "-d", "--scale", "app=1")


def test_the_image_has_no_pip_and_runs_as_an_unprivileged_user(stack: tuple[Stack, str]) -> None:
    for module in ("pip", "setuptools", "wheel"):
        probe = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "python", IMAGE, "-c", f"import {module}"],
            capture_output=True,
            text=True,
        )
        assert probe.returncode != 0, f"{module} is in the runtime image"
    on_path = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "command -v pip pip3; id -u"],
        capture_output=True,
        text=True,
    )
    assert on_path.stdout.split() == ["10001"], on_path.stdout


def test_a_failed_build_is_an_error_that_names_the_cause_and_local(tmp_path: Path) -> None:
    require_docker()
    project = copy_project(tmp_path)
    with (project / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("\nCOPY this-file-is-missing-on-purpose /tmp/\n")
    broken = Stack(project, free_port())
    try:
        result = broken.start()
        assert result.returncode == 1, result.stdout + result.stderr
        assert "up failed:" in result.stderr
        assert "./start.sh --local" in result.stderr
        assert ".data/docker-up.log" in result.stderr
        assert "Local mode" not in result.stdout
        log = (project / ".data" / "docker-up.log").read_text()
        assert "this-file-is-missing-on-purpose" in log
    finally:
        broken.down()
