"""Swagger UI's files in static/vendor are the npm package pinned in package.json."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "static" / "vendor" / "swagger-ui"
INSTALLED = ROOT / "node_modules" / "swagger-ui-dist"
FILES = ["swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css", "LICENSE"]


def pinned_version() -> str:
    version: str = json.loads((ROOT / "package.json").read_text())["dependencies"][
        "swagger-ui-dist"
    ]
    return version


def test_package_json_pins_an_exact_version() -> None:
    assert pinned_version()[0].isdigit(), "pin an exact version, not a range"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/swagger-ui-dist"]["version"] == pinned_version()


def test_vendor_note_names_the_pinned_version() -> None:
    assert f"swagger-ui-dist {pinned_version()} " in (VENDORED.parent / "VERSION").read_text()
    assert (VENDORED / "NOTICE").is_file()


@pytest.mark.parametrize("name", FILES)
def test_vendored_file_is_identical_to_the_installed_package(name: str) -> None:
    if not INSTALLED.is_dir():
        reason = "node_modules/swagger-ui-dist is not installed (run `npm ci`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    installed = json.loads((INSTALLED / "package.json").read_text())["version"]
    assert installed == pinned_version(), "node_modules is stale: run `npm ci`"
    assert (VENDORED / name).read_bytes() == (INSTALLED / name).read_bytes()
