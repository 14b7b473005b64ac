"""The benchmark scripts still run end to end (tiny sizes; the numbers are not checked)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import PROJECT_ROOT


def _run(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    server = os.environ.get("TEST_DATABASE_URL")
    extra = ("--database-url", server) if server else ()
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / script), *args, *extra],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_send_path_bench_prints_its_table() -> None:
    out = _run("send_path.py", "--seconds", "0.3")

    assert "| send path | msg/s |" in out
    assert "| service.mark_read |" in out
    for variant in ("ORM unit of work", "Core statement", "batched per chat", "raw asyncpg"):
        assert variant in out


def test_load_bench_prints_its_table_with_every_message_delivered(tmp_path: Path) -> None:
    out = _run(
        "load.py",
        *("--output", str(tmp_path / "latest.md")),
        *("--seconds", "1", "--users", "8", "--group-size", "4", "--workers", "1"),
        *("--idle-sockets", "20", "--raw-seconds", "0.5", "--raw-connections", "2"),
    )

    assert "| messages persisted and acked |" in out
    assert "all delivered: True" in out
    assert "| 20 idle sockets < 400 MB RSS |" in out
    assert (tmp_path / "latest.md").read_text(encoding="utf-8") in out


def test_compare_bench_prints_every_floor_with_a_verdict(tmp_path: Path) -> None:
    out = _run(
        "compare.py",
        *("--output", str(tmp_path / "compare.md")),
        *("--seconds", "1", "--warmup", "0.5", "--rounds", "1", "--groups", "1"),
        *("--latency-clients", "10", "--latency-seconds", "1", "--workers", "1"),
        *("--history-size", "500", "--history-repeats", "5", "--history-seconds", "0.5"),
        *("--idle-sockets", "10", "--idle-groups", "2", "--probes", "3"),
    )

    assert "| measure | ours | reference | ratio | floor | |" in out
    for measure in (
        "closed loop, msg/s",
        "delivered to all 10 members exactly once | True | True |",
        "send → ack p99 (p50), ms, 10 clients",
        "send → delivery p99 (p50)",
        "history page of 50, offset 450",
        "REST GET /history",
        "10 idle sockets, deflate offered",
    ):
        assert measure in out, measure
    assert (tmp_path / "compare.md").read_text(encoding="utf-8") in out


def test_search_bench_prints_every_query_kind_with_a_verdict(tmp_path: Path) -> None:
    out = _run(
        "search.py",
        *("--output", str(tmp_path / "search.md")),
        *("--messages", "2000", "--chats", "50", "--rounds", "1", "--batch", "20"),
    )
    for kind in ("reference: GET /users/me", "common word", "rare word", "prefix", "two words"):
        assert f"| {kind} |" in out, out
    assert "PASS" in out or "FAIL" in out
    assert "Slowest query:" in out and "Limit" in out  # the plan of the slowest query
