"""start.sh: its help, its choice between Docker and a local run, and the local run end to end.

Each test runs start.sh in a copy of the project in a temporary folder, so the `.env` and
`.data/` it creates there never touch the checkout, and the local run gets an embedded
PostgreSQL of its own. The copy reuses the virtualenv running these tests
(VIRTUAL_ENV + CHAT_SKIP_INSTALL=1), so nothing is pip-installed.
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from chat_server.seed import GROUP_MESSAGES, PRIVATE_MESSAGES, SEED_PASSWORD, TOTAL_MESSAGES
from tests.support.servers import PROJECT_ROOT, free_port

START = PROJECT_ROOT / "start.sh"
# What the copy leaves out: the same things .dockerignore keeps out of an image.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".data", ".env", "node_modules", "tests", "bench", "test-artifacts",
    "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache",
)  # fmt: skip
# Variables of the outer environment that would steer start.sh or the app away from
# the copy's own defaults (CI may set a database for the rest of the suite).
STEERING = {
    "DATABASE_URL", "TEST_DATABASE_URL", "JWT_SECRET", "DATA_DIR", "HOST", "PORT",
    "REDIS_URL", "CORS_ORIGINS", "CHAT_INSTALL_DOCKER", "CHAT_SKIP_INSTALL",
}  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "chat_server_checkout"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED)
    return copy


def start_env(port: int, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in STEERING}
    env.update(
        VIRTUAL_ENV=sys.prefix,
        CHAT_SKIP_INSTALL="1",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="warning",
        # Cheap password hashing: the seed hashes four passwords on every first run.
        PASSWORD_HASH_TIME_COST="1",
        PASSWORD_HASH_MEMORY_KIB="8",
        CHAT_READY_TIMEOUT="60",
    )
    env.update(extra)
    return env


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


def run_start(project: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(project / "start.sh"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


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


class LocalRun:
    """`./start.sh --local` in its own process group, its output in a file."""

    def __init__(self, project: Path, port: int) -> None:
        self.project = project
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = project / f"start-{uuid.uuid4().hex[:6]}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["./start.sh", "--local"],
                cwd=project,
                env=start_env(port),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"start.sh exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.base_url + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"not ready after {timeout}s:\n{self.output()}")

    def wait_for_output(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never printed:\n{self.output()}")
            time.sleep(0.1)
        return self.output()

    def stop(self) -> None:
        """SIGTERM to the whole process group, as a service manager or `kill` would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def postmaster(project: Path) -> psutil.Process | None:
    """The embedded PostgreSQL still running on the copy's data folder, if any."""
    pid_file = project / ".data" / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
        return process if process.is_running() else None
    except (psutil.NoSuchProcess, ValueError, IndexError):
        return None


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
