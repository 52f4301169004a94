"""What the terminal shows: reenact's own lines through one package logger, other libraries quiet.

`reenact` (and every `reenact.*` logger below it) writes `reenact: MESSAGE` for INFO and
`reenact: LEVEL: MESSAGE` otherwise. The CLI calls `configure` once with the verbosity of `-q`
(-1), nothing (0), `-v` (1) or `-vv` (2):

- -q: reenact's warnings and errors only;
- default: reenact's status lines too (where the output goes, what was written);
- -v: reenact's debug lines as well, still nothing from other libraries below ERROR;
- -vv: every library's Python log lines and Python warnings, and the C++ logs of MediaPipe,
  TFLite and OpenCV, which are otherwise kept out of the terminal (`quiet_native_logs`).
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER = "reenact"
QUIET, NORMAL, VERBOSE, EVERYTHING = -1, 0, 1, 2

# OpenCV reads OPENCV_LOG_LEVEL once, as it loads; FATAL keeps its "[ WARN:0@..]" and
# "[ERROR:0@..]" lines (a camera index that is not there, a V4L2 control) out of the terminal:
# reenact reports what failed in its own line.
_OPENCV_QUIET = "FATAL"
_OPENCV_LEVELS = {"FATAL": 1, "INFO": 4}  # cv2.setLogLevel's numbers, for an OpenCV already loaded
_native_logs_shown = False
_progress_shown = True
_configured = False
_root_level_before: int | None = None  # the root logger's level before the first `configure`


def verbosity(args: object) -> int:
    """-1 for `-q`, else the number of `-v` given (0 for commands without these flags)."""
    if getattr(args, "quiet", False):
        return QUIET
    return int(getattr(args, "verbose", 0) or 0)


def progress_shown() -> bool:
    """Whether progress bars are drawn: always, unless `-q` asked for warnings only."""
    return _progress_shown


def native_logs_shown() -> bool:
    """Whether `-vv` asked for the C++ libraries' own log lines (see `quiet_native_logs`)."""
    return _native_logs_shown


def quiet_native_logs(level: int) -> None:
    """Turn the C++ libraries' logging down (or, for -vv, leave it up) before they load.

    OpenCV obeys OPENCV_LOG_LEVEL. MediaPipe 0.10's C++ code logs through absl before absl's
    logging is initialised, which neither GLOG_minloglevel nor TF_CPP_MIN_LOG_LEVEL reaches, so
    the tracker captures fd 2 while its graphs start (`reenact.landmarks.native_stderr.quiet_stderr`),
    unless `native_logs_shown()`; the two variables are still set for the parts that read them.
    """
    global _native_logs_shown
    _native_logs_shown = level >= EVERYTHING
    if _native_logs_shown:
        wanted = {"OPENCV_LOG_LEVEL": "INFO", "GLOG_minloglevel": "0", "TF_CPP_MIN_LOG_LEVEL": "0"}
    else:
        wanted = {
            "OPENCV_LOG_LEVEL": _OPENCV_QUIET,
            "GLOG_minloglevel": "2",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    users_own = "OPENCV_LOG_LEVEL" in os.environ  # a level the user set wins, as for the others
    for name, value in wanted.items():
        os.environ.setdefault(name, value)
    cv2 = sys.modules.get("cv2")
    if not users_own and cv2 is not None and hasattr(cv2, "setLogLevel"):  # loaded already
        cv2.setLogLevel(_OPENCV_LEVELS["INFO" if _native_logs_shown else _OPENCV_QUIET])


def say(logger: logging.Logger, text: str) -> None:
    """An INFO line through `logger` once `configure` has set up the terminal; where it has not
    (reenact called as a library, a test's capture), printed as `reenact: TEXT` all the same."""
    if _configured:
        logger.info(text)
    else:
        print(f"reenact: {text}", file=sys.stderr)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirected stream),
    around a progress bar when one is drawn there, so a line never lands in the middle of it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        tqdm = sys.modules.get("tqdm")
        if tqdm is None or not getattr(tqdm.tqdm, "_instances", None):
            super().emit(record)
            return
        try:
            tqdm.tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never end the run
            self.handleError(record)


class _ReenactFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return f"reenact: {message}"
        return f"reenact: {record.levelname}: {message}"


def _ours(record: logging.LogRecord) -> bool:
    return record.name == LOGGER or record.name.startswith(LOGGER + ".")


class _NotOurs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _ours(record)


def configure(level: int) -> None:
    """Set up the terminal for one command; calling it again replaces the earlier setup.

    reenact's records reach the root logger too (so pytest's caplog and an embedding program
    still see them), where the handler for other libraries passes them over.
    """
    global _configured, _progress_shown, _root_level_before
    root = logging.getLogger()
    if _root_level_before is None:
        _root_level_before = root.level
    _configured, _progress_shown = True, level > QUIET
    quiet_native_logs(level)
    ours = logging.getLogger(LOGGER)
    _remove_handlers(ours, root)
    mine = _Stderr()
    mine.setFormatter(_ReenactFormat("%(message)s"))
    mine._reenact = True  # type: ignore[attr-defined]
    ours.addHandler(mine)
    ours.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO}.get(level, logging.DEBUG))

    others = _Stderr()
    others.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    others.addFilter(_NotOurs())
    others._reenact = True  # type: ignore[attr-defined]
    third_party = logging.DEBUG if level >= EVERYTHING else logging.ERROR
    others.setLevel(third_party)
    root.addHandler(others)
    root.setLevel(third_party)
    # Python warnings from libraries (deprecations and the like) are log records of
    # `py.warnings`: shown with -vv only
    logging.captureWarnings(True)


def _remove_handlers(*loggers: logging.Logger) -> None:
    for logger in loggers:
        for handler in [h for h in logger.handlers if getattr(h, "_reenact", False)]:
            logger.removeHandler(handler)


def reset() -> None:
    """Undo `configure`: for a program (or a test) that runs several commands in one process."""
    global _configured, _progress_shown, _root_level_before
    ours, root = logging.getLogger(LOGGER), logging.getLogger()
    _remove_handlers(ours, root)
    ours.setLevel(logging.NOTSET)
    if _root_level_before is not None:
        root.setLevel(_root_level_before)
    _configured, _progress_shown, _root_level_before = False, True, None
    logging.captureWarnings(False)
