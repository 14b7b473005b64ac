"""docs/asyncapi.yaml: generated from the models, valid AsyncAPI 3.0, served by the app,
and naming exactly the events the server handles. (What goes over the wire is checked
against it in test_asyncapi_wire.py.)"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from jsonschema import Draft7Validator

from chat_server import errors
from chat_server.realtime.asyncapi import asyncapi_yaml

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"
ASYNCAPI_SPEC = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
REGENERATE = "python -m chat_server asyncapi -o docs/asyncapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMMITTED.read_text())
    return loaded


def test_committed_document_is_what_the_models_generate() -> None:
    assert COMMITTED.read_text() == asyncapi_yaml(), f"out of date: run `{REGENERATE}`"


def test_the_cli_prints_the_same_document(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "chat_server", "asyncapi"],
        cwd=tmp_path,  # no .env of a developer
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout == COMMITTED.read_text()


async def test_server_answers_the_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text == COMMITTED.read_text()


def test_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    """Against the official JSON Schema of AsyncAPI 3.0.0 (npm @asyncapi/specs)."""
    if not ASYNCAPI_SPEC.is_file():
        reason = "node_modules/@asyncapi/specs is not installed (run `npm ci`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    spec = json.loads(ASYNCAPI_SPEC.read_text())
    assert document["asyncapi"] == "3.0.0"
    problems = [
        f"{e.json_path}: {e.message[:200]}" for e in Draft7Validator(spec).iter_errors(document)
    ]
    assert problems == []


def operations(document: dict[str, Any], action: str) -> set[str]:
    """The Socket.IO event names of the operations with this action (without connect)."""
    messages = document["channels"]["socket"]["messages"]
    return {
        messages[ref["$ref"].rsplit("/", 1)[1]]["name"]
        for name, operation in document["operations"].items()
        if operation["action"] == action and name != "connect"
        for ref in operation["messages"]
    }


def test_client_events_are_exactly_the_handled_ones(document: dict[str, Any], app: FastAPI) -> None:
    handled = set(app.state.sio.handlers["/"]) - {"connect", "disconnect"}
    assert operations(document, "receive") == handled


def test_server_events_are_those_the_design_lists(document: dict[str, Any]) -> None:
    """The server events of docs/protocol.md, chat_updated (a renamed group) among them."""
    assert operations(document, "send") == {
        "message",
        "message_updated",
        "messages_read",
        "read_receipt",
        "typing",
        "presence",
        "chat_joined",
        "chat_left",
        "chat_updated",
        "member_added",
        "member_removed",
    }


def test_every_client_event_documents_its_ack_and_the_error_ack(
    document: dict[str, Any],
) -> None:
    for name, operation in document["operations"].items():
        if operation["action"] != "receive" or name == "connect":
            continue
        replies = {ref["$ref"].rsplit("/", 1)[1] for ref in operation["reply"]["messages"]}
        assert replies == {f"{name}_ack", "error_ack"}


def test_every_error_code_the_server_can_send_is_documented(document: dict[str, Any]) -> None:
    def codes(cls: type[errors.DomainError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    detail = document["components"]["schemas"]["ErrorDetail"]
    assert codes(errors.DomainError) <= set(detail["properties"]["code"]["enum"])
    assert "validation_error" in detail["properties"]["code"]["enum"]


def test_every_payload_field_is_described(document: dict[str, Any]) -> None:
    undescribed = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []
