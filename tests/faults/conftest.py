"""A PostgreSQL of this folder's own, shared by its tests: they freeze and thaw it, which
the machine's shared server must never suffer."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import OwnPostgres, own_postgres


@pytest.fixture(scope="session")
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    with own_postgres(Path(tmp_path_factory.mktemp("own-pg"))) as server:
        yield server
