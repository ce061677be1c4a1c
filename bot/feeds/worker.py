"""The start of a CPU pool worker (see bot.feeds.cpu). Only the standard library is imported
at the top: the worker lowers its priority *before* it imports the parsing and analysis modules
and unpickles the scorer, a second of CPU on a 2-core box that must not compete with the loop.
"""

from __future__ import annotations

import contextlib
import os
import pickle

# Parsing is throughput work, the loop's process latency work (commands, sends): on a box with
# as many busy workers as cores, the loop must not wait for a time slice.
WORKER_NICENESS = 10


def start_worker(scorer_pickle: bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)
    from bot.feeds import feedwork

    feedwork.init_worker(pickle.loads(scorer_pickle))
