"""The Dockerfile, docker-compose.yml and .env.example say what the deployment promises.

No Docker engine runs in CI, so these tests read the files and check the facts that make
the stack work (non-root user, health checks, start order, migrations, scaling, the same
variable names as the Settings class). Where Debian's `docker-compose` is installed it
also validates the compose file offline.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from chat_server.config import Settings
from tests.support.servers import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"

# Variables that configure the compose stack, not the app; everything else must be a setting.
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# Read by uvicorn itself, not by the Settings class.
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}
# Settings whose .env.example line shows an example value rather than the default.
EXAMPLE_VALUES = {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"}


def setting_env_names(settings_class: type[BaseSettings] = Settings) -> set[str]:
    """The environment variable of every Settings field, read from the class itself."""
    prefix = settings_class.model_config.get("env_prefix", "") or ""
    names = set()
    for name, info in settings_class.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else None
        names.add((alias or prefix + name).upper())
    return names


def dockerfile_stages() -> list[list[str]]:
    """Instructions per build stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def instructions(stage: list[str], keyword: str) -> list[str]:
    return [line for line in stage if line.split()[0].upper() == keyword]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def env_example_entries() -> dict[str, str]:
    """KEY -> value for every documented variable, commented out (`# KEY=`) or not."""
    entries = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


# ----------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_on_slim_python() -> None:
    text = DOCKERFILE.read_text()
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11-slim", text)
    assert all("${PYTHON_IMAGE}" in stage[0] for stage in stages)


def test_dependencies_install_in_a_layer_before_the_code_is_copied() -> None:
    builder = dockerfile_stages()[0]
    copies = instructions(builder, "COPY")
    assert copies and "requirements.txt" in copies[0]
    assert not any("chat_server" in line for line in copies), "code in the dependency stage"
    install = " ".join(instructions(builder, "RUN"))
    assert re.search(r"pip (--python \S+ )?install", install) and "-r " in install
    # No pip cache is written: PIP_NO_CACHE_DIR in the stage or --no-cache-dir on the call.
    assert "PIP_NO_CACHE_DIR=1" in " ".join(builder) or "--no-cache-dir" in install


def test_final_stage_runs_as_non_root_with_only_the_venv_and_the_app() -> None:
    final = dockerfile_stages()[-1]
    users = instructions(final, "USER")
    assert users, "the final stage must switch to a non-root USER"
    assert users[-1].split()[1].split(":")[0] not in {"root", "0"}
    run = " ".join(instructions(final, "RUN"))
    for build_tool in ("gcc", "build-essential", "pip install", "apt-get install"):
        assert build_tool not in run, f"{build_tool} in the final image"
    copied = " ".join(instructions(final, "COPY"))
    assert "--from=builder /opt/venv" in copied
    for needed in ("chat_server", "migrations", "alembic.ini", "static"):
        assert needed in copied, f"{needed} is not copied into the image"
        assert (PROJECT_ROOT / needed).exists()


def test_healthcheck_probes_health_without_curl() -> None:
    final = dockerfile_stages()[-1]
    healthchecks = instructions(final, "HEALTHCHECK")
    assert len(healthchecks) == 1
    assert "/health" in healthchecks[0]
    assert "urllib" in healthchecks[0] and "curl" not in healthchecks[0]


def test_image_command_serves_the_app() -> None:
    final = dockerfile_stages()[-1]
    assert '"chat_server", "serve"' in instructions(final, "CMD")[-1]
    assert instructions(final, "EXPOSE") == ["EXPOSE 8000"]


def test_dockerignore_keeps_local_state_out_and_the_app_in() -> None:
    patterns = {
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for excluded in (".git", ".venv", ".data", ".env", "tests", "node_modules"):
        assert excluded in patterns, f"{excluded} would be sent into the build context"
    for needed in ("chat_server", "migrations", "static", "requirements.txt", "alembic.ini"):
        assert needed not in patterns


# ------------------------------------------------------------------------ docker-compose.yml


def test_compose_has_the_five_services_and_no_fixed_container_names() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "redis", "migrate", "app", "proxy"}
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: breaks `--scale`"


def test_db_is_the_official_postgres_image_with_a_volume_and_pg_isready() -> None:
    data = compose()
    db = data["services"]["db"]
    assert db["image"].startswith("postgres:")
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in data["volumes"], "the database must live in a named volume"
    assert target.startswith("/var/lib/postgresql/data")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_redis_has_a_healthcheck() -> None:
    redis = compose()["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert "ping" in redis["healthcheck"]["test"]


def test_app_starts_after_healthy_dependencies_and_finished_migrations() -> None:
    services = compose()["services"]
    app = services["app"]
    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["command"] == ["python", "-m", "chat_server", "migrate"]
    assert app["command"][:4] == ["python", "-m", "chat_server", "serve"]
    assert "healthcheck" in app


def test_app_and_migrate_use_the_same_image_and_environment() -> None:
    services = compose()["services"]
    app, migrate = services["app"], services["migrate"]
    assert app["build"] == migrate["build"] == "."
    assert app["image"] == migrate["image"]
    assert app["environment"] == migrate["environment"]
    assert app["env_file"] == migrate["env_file"] == ".env"


def test_restart_policies() -> None:
    services = compose()["services"]
    for name in ("db", "redis", "app", "proxy"):
        assert services[name]["restart"] in {"unless-stopped", "always"}
    assert services["migrate"]["restart"] == "no"


def test_only_the_proxy_publishes_a_port_and_it_is_port() -> None:
    services = compose()["services"]
    assert "ports" not in services["app"], "replicas of a published app fight over its port"
    assert services["proxy"]["ports"] == ["${PORT:-8000}:8000"]
    assert services["proxy"]["depends_on"] == {"app": {"condition": "service_healthy"}}


def test_app_connects_to_the_compose_db_and_redis() -> None:
    environment = compose()["services"]["app"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    # Replicas must share one secret, so compose refuses to start without it.
    assert environment["JWT_SECRET"].startswith("${JWT_SECRET:?")


def test_compose_variable_names_are_settings_or_documented_compose_variables() -> None:
    settings_names = setting_env_names()
    app_environment = set(compose()["services"]["app"]["environment"]) - UVICORN_VARIABLES
    assert app_environment <= settings_names, app_environment - settings_names
    referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert referenced <= settings_names | COMPOSE_ONLY, referenced - settings_names - COMPOSE_ONLY


# ------------------------------------------------------------------------------ .env.example


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    documented = set(env_example_entries())
    settings_names = setting_env_names()
    assert settings_names - documented == set(), "settings missing from .env.example"
    assert documented - settings_names - COMPOSE_ONLY == set(), "unknown names in .env.example"


def test_env_example_shows_the_real_defaults() -> None:
    defaults = Settings.model_construct()
    entries = env_example_entries()
    for field in Settings.model_fields:
        key = field.upper()
        if key in EXAMPLE_VALUES:
            continue
        value = getattr(defaults, field)
        expected = ",".join(value) if isinstance(value, list) else str(value)
        assert entries[key] == expected, f"{key}: .env.example says {entries[key]!r}"


def test_env_example_loads_as_an_env_file_and_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in setting_env_names():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert settings.jwt_secret is None
    assert settings.database_url is None  # a local run must fall back to the embedded DB
    assert re.search(r"^JWT_SECRET=\S", ENV_EXAMPLE.read_text(), re.MULTILINE) is None


def test_env_files_are_git_ignored() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and ".data/" in ignored


# -------------------------------------------------------------- offline docker-compose check


def compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def run_compose_config(directory: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with only .env supplying the stack's variables."""
    cli = compose_cli()
    assert cli is not None
    own = setting_env_names() | COMPOSE_ONLY
    env = {key: value for key, value in os.environ.items() if key not in own}
    return subprocess.run(
        [*cli, "config"], cwd=directory, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def compose_dir(tmp_path: Path) -> Path:
    """The compose file with an .env as ./start.sh writes it (a fresh checkout has none)."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    env = ENV_EXAMPLE.read_text().replace("# JWT_SECRET=", "JWT_SECRET=test-secret-not-real")
    (tmp_path / ".env").write_text(env)
    return tmp_path


@pytest.mark.skipif(
    compose_cli() is None, reason="docker-compose is not installed (apt-get install docker-compose)"
)
def test_docker_compose_validates_the_file(compose_dir: Path) -> None:
    result = run_compose_config(compose_dir)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    app = resolved["services"]["app"]
    assert app["environment"]["DATABASE_URL"] == "postgresql+asyncpg://chat:chat@db:5432/chat"
    assert app["environment"]["JWT_SECRET"] == "test-secret-not-real"


@pytest.mark.skipif(
    compose_cli() is None, reason="docker-compose is not installed (apt-get install docker-compose)"
)
def test_docker_compose_refuses_to_start_without_a_jwt_secret(compose_dir: Path) -> None:
    (compose_dir / ".env").write_text(ENV_EXAMPLE.read_text())
    result = run_compose_config(compose_dir)
    assert result.returncode != 0
    assert "JWT_SECRET is not set" in result.stderr
