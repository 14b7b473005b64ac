"""Stall tracing for a bench server, loaded only when `bench/compare.py --trace DIR` puts
this folder on the server's PYTHONPATH (Python imports `sitecustomize` at start-up).
Neither the server nor the reference knows of it, and without `--trace` it is not loaded.

What it records, written to DIR/trace-<pid>.txt when the process exits:
- the event loop's lag over 5 ms: a task that sleeps 2 ms and notes how late it wakes;
- where the loop was while it was late: a watchdog thread samples the loop thread's
  stack whenever the heartbeat is more than STALL_MS overdue (a garbage collection holds
  the GIL, so the watchdog cannot sample inside one; the collections are timed instead);
- every garbage collection over 2 ms: generation, duration, objects collected.
Each event carries wall-clock time, so it can be lined up with the phases in
DIR/marks.txt that compare.py writes.
"""

import atexit
import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter

TRACE_DIR = os.environ.get("BENCH_TRACE_DIR")
HEARTBEAT_S = 0.002
STALL_MS = 15.0
SAMPLE_S = 0.003


class _Trace:
    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.heartbeat = time.monotonic()
        self.lags: list[tuple[float, float]] = []  # (wall time, ms late)
        self.collections: list[tuple[float, int, float, int]] = []  # (wall, gen, ms, freed)
        self.stalls: list[tuple[float, str]] = []  # (wall, collapsed stack)
        self._gc_started = 0.0
        self.serving = False  # only a process that started a uvicorn server reports
        self.heartbeat_task: object = None  # kept referenced, or it could be collected
        self._loop_thread = threading.get_ident()  # sitecustomize runs in the main thread

    # --- garbage collections -------------------------------------------------------
    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_started) * 1000
        self.collections.append((time.time(), info["generation"], ms, info["collected"]))

    # --- the loop's heartbeat ------------------------------------------------------
    async def beat(self) -> None:
        import asyncio

        while True:
            started = time.monotonic()
            self.heartbeat = started
            await asyncio.sleep(HEARTBEAT_S)
            late_ms = (time.monotonic() - started - HEARTBEAT_S) * 1000
            self.lags.append((time.time(), late_ms))

    def watch(self) -> None:
        """Sample the loop thread's stack while its heartbeat is overdue."""
        while True:
            time.sleep(SAMPLE_S)
            overdue_ms = (time.monotonic() - self.heartbeat) * 1000 - HEARTBEAT_S * 1000
            if overdue_ms < STALL_MS:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None:
                stack = traceback.extract_stack(frame)
                collapsed = ";".join(f"{f.name} ({_short(f.filename)}:{f.lineno})" for f in stack)
                self.stalls.append((time.time(), collapsed))

    # --- the report ----------------------------------------------------------------
    def write(self) -> None:
        if not self.serving:
            return
        path = os.path.join(self.out_dir, f"trace-{os.getpid()}.txt")
        with open(path, "w", encoding="utf-8") as out:
            out.write(f"# {' '.join(sys.argv)}\n")
            out.write("# lag: wall ms_late (only > 5 ms)\n")
            for wall, ms in self.lags:
                if ms > 5:
                    out.write(f"lag {wall:.3f} {ms:.1f}\n")
            out.write("# gc: wall generation ms collected (only > 2 ms)\n")
            for wall, gen, ms, freed in self.collections:
                if ms > 2:
                    out.write(f"gc {wall:.3f} {gen} {ms:.1f} {freed}\n")
            out.write("# stall: wall, the loop thread's stack (innermost last)\n")
            for wall, stack in self.stalls:
                out.write(f"stall {wall:.3f} {stack}\n")
            out.write("# stall stacks, innermost 6 frames, by samples\n")
            tails = Counter(";".join(s.split(";")[-6:]) for _, s in self.stalls)
            for tail, n in tails.most_common(40):
                out.write(f"top {n} {tail}\n")


def _short(filename: str) -> str:
    marker = "site-packages/"
    return filename.split(marker, 1)[1] if marker in filename else os.path.basename(filename)


def _install(out_dir: str) -> None:
    trace = _Trace(out_dir)
    gc.callbacks.append(trace.on_gc)
    import uvicorn.server

    original_startup = uvicorn.server.Server.startup

    async def startup(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        import asyncio

        trace.serving = True
        trace.heartbeat_task = asyncio.get_running_loop().create_task(trace.beat())
        threading.Thread(target=trace.watch, name="stall-watchdog", daemon=True).start()
        return await original_startup(self, *args, **kwargs)

    uvicorn.server.Server.startup = startup  # type: ignore[method-assign]
    atexit.register(trace.write)
    # uvicorn ends by raising SIGTERM again with the handler it found: make that an exit
    # that runs atexit (the default handler kills the process before the report).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


if TRACE_DIR:
    _install(TRACE_DIR)
