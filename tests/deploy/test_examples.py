"""The README's client examples run as written against a real server."""

import asyncio
import sys

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


async def test_python_example(http, users, live_server):
    alice, bob = await users("Alice", "Bob")
    await private_chat(http, alice, bob)
    code, out, err = await _run(
        sys.executable,
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
