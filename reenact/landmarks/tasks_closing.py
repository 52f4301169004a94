"""Closing MediaPipe 1.x Tasks objects safely: when their owner closes or is collected, and at
exit before the worker threads they run on stop.
"""

from __future__ import annotations

import weakref
from functools import cache
from typing import Any

_OPEN: set[weakref.finalize] = set()  # the Tasks objects not closed yet, closed at exit too


def closes_with(owner: object, task: Any) -> weakref.finalize:
    """Close the Tasks object `task` when `owner` is closed or collected. The finalizer holds
    `task` strongly, so a forgotten owner caught in a reference cycle never hands `task` to the
    cyclic collector, where MediaPipe 1.x's own `__del__` waits forever on a worker thread the
    same collection has already stopped."""
    _at_exit_while_threads_run()
    closer = weakref.finalize(owner, _close_task, task)
    closer.atexit = False  # `_close_open_tasks` closes what is left, earlier than atexit would
    _OPEN.add(closer)
    return closer


def _close_task(task: Any) -> None:
    _OPEN.difference_update([c for c in _OPEN if not c.alive])
    task.close()


def _close_open_tasks() -> None:
    for closer in list(_OPEN):
        closer()


@cache
def _at_exit_while_threads_run() -> None:
    """Run `_close_open_tasks` at exit, before concurrent.futures stops the worker threads every
    Tasks call goes through (registered after theirs, so run before); atexit runs too late."""
    import threading

    register = getattr(threading, "_register_atexit", None)
    if register is None:  # not CPython's threading: the plain hook is the best there is
        import atexit

        atexit.register(_close_open_tasks)
    else:
        register(_close_open_tasks)
