"""Running ./start.sh as a user does, in a copy of the project (its .env and .data stay there).

The copy reuses the virtualenv running the tests (VIRTUAL_ENV + CHAT_SKIP_INSTALL=1), so
nothing is pip-installed; a local run starts an embedded PostgreSQL of its own in the copy.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import PROJECT_ROOT

# What the copy leaves out: the same things .dockerignore keeps out of an image.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".data", ".env", "node_modules", "tests", "bench", "test-artifacts",
    "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "docker-compose.override.yml",
)  # fmt: skip
# Variables of the outer environment that would steer start.sh or the app away from the
# copy's own defaults (CI may set a database for the rest of the suite).
STEERING = {
    "DATABASE_URL", "TEST_DATABASE_URL", "JWT_SECRET", "DATA_DIR", "HOST", "PORT",
    "REDIS_URL", "CORS_ORIGINS", "CHAT_INSTALL_DOCKER", "CHAT_SKIP_INSTALL", "LOG_LEVEL",
    "COMPOSE_PROJECT_NAME", "COMPOSE_FILE",
}  # fmt: skip
BANNER = "chat_server is up"
SEED_PASSWORD = "password123"


def copy_project(folder: Path) -> Path:
    copy = folder / "chat_server_checkout"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED)
    return copy


def start_env(port: int, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in STEERING}
    env.update(
        VIRTUAL_ENV=sys.prefix,
        CHAT_SKIP_INSTALL="1",
        HOST="127.0.0.1",
        PORT=str(port),
        # Cheap password hashing: the seed hashes four passwords on every first run.
        PASSWORD_HASH_TIME_COST="1",
        PASSWORD_HASH_MEMORY_KIB="8",
        CHAT_READY_TIMEOUT="60",
    )
    env.update(extra)
    return env


def run_start(
    project: Path, args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["./start.sh", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class LocalRun:
    """`./start.sh --local` in its own session, its output (stdout and stderr) in a file."""

    def __init__(self, project: Path, port: int, **env: str) -> None:
        self.project = project
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = project / f"start-{uuid.uuid4().hex[:6]}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["./start.sh", "--local"],
                cwd=project,
                env=start_env(port, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 60) -> None:
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

    def wait_for_output(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never printed:\n{self.output()}")
            time.sleep(0.1)
        return self.output()

    def lines_before_banner(self) -> list[str]:
        output = self.wait_for_output(BANNER)
        return output[: output.index(BANNER)].rstrip().splitlines()

    def stop(self) -> int:
        """SIGTERM to the whole session's process group, as a service manager would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def postmaster(project: Path) -> psutil.Process | None:
    """The embedded PostgreSQL still running on the copy's data folder, if any."""
    pid_file = project / ".data" / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
        return process if process.is_running() and process.status() != "zombie" else None
    except (psutil.NoSuchProcess, ValueError, IndexError):
        return None


def stop_leftover_postgres(project: Path) -> None:
    leftover = postmaster(project)
    if leftover is not None:
        leftover.terminate()
        leftover.wait(10)
