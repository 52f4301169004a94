"""The targets folder and uploads against a hostile user, on a real `reenact live` over loopback.

- a picture without a face in `stream.targets_dir` is skipped with one line naming it, and the
  session starts and serves the gallery without it; only a folder with no usable picture and
  no target given is refused (one line);
- upload names never become Windows device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9), with
  an extension or trailing dots and spaces.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.stream.gallery import safe_stem
from tests.panel_session import LiveSession

REENACT = str(Path(sys.executable).with_name("reenact"))


def landscape(path: Path) -> Path:
    """A picture with no face: sky, sun, hills and a lake, 480x320."""
    image = np.zeros((320, 480, 3), np.uint8)
    image[:] = np.linspace((235, 200, 150), (255, 235, 215), 320)[:, None, :]  # sky, BGR
    cv2.circle(image, (380, 70), 30, (80, 220, 255), -1)
    hills = np.array(
        [[0, 200], [120, 140], [260, 190], [400, 130], [480, 170], [480, 320], [0, 320]], np.int32
    )
    cv2.fillPoly(image, [hills], (60, 140, 70))
    cv2.ellipse(image, (200, 270), (150, 30), 0, 0, 360, (160, 110, 40), -1)
    cv2.imwrite(str(path), image)
    return path


@pytest.mark.parametrize(
    "name, stem",
    [
        ("CON", "_CON"),
        ("con.txt", "_con"),
        ("COM1.png", "_COM1"),
        ("lpt9.jpeg", "_lpt9"),
        ("Prn.tar.gz", "Prn_tar"),
        ("nul .png", "_nul"),
        ("aux. .png", "_aux"),
        ("AUX...", "_AUX"),
        ("../../CON.png", "_CON"),
        ("C:\\pics\\com7.bmp", "_com7"),
        ("COM10.png", "COM10"),
        ("console.png", "console"),
        ("conman.jpg", "conman"),
        ("...", "target"),
        ("", "target"),
    ],
)
def test_safe_stem_keeps_off_device_names(name, stem):
    assert safe_stem(name) == stem


@pytest.fixture(scope="module")
def session(tmp_path_factory, clips_dir, portraits_dir):
    made = landscape(tmp_path_factory.mktemp("pictures") / "landscape.png")
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path_factory.mktemp("gallery"),
        targets=[portraits_dir / "lp_s0.jpg", made],
    )
    try:
        yield live
    finally:
        live.close()


def test_a_picture_without_a_face_is_skipped_with_one_line(session):
    named = [line for line in session.stderr.splitlines() if "landscape.png" in line]
    assert len(named) == 1 and "skipped" in named[0] and "no face" in named[0], named
    assert "Traceback" not in session.stderr
    code, body, _ = session.call("GET", "/targets")
    assert code == 200 and [t["name"] for t in body["targets"]] == ["astronaut", "lp_s0.jpg"]
    assert session.call("POST", "/targets/1/select")[0] == 200  # the usable one serves
    assert session.wait_for(lambda s: s["target"] == "lp_s0.jpg")["target"] == "lp_s0.jpg"


@pytest.mark.parametrize(
    "name, portrait, saved",
    [
        ("CON.png", "lp_s2.jpg", "_CON.png"),
        ("Aux%20.%20.txt", "lp_s3.jpg", "_Aux.png"),
    ],
)
def test_an_upload_is_never_saved_under_a_device_name(
    session, portraits_dir, name, portrait, saved
):
    code, body, _ = session.call(
        "POST", f"/targets?name={name}", (portraits_dir / portrait).read_bytes()
    )
    assert code == 200, body
    assert body["targets"][body["index"]]["name"] == saved
    assert (session.targets_dir / saved).is_file()
    stems = {p.stem.upper() for p in session.targets_dir.iterdir()}
    assert not stems & {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(10)),
        *(f"LPT{i}" for i in range(10)),
    }


def test_a_folder_with_no_usable_picture_and_no_target_is_refused(tmp_path, clips_dir):
    folder = tmp_path / "avatars"
    folder.mkdir()
    landscape(folder / "landscape.png")
    (folder / "empty.jpg").write_bytes(b"")
    result = subprocess.run(
        [
            REENACT,
            "live",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "--set",
            "panel.port=0",
            "--set",
            f"stream.targets_dir={folder}",
            "--set",
            f"stream.output_dir={tmp_path / 'out'}",
            "--set",
            "stream.duration_s=30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    errors = [line for line in result.stderr.splitlines() if "reenact: error:" in line]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1 and str(folder) in errors[0] and "no picture" in errors[0], errors
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 2 and "empty.jpg" in skipped[0] and "landscape.png" in skipped[1]


def test_a_folder_with_no_usable_picture_is_fine_beside_a_target(tmp_path, portraits_dir):
    """With a target given, the folder only adds to the gallery: nothing in it is needed."""
    from reenact.config import load_config
    from reenact.pipeline.target import TargetSet, prepare_target

    picture = landscape(tmp_path / "landscape.png")
    target = str(portraits_dir / "lp_s0.jpg")
    config = load_config(
        None,
        [
            f"stream.targets_dir={tmp_path}",
            f"stream.target={target}",
            "renderer.kind=warp",
            "fusion.target_neutral=picture",
        ],
    )
    targets = TargetSet(prepare_target(target, config), [str(picture)], config)
    assert len(targets) == 1 and list(targets.skipped) == [str(picture)]
