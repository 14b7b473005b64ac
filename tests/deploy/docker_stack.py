"""A real Docker Compose stack of a project copy, driven as a user drives it.

Skips (with the reason) where no Docker engine can be used; CHAT_TEST_DOCKER=1 turns that
skip into a failure, CHAT_TEST_DOCKER=0 skips on purpose. CI does not start an engine.
"""

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.deploy.start_sh import start_env

# An engine started with --bridge=none (where Docker may not manage the host's network) has
# no default bridge: build steps then run without a network and cannot reach PyPI. Compose
# reads this file by itself (docs/deployment.md: "Engines without a default bridge").
BUILD_ON_HOST_NETWORK = """\
services:
  migrate:
    build: {context: ., network: host}
  app:
    build: {context: ., network: host}
"""
# The proxy's sticky-session cookie (deploy/Caddyfile).
REPLICA_COOKIE = "chat_server_replica"


def compose_command() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def docker_unusable() -> str | None:
    """Why the Docker path cannot be run here, or None when it can."""
    if os.environ.get("CHAT_TEST_DOCKER") == "0":
        return "CHAT_TEST_DOCKER=0"
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no Docker engine is reachable ({last})"
    if compose_command() is None:
        return "Docker Compose is not installed"
    return None


def require_docker() -> None:
    reason = docker_unusable()
    if reason is None:
        return
    if os.environ.get("CHAT_TEST_DOCKER") == "1":
        pytest.fail(f"CHAT_TEST_DOCKER=1 but {reason}")
    pytest.skip(f"the Docker path needs a Docker engine: {reason}")


def default_bridge_missing() -> bool:
    probe = subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True)
    return probe.returncode != 0


class Stack:
    """One project copy with its own Compose project name and host port."""

    def __init__(self, project: Path, port: int) -> None:
        compose = compose_command()
        assert compose is not None
        self.compose = compose
        self.project = project
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.name = "chattest" + uuid.uuid4().hex[:8]
        self.env = start_env(
            port,
            COMPOSE_PROJECT_NAME=self.name,
            CHAT_READY_TIMEOUT="240",
            CHAT_INSTALL_DOCKER="0",
        )
        if default_bridge_missing():
            (project / "docker-compose.override.yml").write_text(BUILD_ON_HOST_NETWORK)

    def start(self, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["./start.sh", "--docker"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.compose, *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def check(self, *args: str, timeout: float = 300) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def containers(self, service: str) -> list[str]:
        return self.check("ps", "-q", service).split()

    def inspect(self, container: str) -> dict:
        out = subprocess.run(
            ["docker", "inspect", container], capture_output=True, text=True, check=True
        ).stdout
        data: dict = json.loads(out)[0]
        return data

    def replica_cookie(self, container: str) -> str:
        """The proxy's cookie that pins a client to this replica: Caddy's `cookie` policy
        names an upstream by the HMAC-SHA256 of its dial address (no secret configured)."""
        networks = self.inspect(container)["NetworkSettings"]["Networks"]
        (address,) = {network["IPAddress"] for network in networks.values()}
        digest = hmac.new(b"", f"{address}:8000".encode(), hashlib.sha256).hexdigest()
        return f"{REPLICA_COOKIE}={digest}"

    def logs(self, container: str) -> str:
        result = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        return result.stdout + result.stderr

    def wait_healthy(self, service: str, count: int, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            containers = self.containers(service)
            states = [self.inspect(c)["State"].get("Health", {}).get("Status") for c in containers]
            if len(containers) == count and all(state == "healthy" for state in states):
                return containers
            if time.monotonic() > deadline:
                pytest.fail(f"{service}: {states} after {timeout}s")
            time.sleep(1)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.base_url + "/ready", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{self.base_url}/ready did not answer within {timeout}s")
            time.sleep(1)

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", timeout=180)
