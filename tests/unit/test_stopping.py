"""`reenact.stopping`: SIGTERM and SIGHUP taken as Ctrl-C, the first stop only, and the stops
held while a frame is encoded."""

from __future__ import annotations

import signal

import pytest

from reenact.stopping import (
    Terminated,
    exit_code,
    how_stopped,
    stop_signals_deferred,
    stop_signals_handled,
)


@pytest.fixture
def handlers():
    """SIGINT, SIGTERM and SIGHUP as they were before the test, put back after it."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
        (signal.SIGHUP, 129, "hung up (SIGHUP)"),
    ],
)
def test_sigterm_and_sighup_raise_terminated_with_their_exit_code(handlers, stop, code, said):
    signal.signal(stop, signal.SIG_DFL)
    with stop_signals_handled(), pytest.raises(Terminated) as caught:
        signal.raise_signal(stop)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert exit_code(caught.value) == code and how_stopped(code) == said
    assert exit_code(KeyboardInterrupt()) == 130 and how_stopped(130) == "interrupted"


def test_a_stop_after_the_first_is_ignored_with_one_line(handlers, capfd):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    closed = []
    with stop_signals_handled():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)  # closing has begun: nothing is raised
        signal.raise_signal(signal.SIGINT)
        closed.append(True)
    signal.raise_signal(signal.SIGTERM)  # still ignored after the block: the process is ending
    assert closed == [True]
    assert capfd.readouterr().err.count("reenact: already stopping") == 3


def test_a_handler_already_there_is_kept(handlers):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. inherited from the parent
    with stop_signals_handled():
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        signal.raise_signal(signal.SIGTERM)  # ignored: nothing happens


@pytest.mark.parametrize(
    ("stop", "raised"),
    [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated), (signal.SIGHUP, Terminated)],
)
def test_a_stop_inside_the_block_acts_after_it(handlers, stop, raised):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    finished = []
    with stop_signals_handled():
        with pytest.raises(raised):
            with stop_signals_deferred():
                with stop_signals_deferred():  # nested: held to the outer block's end
                    signal.raise_signal(stop)
                    finished.append(True)  # the block runs to its end first
                finished.append(True)
    assert finished == [True, True]


def test_the_handlers_are_put_back_when_no_stop_came(handlers):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    with stop_signals_handled():
        assert signal.getsignal(signal.SIGHUP) != signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL


def test_an_ignored_stop_stays_ignored(handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stop_signals_deferred():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_hold_false_holds_nothing(handlers):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt), stop_signals_deferred(hold=False):
        signal.raise_signal(signal.SIGINT)
        pytest.fail("the stop should have acted at once")


def test_a_nested_hold_installs_nothing_of_its_own(handlers):
    """The loop holds the stops around a sink whose encoder holds them too: one hold serves."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with stop_signals_deferred():
        outer = signal.getsignal(signal.SIGINT)
        with stop_signals_deferred():
            assert signal.getsignal(signal.SIGINT) is outer
        assert signal.getsignal(signal.SIGINT) is outer  # still held after the inner block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
