"""start.sh: its help, its choice between Docker and a local run, and the local run end to end.

Each test runs start.sh in a copy of the project in a temporary folder, so the `.env` and
`.data/` it creates there never touch the checkout, and the local run gets an embedded
PostgreSQL of its own. The copy reuses the virtualenv running these tests
(VIRTUAL_ENV + CHAT_SKIP_INSTALL=1), so nothing is pip-installed.
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chat_server.seed import GROUP_MESSAGES, PRIVATE_MESSAGES, SEED_PASSWORD, TOTAL_MESSAGES
from tests.deploy.start_sh import LocalRun, copy_project, postmaster, run_start, start_env
from tests.support.servers import PROJECT_ROOT, free_port

START = PROJECT_ROOT / "start.sh"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def fake_docker(tmp_path: Path, info_error: str) -> Path:
    """A `docker` whose `docker info` fails the way a real one does without a daemon."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        f'#!/bin/sh\nif [ "$1" = info ]; then echo "{info_error}" >&2; exit 1; fi\nexit 1\n'
    )
    docker.chmod(0o755)
    return bin_dir


# ------------------------------------------------------------------------------ the script


def test_start_sh_is_executable_strict_bash() -> None:
    assert START.stat().st_mode & stat.S_IXUSR
    lines = START.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    subprocess.run(["bash", "-n", str(START)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing() -> None:
    result = subprocess.run(["shellcheck", str(START)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_help_explains_the_modes(project: Path) -> None:
    result = run_start(project, ["--help"], start_env(free_port()))
    assert result.returncode == 0
    for words in ("--local", "--docker", "test", "Docker Compose", "embedded PostgreSQL"):
        assert words in result.stdout
    assert "alice@example.com" in result.stdout and SEED_PASSWORD in result.stdout
    assert not (project / ".env").exists(), "--help must not change anything"


def test_unknown_argument_is_refused_with_usage(project: Path) -> None:
    result = run_start(project, ["--bogus"], start_env(free_port()))
    assert result.returncode == 2
    assert "unknown argument: --bogus" in result.stderr and "Usage:" in result.stderr


# ------------------------------------------------------------------ choosing Docker or local


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port already taken: the local run then stops right after choosing its mode."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("docker_says", "reason"),
    [
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
            "the Docker daemon is not running",
        ),
        (
            "permission denied while trying to connect to the Docker daemon socket",
            "no permission to use the Docker daemon",
        ),
    ],
)
def test_falls_back_to_local_mode_and_says_why(
    project: Path, tmp_path: Path, busy_port: int, docker_says: str, reason: str
) -> None:
    bin_dir = fake_docker(tmp_path, docker_says)
    env = start_env(busy_port)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    result = run_start(project, [], env)

    assert f"Local mode: {reason}" in result.stdout
    assert "falling back to a local run without Docker" in result.stdout
    assert f"port {busy_port} is in use" in result.stderr
    assert result.returncode == 1


def test_docker_mode_fails_instead_of_falling_back(project: Path, tmp_path: Path) -> None:
    bin_dir = fake_docker(tmp_path, "Cannot connect to the Docker daemon")
    env = start_env(free_port())
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    result = run_start(project, ["--docker"], env)

    assert result.returncode == 1
    assert "Docker mode is not possible: the Docker daemon is not running" in result.stderr
    assert "Local mode" not in result.stdout


# --------------------------------------------------------------------- local mode end to end


def jwt_secret_line(project: Path) -> str:
    lines = re.findall(r"^JWT_SECRET=.*$", (project / ".env").read_text(), re.MULTILINE)
    assert len(lines) == 1
    return lines[0]


def login(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(
        base_url + "/auth/login", json={"email": email, "password": SEED_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def chat_named(base_url: str, headers: dict[str, str], name: str) -> dict:
    chats = httpx.get(base_url + "/chats", headers=headers, timeout=10).json()
    return next(chat for chat in chats if chat["name"] == name)


def history_total(base_url: str, headers: dict[str, str], chat_id: int) -> int:
    response = httpx.get(f"{base_url}/history/{chat_id}?limit=1", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"])


def test_local_mode_end_to_end_and_a_second_start_seeds_nothing(project: Path) -> None:
    runs: list[LocalRun] = []
    try:
        # First start: .env is created, the database initialised, migrated and seeded.
        first = LocalRun(project, free_port())
        runs.append(first)
        first.wait_ready()
        output = first.wait_for_output("Seeded logins")
        assert "Local mode: --local was given" in output
        assert "Created .env from .env.example" in output
        assert f"Web client:  http://localhost:{first.base_url.rsplit(':', 1)[1]}/" in output
        assert "alice@example.com" in output
        total = TOTAL_MESSAGES
        assert f"4 users, 4 chats and {total} messages created" in output
        secret = jwt_secret_line(project)
        assert len(secret) > len("JWT_SECRET=") + 32
        assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600

        alice = login(first.base_url, "alice@example.com")
        team = chat_named(first.base_url, alice, "Team")
        history = httpx.get(
            f"{first.base_url}/history/{team['id']}?limit=20&offset=0", headers=alice, timeout=10
        )
        assert history.status_code == 200
        assert len(history.json()) == 20
        assert int(history.headers["X-Total-Count"]) == GROUP_MESSAGES
        assert [m["seq"] for m in history.json()] == list(range(1, 21))
        sent = httpx.post(
            f"{first.base_url}/chats/{team['id']}/messages",
            json={"text": "hello from the start.sh test", "client_msg_id": str(uuid.uuid4())},
            headers=alice,
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["seq"] == GROUP_MESSAGES + 1

        first.stop()
        assert first.process.returncode is not None
        leftover = postmaster(project)
        # `serve` must exit through atexit on SIGTERM (uvicorn re-raises the signal after
        # its graceful shutdown), or the embedded server outlives it.
        assert leftover is None, "stopping start.sh left its embedded PostgreSQL running"

        # Second start: same .env and database, nothing seeded twice, the message kept.
        second = LocalRun(project, free_port())
        runs.append(second)
        second.wait_ready()
        output = second.wait_for_output("Seeded logins")
        assert "Created .env" not in output
        assert f"0 users, 0 chats and 0 messages created ({total} already there)" in output
        assert jwt_secret_line(project) == secret
        # The token from the first run is still valid: the secret lives in .env.
        team_again = chat_named(second.base_url, alice, "Team")
        assert team_again["id"] == team["id"]
        assert history_total(second.base_url, alice, team["id"]) == GROUP_MESSAGES + 1
        bob = login(second.base_url, "bob@example.com")
        private = chat_named(second.base_url, bob, "Alice")
        assert history_total(second.base_url, bob, private["id"]) == PRIVATE_MESSAGES
    finally:
        for run in runs:
            run.stop()
        # Whatever happened above, leave no PostgreSQL behind.
        leftover = postmaster(project)
        if leftover is not None:
            leftover.terminate()
            leftover.wait(10)
