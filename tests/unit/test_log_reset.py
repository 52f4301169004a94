"""`reenact.log.reset` undoes `configure`, so commands run in one process do not inherit a setup."""

from __future__ import annotations

import logging

from reenact import log


def _ours() -> list[logging.Handler]:
    loggers = (logging.getLogger(log.LOGGER), logging.getLogger())
    return [h for logger in loggers for h in logger.handlers if getattr(h, "_reenact", False)]


def test_reset_removes_the_terminal_setup():
    root_before = logging.getLogger().level
    log.configure(log.QUIET)
    assert len(_ours()) == 2
    assert not log.progress_shown()
    log.reset()
    assert _ours() == []
    assert log.progress_shown()
    assert logging.getLogger().level == root_before
    assert logging.getLogger(log.LOGGER).level == logging.NOTSET


def test_configured_twice_then_reset_leaves_nothing():
    log.configure(log.NORMAL)
    log.configure(log.EVERYTHING)
    assert len(_ours()) == 2
    log.reset()
    assert _ours() == []
