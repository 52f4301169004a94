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

REPO = Path(__file__).resolve().parents[1]


def media_root() -> Path:
    """`REENACT_MEDIA`, else `<repo>/../shared/media` (CI puts shared/ beside the clone)."""
    return Path(os.environ.get("REENACT_MEDIA", REPO.parent / "shared" / "media"))


@pytest.fixture(scope="session", autouse=True)
def _session_config_dir(tmp_path_factory) -> Iterator[Path]:
    """REENACT_CONFIG_DIR for fixtures wider than one test (a module's server): never the
    user's own config folder (its control token and panel settings)."""
    folder = tmp_path_factory.mktemp("user-config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REENACT_CONFIG_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def user_config_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test's own REENACT_CONFIG_DIR (reenact.paths), empty: a token or panel settings kept
    by one test never reach another; `reenact` subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("user-config")
    monkeypatch.setenv("REENACT_CONFIG_DIR", str(folder))
    return folder


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
    from reenact.eval.stills import _aligned

    def align(path: Path, size: int = 256):
        return _aligned(path, load_config(None, [f"renderer.size={size}"]))

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
                    found.append(float(painted[y0:y1, x0:x1][inside].mean()
                                       - truth[y0:y1, x0:x1][inside].mean()))
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
        pytest.skip("no display and no Xvfb for the window tests: apt-get install xvfb x11-apps "
                    "(make test does this when run as root)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        # -s 0: no screen saver. Its default (10 min) blanks the screen, and a window read back
        # more than 10 minutes into the suite (test_live_preview) was then all black.
        [binary, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp",
         "-s", "0"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
