"""Stopping a run from outside: Ctrl-C and a process manager's SIGTERM end it the same way.

Ctrl-C (SIGINT) raises KeyboardInterrupt: the loop stops, the sinks close (the file sink writes
its trailer and renames its partial file), and `reenact` exits 130. A SIGTERM (`kill PID`,
`docker stop`, systemd, a scheduler ending a recording) used to end the process where it stood:
the file sink's `.NAME.partial` was left behind and the recording lost. `stop_on_sigterm()`
makes SIGTERM raise `Terminated`, a KeyboardInterrupt, so it takes Ctrl-C's path and the output is
closed cleanly; the exit code is then 143 (128 + 15, as a shell reports a process ended by
SIGTERM). `stop_signals_deferred()` holds both signals while a frame is encoded
(`reenact.encode.encode_frame`): a KeyboardInterrupt raised inside PyAV's encode left the
encoder unable to flush the frames it held, and the whole recording was lost (a file of 0
frames; seen under load in 2 of 12 runs of the file sink's real-SIGINT test).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C is (`stop_on_sigterm`)."""


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated


def stop_on_sigterm() -> None:
    """SIGTERM raises `Terminated` in the main thread from now on (when SIGTERM still has its
    default action: a handler someone else installed, or an inherited "ignore", is kept)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)


def exit_code(exc: BaseException | None) -> int:
    """The exit code of a run stopped by `exc` (a KeyboardInterrupt): 143 for SIGTERM, else 130."""
    return 143 if isinstance(exc, Terminated) else 130


def how_stopped(code: int) -> str:
    """What stopped a run, for its last line, from its `exit_code`."""
    return "terminated (SIGTERM)" if code == 143 else "interrupted"


@contextlib.contextmanager
def stop_signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then act as they would have (a handler
    that raises, raises then; an ignored signal stays ignored). Python runs signal handlers in the
    main thread only; elsewhere this is a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum))
                for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(caught):  # each signal once, in the order it came
            handler = previous[s]
            if callable(handler):
                handler(s, None)  # Python's default SIGINT handler raises KeyboardInterrupt
            elif handler == signal.SIG_DFL and s == signal.SIGINT:
                raise KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                signal.raise_signal(s)  # its default action, now that the block is done
