"""Stopping a run from outside: Ctrl-C, SIGTERM and SIGHUP end it the same way, once.

Ctrl-C (SIGINT) raises KeyboardInterrupt: the loop stops, the sinks close (the file sink writes
its trailer and renames its partial file), and `reenact` exits 130. A SIGTERM (`kill PID`,
`docker stop`, systemd, a scheduler ending a recording) or a SIGHUP (the terminal closed, an SSH
session dropped) used to end the process where it stood: the file sink's partial file was left
behind and the recording lost. `stop_signals_handled()` makes them raise `Terminated`, a
KeyboardInterrupt, so they take Ctrl-C's path and the output is closed cleanly; the exit code is
then 128 + the signal's number, as a shell reports a process ended by it (143, 129).

The first stop begins closing; from then on a stop signal is ignored, with one line saying so
(`reenact: already stopping ...`): a second Ctrl-C or SIGTERM used to land inside the encoder's
flush or the summary's writing, and lost the run's config, timings and summary.

`stop_signals_deferred()` holds the stop signals while a frame is encoded and counted (the file
sink): a KeyboardInterrupt raised inside PyAV's encode left the encoder unable to flush the
frames it held, and the whole recording was lost (a file of 0 frames; seen under load in 2 of 12
runs of the file sink's real-SIGINT test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

# SIGHUP does not exist on Windows
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
STOPPED_BY = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
if hasattr(signal, "SIGHUP"):
    STOPPED_BY[signal.SIGHUP] = "hung up (SIGHUP)"
ALREADY_STOPPING = (
    b"reenact: already stopping; the output is being closed (SIGKILL ends it at once, losing it)\n"
)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, taken as Ctrl-C is (`stop_signals_handled`); `signum` says which."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__()
        self.signum = int(signum)


def _stop(signum: int, frame) -> None:
    """The first stop signal: every stop signal is ignored from now on, then the run stops."""
    for s in STOP_SIGNALS:
        if signal.getsignal(s) is _stop:
            signal.signal(s, _already_stopping)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _already_stopping(signum: int, frame) -> None:
    # os.write, not print: a handler that prints can land inside another print and raise
    with contextlib.suppress(OSError):
        os.write(2, ALREADY_STOPPING)


def _takes_over(s: int, handler) -> bool:
    """Whether `handler`, found on `s`, is a default to replace; a handler someone else
    installed, or an inherited "ignore", is kept."""
    if s == signal.SIGINT:
        return handler is signal.default_int_handler
    return handler == signal.SIG_DFL


@contextlib.contextmanager
def stop_signals_handled() -> Iterator[None]:
    """Within the block, SIGINT raises KeyboardInterrupt and SIGTERM / SIGHUP raise
    `Terminated` in the main thread, the first of them only (later ones are ignored while the
    run closes). The handlers found are put back at its end, unless a stop has begun: the
    process is then on its way out, and a late stop would only cut its last lines."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s, handler in previous.items():
        if _takes_over(s, handler):
            signal.signal(s, _stop)
    try:
        yield
    finally:
        for s, handler in previous.items():
            if _takes_over(s, handler) and signal.getsignal(s) is _stop:
                signal.signal(s, handler)


def exit_code(exc: BaseException | None) -> int:
    """The exit code of a run stopped by `exc` (a KeyboardInterrupt): 128 + the signal's
    number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else int(signal.SIGINT))


def how_stopped(code: int) -> str:
    """What stopped a run, for its last line, from its `exit_code`."""
    return STOPPED_BY.get(code - 128, "interrupted")


_deferring = False  # a stop_signals_deferred block is open (main thread only)


@contextlib.contextmanager
def stop_signals_deferred(hold: bool = True) -> Iterator[None]:
    """The stop signals wait until the block is done, then act as they would have (a handler
    that raises, raises then; an ignored signal stays ignored). Python runs signal handlers in the
    main thread only; elsewhere, or with `hold` False (a network write that may block), or inside
    another such block (the loop's hold around a sink whose encoder holds too), this is a no-op."""
    global _deferring
    if not hold or _deferring or threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring = True
    caught: list[int] = []
    previous = {
        s: signal.signal(s, lambda signum, _frame: caught.append(signum))
        for s in STOP_SIGNALS
        if signal.getsignal(s) is not None
    }  # None: set outside Python, left alone
    try:
        yield
    finally:
        _deferring = False
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
