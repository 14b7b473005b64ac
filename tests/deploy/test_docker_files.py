"""What the Docker files promise and a run without an engine can check (test_docker_e2e.py
checks the same on a real engine): a build that needs no registry frontend, an image without
pip, an account made without warnings, and a proxy that keeps Socket.IO sessions together."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()


def final_stage() -> str:
    return re.split(r"^FROM .*$", DOCKERFILE, flags=re.MULTILINE)[-1]


def test_the_dockerfile_needs_no_frontend_from_a_registry() -> None:
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE, re.MULTILINE | re.IGNORECASE)


def test_the_virtualenv_is_made_without_pip_and_the_base_pip_is_removed() -> None:
    assert "python -m venv --without-pip /opt/venv" in DOCKERFILE
    final = final_stage()
    for tool in ("pip", "setuptools", "wheel"):
        assert f'"$site"/{tool} ' in final or f'"$site"/{tool}-*' in final, tool
    # The build fails when one of them is still importable.
    assert "for module in pip setuptools wheel; do" in final


def test_the_runtime_account_is_a_regular_one_with_a_fixed_uid() -> None:
    joined = re.sub(r"\\\n\s*", " ", final_stage())
    account = re.search(r"\buseradd (--[^\n]*)", joined)
    assert account
    options = account.group(1)
    assert "--system" not in options, "a --system account above SYS_UID_MAX makes useradd warn"
    assert "--uid 10001" in options and "--no-log-init" in options


def test_the_proxy_finds_every_replica_and_keeps_sessions_on_theirs() -> None:
    assert re.search(r"dynamic a app 8000", CADDYFILE)
    assert re.search(r"lb_policy cookie \w+", CADDYFILE)
    assert ":8000 {" in CADDYFILE
    proxy = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]


def test_a_machine_specific_override_is_never_committed_or_built_in() -> None:
    assert "docker-compose.override.yml" in (ROOT / ".gitignore").read_text().splitlines()
    assert "docker-compose.override.yml" in (ROOT / ".dockerignore").read_text().splitlines()
