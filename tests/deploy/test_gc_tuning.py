"""`serve` tunes the garbage collector (chat_server/gc_tuning.py). Its effect on the event
loop with 10,000 idle sockets is measured by bench/compare.py (idle phase), not here."""

import argparse
import gc
import signal
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import chat_server.__main__ as cli
import chat_server.app
from chat_server.config import Settings
from chat_server.gc_tuning import YOUNG_THRESHOLD, tune_gc
from chat_server.shutdown import DrainingServer


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def collections_during_bursts(burst: int, rounds: int) -> int:
    """Collections while `rounds` bursts of `burst` objects are made and dropped, as a
    server whose connections hold steady does (a request, a round of pings)."""
    started = 0

    def count(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        started += phase == "start"

    gc.collect()
    gc.callbacks.append(count)
    try:
        for _ in range(rounds):
            held: list[list[int]] = [[] for _ in range(burst)]
            del held
    finally:
        gc.callbacks.remove(count)
    return started


def test_bursts_of_short_lived_objects_run_no_collection(thresholds: None) -> None:
    tune_gc()
    assert collections_during_bursts(burst=5_000, rounds=100) == 0
    # With CPython's default, the same work collects (and promotes) in every burst.
    gc.set_threshold(700, 10, 10)
    assert collections_during_bursts(burst=5_000, rounds=100) >= 100


def test_serve_tunes_the_collector_before_it_serves(
    thresholds: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(
        chat_server.app,
        "create_asgi_app",
        lambda settings, database_url: SimpleNamespace(socket_server=SimpleNamespace(drain=None)),
    )
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # pytest's handlers stay
    monkeypatch.setattr(DrainingServer, "run", lambda self: seen.append(gc.get_threshold()))
    cli._serve(argparse.Namespace(host=None, port=None))
    assert seen == [(YOUNG_THRESHOLD, 10, 10)]
