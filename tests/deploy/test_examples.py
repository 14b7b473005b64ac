"""The README's client examples run as written against a real server."""

import asyncio
import ensurepip
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api import PASSWORD, private_chat
from tests.support.servers import PROJECT_ROOT
from tests.support.tools import require_node_client

EXAMPLES = PROJECT_ROOT / "examples"


async def _run(*command: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize(
    ("example", "document"),
    [("socketio_client.py", "README.md"), ("socketio_client.mjs", "docs/protocol.md")],
)
def test_the_docs_embed_the_examples_verbatim(example: str, document: str) -> None:
    text = (PROJECT_ROOT / document).read_text()
    assert (EXAMPLES / example).read_text().strip() in text, example


@pytest.fixture(scope="module")
def stock_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the pip its Python ships (never upgraded), and in it exactly
    what the README's Python section says to pip install."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("### Python (python-socketio)") :]
    install = re.search(r"`pip install ([^`]+)`", section)
    assert install, "the README's Python section has no `pip install` line"
    venv = tmp_path_factory.mktemp("readme-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip_version = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert pip_version == ensurepip.version(), "the venv's pip is not the stock one"
    packages = shlex.split(install.group(1))
    result = subprocess.run(
        [python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *packages],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "does not provide the extra" not in result.stderr, result.stderr
    return python


async def test_python_example(http, users, live_server, stock_venv):
    alice, bob = await users("Alice", "Bob")
    await private_chat(http, alice, bob)
    code, out, err = await _run(
        str(stock_venv),
        str(EXAMPLES / "socketio_client.py"),
        live_server.base_url,
        alice.email,
        PASSWORD,
    )
    assert code == 0, err
    assert "stored as seq 1 duplicate: False" in out
    assert "message: 1 Hello from Python" in out
    assert "first messages: ['Hello from Python']" in out


async def test_javascript_example(http, users, live_server):
    node = require_node_client("the JavaScript example")
    alice, bob = await users("Alice", "Bob")
    await private_chat(http, alice, bob)
    code, out, err = await _run(
        node, str(EXAMPLES / "socketio_client.mjs"), live_server.base_url, alice.email, PASSWORD
    )
    assert code == 0, err
    assert "stored as seq 1" in out
    assert "message: 1 Hello from JavaScript" in out
