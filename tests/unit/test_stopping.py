"""`reenact.stopping`: SIGTERM taken as Ctrl-C, and both held while a frame is encoded."""

from __future__ import annotations

import signal

import pytest

from reenact.stopping import Terminated, exit_code, stop_on_sigterm, stop_signals_deferred


@pytest.fixture
def handlers():
    """SIGINT and SIGTERM as they were before the test, put back after it."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_sigterm_raises_terminated_and_exits_143(handlers):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stop_on_sigterm()
    with pytest.raises(Terminated) as caught:
        signal.raise_signal(signal.SIGTERM)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert exit_code(caught.value) == 143 and exit_code(KeyboardInterrupt()) == 130


def test_a_handler_already_there_is_kept(handlers):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. inherited from the parent
    stop_on_sigterm()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    signal.raise_signal(signal.SIGTERM)  # ignored: nothing happens


@pytest.mark.parametrize(("stop", "raised"), [(signal.SIGINT, KeyboardInterrupt),
                                              (signal.SIGTERM, Terminated)])
def test_a_stop_inside_the_block_acts_after_it(handlers, stop, raised):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stop_on_sigterm()
    finished = []
    with pytest.raises(raised):
        with stop_signals_deferred():
            signal.raise_signal(stop)
            finished.append(True)  # the block runs to its end first
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back


def test_an_ignored_stop_stays_ignored(handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stop_signals_deferred():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
