"""The benchmark scripts still run end to end (tiny sizes; the numbers are not checked).

Every phase runs, with windows of a fraction of a second: the smoke checks that the scripts
work, not what they measure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.servers import PROJECT_ROOT


@pytest.fixture(scope="module")
def session_server(database_url: str) -> str:
    """The test session's PostgreSQL server (its `postgres` database): a bench given it
    creates and drops a scratch database there instead of starting an embedded server of
    its own, about 3 s saved each. load.py and send_path.py still start their own, so
    the embedded path (and its PostgreSQL CPU column) stays covered."""
    return make_url(database_url).set(database="postgres").render_as_string(hide_password=False)


def _run(script: str, *args: str, server: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    server = server or os.environ.get("TEST_DATABASE_URL")
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


def test_compare_bench_prints_every_floor_with_a_verdict(
    tmp_path: Path, session_server: str
) -> None:
    out = _run(
        "compare.py",
        *("--output", str(tmp_path / "compare.md")),
        *("--seconds", "0.5", "--warmup", "0.2", "--rounds", "1", "--groups", "1"),
        *("--latency-clients", "10", "--latency-seconds", "0.5", "--workers", "1"),
        *("--history-size", "500", "--history-repeats", "5", "--history-seconds", "0.3"),
        *("--idle-sockets", "10", "--idle-groups", "2", "--probes", "3"),
        *("--trace", str(tmp_path / "trace")),
        server=session_server,
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
    # --trace: every server that ran reported (ours and the reference for the send
    # phases, the bare history server, a fresh pair per idle run), and the phases were
    # marked.
    marks = (tmp_path / "trace" / "marks.txt").read_text(encoding="utf-8")
    assert marks.count("probe end ours, ms in order:") == 2
    assert "latency window start reference" in marks
    reports = [t.read_text() for t in (tmp_path / "trace").glob("trace-*.txt")]
    assert len(reports) == 7
    assert sum("lean_reference.py" in report.splitlines()[0] for report in reports) == 3
    assert sum("bare_history.py" in report.splitlines()[0] for report in reports) == 1
    assert all("# stall stacks" in report for report in reports)


def test_search_bench_prints_every_query_kind_with_a_verdict(
    tmp_path: Path, session_server: str
) -> None:
    out = _run(
        "search.py",
        *("--output", str(tmp_path / "search.md")),
        *("--messages", "2000", "--chats", "50", "--rounds", "1", "--batch", "20"),
        server=session_server,
    )
    for kind in ("reference: GET /users/me", "common word", "rare word", "prefix", "two words"):
        assert f"| {kind} |" in out, out
    assert "PASS" in out or "FAIL" in out
    assert "Slowest query:" in out and "Limit" in out  # the plan of the slowest query
