"""The cyclic garbage collector, tuned for a server that holds many idle connections.

CPython collects its youngest generation whenever allocations outnumber deallocations
by 700 (its default). Each idle socket keeps objects alive for seconds (e.g. the task
that waits 25 s for engine.io's next ping), so those collections keep promoting them,
and once the objects promoted since the last full collection reach a quarter of the
heap, a full collection walks every object of every connection, holding the event loop
all the while: with 10,000 idle sockets, 1.5-2.5 s about every 20 s while sends come in
(bench/compare.py, idle phase). A server whose connections hold steady frees about as
much as it allocates, so with a young threshold far above that noise the young
collections, and with them the promotions and the full collections, stop; a growing
heap is still collected, every YOUNG_THRESHOLD objects.
"""

import gc

YOUNG_THRESHOLD = 100_000


def tune_gc() -> None:
    """Raise the youngest generation's threshold; the older ones' stay as they are."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
