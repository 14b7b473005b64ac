"""The command line, run as users run it."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import PROJECT_ROOT

COMMANDS = ["serve", "migrate", "seed"]


def _run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_help_lists_every_command():
    result = _run("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    result = _run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_serve_help_names_host_and_port():
    result = _run("serve", "--help")
    assert "--host" in result.stdout
    assert "--port" in result.stdout


def _bare_env(folder: Path, **settings: str) -> dict[str, str]:
    """Only what a command needs to start, run in `folder`: no developer's .env or
    environment can name a database or a secret."""
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATA_DIR": str(folder / "data"),
        "HOME": str(folder),
        **settings,
    }


def test_migrate_without_database_url_uses_the_embedded_postgres(tmp_path: Path):
    env = _bare_env(tmp_path)
    first = _run("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()
    again = _run("migrate", env=env, cwd=tmp_path)  # idempotent
    assert again.returncode == 0, again.stderr


def test_live_server_answers_docs_and_ready(live_server):
    docs = httpx.get(live_server.base_url + "/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert httpx.get(live_server.base_url + "/ready").json() == {
        "status": "ok",
        "database": "ok",
        "redis": "unused",
    }


def test_a_bad_setting_stops_every_command_with_a_plain_message(tmp_path: Path):
    env = _bare_env(tmp_path, JWT_SECRET="changeme")
    for command in COMMANDS:
        result = _run(command, env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "chat_server: invalid configuration: JWT_SECRET: Value error, JWT_SECRET must be"
            " at least 32 characters (e.g. the output of `openssl rand -hex 32`)"
        )


def test_serve_with_a_broken_secret_file_stops_at_once_with_a_plain_message(tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "jwt_secret").write_text("")  # e.g. a disk that filled up
    result = _run("serve", "--port", "1", env=_bare_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("chat_server: ")
    assert "holds no usable JWT secret" in result.stderr
    assert "Traceback" not in result.stderr
