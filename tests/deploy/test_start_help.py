"""`./start.sh --help` names every variable start.sh reads: the rows of the README's
configuration table marked in its `./start.sh` column, and every variable the script itself
takes from the environment."""

import re
import subprocess
from pathlib import Path

from tests.deploy.start_sh import copy_project, start_env
from tests.support.servers import PROJECT_ROOT as ROOT
from tests.support.servers import free_port

# Read by start.sh but not configuration: the virtualenv that is active, bash's own.
NOT_SETTINGS = {"VIRTUAL_ENV", "BASH_SOURCE"}


def readme_start_sh_variables() -> set[str]:
    """Variables whose row in the README's configuration table has a `./start.sh` entry."""
    lines = (ROOT / "README.md").read_text().splitlines()
    header = lines.index("| variable | default | meaning | `./start.sh` |")
    names: set[str] = set()
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 4, line
        if cells[3]:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))
    return names


def help_variables(project: Path) -> set[str]:
    result = subprocess.run(
        ["./start.sh", "--help"],
        cwd=project,
        env=start_env(free_port()),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    section = result.stdout[result.stdout.index("\nEnvironment") :]
    return set(re.findall(r"^  ([A-Z][A-Z0-9_]*)\b", section, re.MULTILINE))


def script_environment_variables() -> set[str]:
    """What start.sh reads from its environment: `${NAME...}` it never assigns itself, and
    the names it looks up in .env."""
    # Without the here-documents: the help text shows `NAME=1` examples, not assignments.
    script = re.sub(r"<<'?(\w+)'?\n.*?\n\1\n", "\n", (ROOT / "start.sh").read_text(), flags=re.S)
    expanded = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)[:}]", script))
    assigned = set(
        re.findall(r"^\s*(?:readonly\s+|local\s+)?([A-Z][A-Z0-9_]*)=", script, re.MULTILINE)
    )
    from_env_file = set(re.findall(r"env_file_value ([A-Z][A-Z0-9_]*)", script))
    return (expanded - assigned | from_env_file) - NOT_SETTINGS


def test_help_lists_exactly_the_readme_start_sh_variables(tmp_path: Path) -> None:
    documented = readme_start_sh_variables()
    assert {"DATABASE_URL", "DATA_DIR", "CHAT_READY_TIMEOUT", "PORT"} <= documented
    listed = help_variables(copy_project(tmp_path))
    assert documented - listed == set(), "in the README's ./start.sh column, not in --help"
    assert listed - documented == set(), "in --help, not in the README's ./start.sh column"


def test_every_variable_the_script_reads_is_in_its_help(tmp_path: Path) -> None:
    read = script_environment_variables()
    assert {"CHAT_READY_TIMEOUT", "CHAT_SKIP_INSTALL", "DATABASE_URL"} <= read
    assert read - help_variables(copy_project(tmp_path)) == set()
