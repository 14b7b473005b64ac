"""The page's socket.io-client is the npm package pinned in package.json, byte for byte."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "static" / "vendor" / "socket.io.min.js"
INSTALLED = ROOT / "node_modules" / "socket.io-client"


def pinned_version() -> str:
    version: str = json.loads((ROOT / "package.json").read_text())["dependencies"][
        "socket.io-client"
    ]
    return version


def test_package_json_pins_an_exact_version() -> None:
    assert pinned_version()[0].isdigit(), "pin an exact version, not a range"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/socket.io-client"]["version"] == pinned_version()


def test_vendored_copy_names_the_pinned_version() -> None:
    assert f"Socket.IO v{pinned_version()}\n" in VENDORED.read_text()[:200]
    assert f"socket.io-client {pinned_version()} " in (VENDORED.parent / "VERSION").read_text()
    assert (VENDORED.parent / "socket.io-client.LICENSE").is_file()


def test_vendored_copy_is_identical_to_the_installed_package() -> None:
    if not INSTALLED.is_dir():
        pytest.skip("node_modules/socket.io-client is not installed (run `npm ci`)")
    installed = json.loads((INSTALLED / "package.json").read_text())["version"]
    assert installed == pinned_version(), "node_modules is stale: run `npm ci`"
    assert VENDORED.read_bytes() == (INSTALLED / "dist" / "socket.io.min.js").read_bytes()
