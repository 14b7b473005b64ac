"""CPU and RSS of a process tree, sampled by a background thread with psutil."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psutil


def tree(pid: int) -> list[psutil.Process]:
    """The process and its children (a server may fork workers; PostgreSQL does)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    total = 0
    for proc in tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


class TreeMonitor:
    """Mean CPU (% of one core) and peak RSS of a process tree between start() and stop().

    CPU is the growth of each process's user+system time, per pid, so processes that come
    and go (PostgreSQL backends) are counted from the moment they are first seen.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self._procs: Callable[[], list[psutil.Process]] = lambda: tree(pid)
        self._interval = interval
        self._first: dict[int, tuple[float, float]] = {}  # pid -> (user, system)
        self._last: dict[int, tuple[float, float]] = {}
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0
        self._elapsed = 0.0

    def _sample(self) -> None:
        rss = 0
        for proc in self._procs():
            try:
                times = proc.cpu_times()
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            used = (times.user, times.system)
            self._first.setdefault(proc.pid, used)
            self._last[proc.pid] = used
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def start(self) -> None:
        self._started = time.monotonic()
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()
        self._elapsed = time.monotonic() - self._started

    def _percent(self, index: int) -> float:
        used = sum(self._last[pid][index] - self._first[pid][index] for pid in self._last)
        return 100 * used / self._elapsed if self._elapsed else 0.0

    @property
    def cpu_percent(self) -> float:
        """Mean CPU over the window in % of one core (200 % = both cores of two)."""
        return self._percent(0) + self._percent(1)

    @property
    def system_percent(self) -> float:
        """The kernel's share of cpu_percent (syscalls: socket reads and writes)."""
        return self._percent(1)

    @property
    def seconds(self) -> float:
        return self._elapsed
