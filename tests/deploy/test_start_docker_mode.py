"""./start.sh in Docker mode when the engine works but the stack does not come up: an error
with its cause and the way out (--local), never a silent fallback to a local run.

A stand-in `docker` on PATH plays an engine whose `compose up` fails the way a real one does
(the end-to-end run on a real engine is test_docker_e2e.py); the start.sh is the real one.
"""

from pathlib import Path

import pytest

from tests.deploy.start_sh import copy_project, run_start, start_env
from tests.support.servers import free_port


def fake_docker(folder: Path, up_output: str, *, default_bridge: bool) -> Path:
    """A `docker` whose engine answers and whose `compose up` prints `up_output`, fails."""
    bin_dir = folder / "fake-bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "info "*) echo "Server Version: 28.0.0"; exit 0 ;;\n'
        '  "compose version") echo "Docker Compose version v2.30.0"; exit 0 ;;\n'
        f"  \"compose up\") cat <<'OUT'\n{up_output}\nOUT\n    exit 1 ;;\n"
        f'  "network inspect") exit {0 if default_bridge else 1} ;;\n'
        "esac\n"
        "exit 1\n"
    )
    docker.chmod(0o755)
    return bin_dir


CASES = {
    "port taken": (
        "Error response from daemon: driver failed programming external connectivity on "
        "endpoint proxy: Bind for 0.0.0.0:{port} failed: port is already allocated",
        True,
        "port {port} is already in use here",
    ),
    "no network in build steps": (
        "WARNING: Retrying ... Failed to establish a new connection: [Errno -3] Temporary "
        "failure in name resolution\nERROR: Could not find a version that satisfies the "
        "requirement alembic==1.20.1",
        False,
        "a build step could not reach PyPI (this engine has no default bridge network, so "
        'build steps get no network: see "Engines without a default bridge" in docs/deployment.md)',
    ),
    "no registry": (
        "Error response from daemon: pull access denied for caddy, repository does not exist",
        True,
        "an image could not be pulled",
    ),
    "anything else": ("something odd happened\n\n", True, "something odd happened"),
}


@pytest.mark.parametrize("mode", [[], ["--docker"]], ids=["default", "--docker"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_compose_up_is_an_error_with_its_cause_and_local_as_the_way_out(
    tmp_path: Path, case: str, mode: list[str]
) -> None:
    template, default_bridge, cause = CASES[case]
    port = free_port()
    output = template.format(port=port)
    project = copy_project(tmp_path)
    bin_dir = fake_docker(tmp_path, output, default_bridge=default_bridge)
    env = start_env(port)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"

    result = run_start(project, mode, env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"docker compose up failed: {cause.format(port=port)}" in result.stderr
    assert "Its whole output is in .data/docker-up.log." in result.stderr
    assert "To run without Docker instead: ./start.sh --local" in result.stderr
    assert "Local mode" not in result.stdout, "fell back to a local run"
    assert output.strip().splitlines()[0] in (project / ".data" / "docker-up.log").read_text()
