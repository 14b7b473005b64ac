"""Where the JWT key comes from: JWT_SECRET, or a secret generated once into DATA_DIR."""

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chat_server.config import MIN_SECRET_LENGTH, ConfigurationError, Settings
from chat_server.security import _create_secret_file, _stored_secret, jwt_secret


def _settings(data_dir: Path, **values: str) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[call-arg]


def _secret_in(folder: str, start: Any, results: Any) -> None:
    start.wait()  # every process reaches the file at the same moment
    results.put(_stored_secret(Path(folder) / "jwt_secret"))


def test_a_short_jwt_secret_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        _settings(tmp_path, jwt_secret="changeme")
    # Empty counts as unset: a secret is generated instead.
    assert _settings(tmp_path, jwt_secret="").jwt_secret is None
    long_enough = "x" * MIN_SECRET_LENGTH
    assert jwt_secret(_settings(tmp_path, jwt_secret=long_enough)) == long_enough


def test_the_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    first = jwt_secret(_settings(tmp_path))
    path = tmp_path / "jwt_secret"
    assert len(first) >= MIN_SECRET_LENGTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first
    assert list(tmp_path.iterdir()) == [path]  # no draft left behind
    _stored_secret.cache_clear()
    assert jwt_secret(_settings(tmp_path)) == first


def test_processes_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(8), spawn.Queue()
    workers = [
        spawn.Process(target=_secret_in, args=(str(tmp_path), start, results)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    secrets = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join()
    assert len(set(secrets)) == 1
    assert (tmp_path / "jwt_secret").read_text() == secrets[0]


def test_a_secret_written_meanwhile_by_another_process_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "jwt_secret"
    path.write_text("theirs-" + "x" * MIN_SECRET_LENGTH)
    _create_secret_file(path)  # lost the race: must not overwrite
    assert path.read_text() == "theirs-" + "x" * MIN_SECRET_LENGTH
    assert list(tmp_path.iterdir()) == [path]


def test_an_empty_or_short_secret_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("")
    _stored_secret.cache_clear()
    with pytest.raises(ConfigurationError, match="delete it"):
        jwt_secret(_settings(tmp_path))


def test_without_hard_links_the_secret_is_still_private_and_single(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(src: object, dst: object) -> None:
        raise PermissionError("this filesystem has no hard links")

    monkeypatch.setattr(os, "link", no_hard_links)
    path = tmp_path / "jwt_secret"
    _create_secret_file(path)
    first = path.read_text()
    _create_secret_file(path)  # a second process, too late
    assert path.read_text() == first
    assert len(first) >= MIN_SECRET_LENGTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]
