"""MediaPipe's C++ start-up chatter on fd 2, dropped while its graphs start and run.

GLOG_minloglevel does not reach absl's pre-init logging, so the only quiet way is to capture
fd 2 around the calls that log and pass on every line that is not known noise.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

from reenact.log import native_logs_shown

# MediaPipe / TFLite start-up chatter, written by C++ straight to fd 2 (GLOG_minloglevel does not
# reach absl's pre-init logging): dropped while a tracker starts; anything else is passed on.
NOISE = re.compile(
    rb"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl|"
    rb"WARNING: Logging before InitGoogle|"  # MediaPipe 1.x and its LiteRT runtime from here on
    rb"INFO: \[(environment|accelerator_registry|cpu_registry|compiled_model)\.cc:\d+\]|"
    rb"[WI]\d{4} .*(inference_feedback_manager|landmark_projection_calculator|gl_context|"
    rb"inference_runner_litert\.cc:\d+\] Input tensor memory is not aligned))"
)


_STDERR_LOCK = threading.RLock()  # fd 2 is process-wide: one capture window at a time


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Capture fd 2 for the duration; re-emit every line that is not known MediaPipe noise."""
    if native_logs_shown():  # -vv: the user asked for the C++ libraries' own lines
        yield
        return
    with _STDERR_LOCK:
        yield from _capture_stderr()


def _capture_stderr() -> Iterator[None]:
    try:
        fd = sys.stderr.fileno()
        sys.stderr.flush()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # pytest capture, notebooks, closed fd 2
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            kept = [line for line in sink.read().splitlines(True) if not NOISE.match(line)]
            if kept:
                os.write(fd, b"".join(kept))
