"""A still target with a mouth opened wider than the face mesh draws (lp_drv_d19, a yawn):
re-tracked with its lower face squashed, its lower lip and chin land on the real ones; and an
output that opens or closes that mouth further is read so, the reading growing with the drawing
(`reenact eval` reads every output frame with it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.open_mouth import OPEN_GATE, mouth_opening, retrack_open_mouth, unsquash
from reenact.landmarks.tracker import detect_target_face

_LOWER_LIP_OUTER, _CHIN = 17, 152
_EYES_BROWS_NOSE = np.r_[33, 133, 159, 145, 362, 263, 386, 374, 468, 473, 70, 105, 300, 334, 1, 4]


def _picture(portraits_dir: Path, name: str) -> np.ndarray:
    image = cv2.imread(str(portraits_dir / name))
    assert image is not None, name
    return np.ascontiguousarray(image[..., ::-1])


def test_unsquash_inverts_the_squash() -> None:
    top, bottom, factor = 100.0, 200.0, 0.65
    rows = np.linspace(0.0, 300.0, 301)
    squashed = np.where(
        rows < top,
        rows,
        np.where(
            rows < bottom,
            top + (rows - top) * factor,
            top + (bottom - top) * factor + rows - bottom,
        ),
    )
    np.testing.assert_allclose(unsquash(squashed, top, bottom, factor), rows, atol=1e-9)


def _lip_edge_row(crop: np.ndarray, x: float, start: float) -> float:
    """The row below `start` where the column at `x` leaves the lower lip for the chin's skin:
    the largest drop of Lab a* (redness) over the next 40 rows."""
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float64)
    col = lab[:, int(round(x)) - 2 : int(round(x)) + 3, 1].mean(axis=1)
    col = np.convolve(col, np.ones(3) / 3, mode="same")
    lo = int(start)
    drop = col[lo : lo + 40] - col[lo + 1 : lo + 41]
    return lo + float(np.argmax(drop)) + 0.5


def test_a_yawn_is_re_tracked_onto_its_real_lower_lip(portraits_dir: Path) -> None:
    image = _picture(portraits_dir, "lp_drv_d19.jpg")
    config = TrackerConfig()
    face = detect_target_face(image, config, source_name="lp_drv_d19.jpg")
    assert mouth_opening(face) > OPEN_GATE, "the portrait no longer reads as a wide yawn"
    found = retrack_open_mouth(image, face, config)
    alignment = compute_alignment(face, 256)
    before, after = alignment.landmarks_to_crop(face), alignment.landmarks_to_crop(found)
    crop = alignment.crop_image(image)
    # the lower lip's real edge, found from the picture's colour below the mouth
    edge = _lip_edge_row(crop, before[_LOWER_LIP_OUTER, 0], before[_LOWER_LIP_OUTER, 1] - 5)
    assert abs(after[_LOWER_LIP_OUTER, 1] - edge) < 4.0, (edge, after[_LOWER_LIP_OUTER, 1])
    assert abs(before[_LOWER_LIP_OUTER, 1] - edge) > 6.0, "the plain track already finds the lip"
    assert mouth_opening(found) > mouth_opening(face) + 0.1
    assert after[_CHIN, 1] > before[_CHIN, 1] + 8.0  # the chin was read on the lower lip
    # the upper face is the picture's own track
    np.testing.assert_allclose(after[_EYES_BROWS_NOSE], before[_EYES_BROWS_NOSE], atol=1e-3)


@pytest.mark.parametrize("name, gated", [("lp_s42.jpg", True), ("lp_drv_d38.jpg", False)])
def test_a_mouth_the_mesh_can_draw_is_left_as_tracked(
    portraits_dir: Path, name: str, gated: bool
) -> None:
    """lp_s42's mouth is shut (under OPEN_GATE: never squashed); lp_drv_d38's is parted, 0.31
    mouth widths, past the gate, and its squashed tracks read it no wider: both keep their own
    track."""
    image = _picture(portraits_dir, name)
    config = TrackerConfig()
    face = detect_target_face(image, config, source_name=name)
    assert (mouth_opening(face) <= OPEN_GATE) == gated
    assert retrack_open_mouth(image, face, config) is face


def test_the_eval_re_tracks_an_output_as_its_target_was_tracked(portraits_dir: Path) -> None:
    """`reenact eval` re-tracks each output frame to score it against the target's landmarks:
    the unchanged yawning target, re-tracked so, gives back its own lower lip; a plain track
    would read it ~10 px high and score the unchanged picture as an expression."""
    from reenact.config import load_config
    from reenact_lab.eval.drive import retrack_output
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.target import prepare_target

    config = load_config("eval", [])
    target = prepare_target(str(portraits_dir / "lp_drv_d19.jpg"), config)
    with FaceTracker(config.tracker, static=True) as tracker:
        plain = tracker.track_one(target.frame)
        found = retrack_output(tracker, target.frame, config)
    to_crop = target.alignment.landmarks_to_crop
    own = target.landmarks_crop[:, :2]
    assert np.abs(to_crop(found)[:, :2] - own).max() < 1.0
    assert abs(to_crop(plain)[_LOWER_LIP_OUTER, 1] - own[_LOWER_LIP_OUTER, 1]) > 4.0


def test_a_yawn_opened_further_reads_wider(portraits_dir: Path) -> None:
    """The warp draws the yawning target with its jaw dropped by -0.1 to +0.3 mouth widths
    (`lab.drawn_moves`' jaw move); the eval's reader must read each drawing's opening
    change from the undrawn one in the drawings' order and near its size. Squashed to 0.8 and
    0.65, and read through a switch between the squashed and the plain track (until stop 68),
    the openings read back -0.065 / -0.006 / -0.051 / -0.130: a wider yawn read as a narrower
    one."""
    from reenact.config import load_config
    from reenact_lab.eval.drive import retrack_output
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.target import prepare_target
    from reenact.render.warp import WarpRenderer
    from reenact_lab.eval.move_sweep import read_moves

    config = load_config(None, [])
    target = prepare_target(str(portraits_dir / "lp_drv_d19.jpg"), config)
    amounts = (-0.1, 0.1, 0.2, 0.3)
    with FaceTracker(config.tracker, static=True) as tracker:
        readings = read_moves(
            WarpRenderer(size=256),
            lambda image: retrack_output(tracker, image, config),
            target.crop,
            target.landmarks_crop,
            moves={"jaw": ((0,), amounts)},
        )
    read = np.array([r.read for r in readings])
    asked = np.array([r.asked for r in readings])
    np.testing.assert_allclose(asked, amounts, atol=0.01)
    assert (np.diff(read) > 0.03).all(), read
    assert (read[asked > 0.15] > 0.7 * asked[asked > 0.15]).all(), read
    assert read[0] < -0.05, read


def test_a_yawn_read_barely_open_is_still_read_whole(portraits_dir: Path) -> None:
    """The plain track sometimes puts a yawn's lower lip far up the tongue (an output frame of
    lp_d9 driving lp_drv_d19 read 0.43 mouth widths, its squashed tracks 0.9-1.1). Here the
    yawn's own track is pulled up to read 0.45: the squashed tracks must still be taken whole,
    not in proportion to how far past the gate that misreading is (0.25 of them, about 0.55)."""
    image = _picture(portraits_dir, "lp_drv_d19.jpg")
    config = TrackerConfig()
    face = detect_target_face(image, config, source_name="lp_drv_d19.jpg")
    whole = mouth_opening(retrack_open_mouth(image, face, config))
    top = float(face[13, 1])
    misread = face.copy()
    below = misread[:, 1] > top
    misread[below, 1] = top + (misread[below, 1] - top) * (0.45 / mouth_opening(face))
    assert mouth_opening(misread) == pytest.approx(0.45, abs=0.02)
    found = mouth_opening(retrack_open_mouth(image, misread, config))
    assert found == pytest.approx(whole, abs=0.08), (found, whole)
