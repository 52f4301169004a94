"""Shared fixtures: where the real media lives, and small real inputs made from it."""

from __future__ import annotations

import atexit
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reenact import log as reenact_log

REPO = Path(__file__).resolve().parents[1]


def media_root() -> Path:
    """`REENACT_MEDIA`, else `<repo>/../shared/media` (CI puts shared/ beside the clone)."""
    return Path(os.environ.get("REENACT_MEDIA", REPO.parent / "shared" / "media"))


# reenact.paths' folders a test gets, by environment variable: never the user's own folders
USER_FOLDERS = {
    "REENACT_CONFIG_DIR": "user-config",
    "REENACT_DATA_DIR": "user-data",
    "REENACT_LOG_DIR": "user-logs",
}


@pytest.fixture(scope="session", autouse=True)
def _session_user_dirs(tmp_path_factory) -> Iterator[dict[str, Path]]:
    """The user folders for fixtures wider than one test (a module's server), and the cache for
    the whole session (an ONNX export made once): never the user's own config folder (its
    control token and settings), gallery, presets, cache or logs."""
    folders = {name: tmp_path_factory.mktemp(stem) for name, stem in USER_FOLDERS.items()}
    folders["REENACT_CACHE_DIR"] = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("REENACT_CACHE", raising=False)  # the cache folder's older name
        for name, folder in folders.items():
            patch.setenv(name, str(folder))
        yield folders


@pytest.fixture(autouse=True)
def _logging_undone() -> Iterator[None]:
    """A `main()` called in-process sets up reenact's terminal logging; the next test starts
    without it, as a new process would."""
    yield
    reenact_log.reset()


@pytest.fixture(autouse=True)
def user_dirs(tmp_path_factory, monkeypatch) -> dict[str, Path]:
    """Each test's own, empty REENACT_CONFIG_DIR, REENACT_DATA_DIR and REENACT_LOG_DIR
    (reenact.paths): a token, settings, an upload or a preset kept by one test never reach
    another; `reenact` subprocesses inherit them."""
    folders = {name: tmp_path_factory.mktemp(stem) for name, stem in USER_FOLDERS.items()}
    for name, folder in folders.items():
        monkeypatch.setenv(name, str(folder))
    return folders


@pytest.fixture
def user_config_dir(user_dirs) -> Path:
    return user_dirs["REENACT_CONFIG_DIR"]


@pytest.fixture
def user_data_dir(user_dirs) -> Path:
    return user_dirs["REENACT_DATA_DIR"]


@pytest.fixture
def user_log_dir(user_dirs) -> Path:
    return user_dirs["REENACT_LOG_DIR"]


@pytest.fixture(scope="session")
def media_dir() -> Path:
    root = media_root()
    if not (root / "clips").is_dir():
        pytest.fail(f"real test media not found at {root}; set REENACT_MEDIA")
    return root


@pytest.fixture(scope="session")
def clips_dir(media_dir: Path) -> Path:
    return media_dir / "clips"


@pytest.fixture(scope="session")
def portraits_dir(media_dir: Path) -> Path:
    return media_dir / "portraits"


@pytest.fixture(scope="session")
def aligned_still():
    """`align(path, size=256) -> (crop (S,S,3) uint8, landmarks (478,3) crop pixels)`: a still
    picture (any format a target may be, Yale's GIF stills too) tracked by the real face mesh and
    aligned on its eyes, as a target is (`reenact eval --stills` aligns its stills so)."""
    from reenact.config import load_config
    from reenact_lab.eval.still_sets import aligned_still

    def align(path: Path, size: int = 256):
        return aligned_still(path, load_config(None, [f"renderer.size={size}"]))

    return align


@pytest.fixture(scope="session")
def painted_against_real(aligned_still, media_dir: Path):
    """`differences(warp, condition, layers) -> [float]`: each Yale subject's neutral still
    (`NN_normal.png`) driven through `warp` by the landmarks of the same subject's
    `NN_<condition>.png`; for each painted layer `layers(warp, landmarks)` gives ((box, layer,
    alpha) as the warp's painters return them) with at least 20 px of alpha > 0.5, the mean grey
    level of the render there minus that of the real still."""
    import numpy as np

    stills = media_dir / "expressions"

    def differences(warp, condition: str, layers) -> list[float]:
        found = []
        for subject in (f"{i:02d}" for i in range(1, 16)):
            crop, neutral = aligned_still(stills / f"{subject}_normal.png", warp.size)
            real, driven = aligned_still(stills / f"{subject}_{condition}.png", warp.size)
            warp.set_target(crop, neutral)
            painted = warp.render(driven).astype(np.float32).mean(axis=2)
            truth = real.astype(np.float32).mean(axis=2)
            for (x0, y0, x1, y1), _layer, alpha in layers(warp, driven):
                inside = alpha > 0.5
                if inside.sum() >= 20:
                    found.append(
                        float(
                            painted[y0:y1, x0:x1][inside].mean()
                            - truth[y0:y1, x0:x1][inside].mean()
                        )
                    )
        return found

    return differences


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private virtual X server (Debian's `xvfb`) for the preview-window tests, as ':N'; where
    there is no Xvfb, $DISPLAY if set, else the tests skip with the reason (`make test` installs
    Xvfb when run as root)."""
    binary = shutil.which("Xvfb")
    if binary is None and os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]  # no Xvfb, but a desktop: the windows open there
        return
    if binary is None:
        pytest.skip(
            "no display and no Xvfb for the window tests: apt-get install xvfb x11-apps "
            "(make test does this when run as root)"
        )
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        # -s 0: no screen saver. Its default (10 min) blanks the screen, and a window read back
        # more than 10 minutes into the suite (test_live_preview) was then all black.
        [
            binary,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
            "-s",
            "0",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    number = b""
    while not number.endswith(b"\n") and select.select([read_fd], [], [], 20.0)[0]:
        chunk = os.read(read_fd, 32)  # the display number, then a newline, once it is ready
        if not chunk:
            break
        number += chunk
    os.close(read_fd)  # only now: Xvfb exits if it cannot write the whole line
    number = number.decode().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start within 20 s")
    yield f":{number}"
    # Left running until pytest exits: OpenCV's Qt keeps its connection open for the process's
    # life, and a server gone under it aborts the process. Killed when pytest exits.
    atexit.register(server.kill)


@pytest.fixture
def virtual_display(monkeypatch, xvfb_display: str) -> str:
    """$DISPLAY set to the virtual X server for one test (preferred over a desktop's display, so
    tests do not open windows on it)."""
    monkeypatch.setenv("DISPLAY", xvfb_display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return xvfb_display
