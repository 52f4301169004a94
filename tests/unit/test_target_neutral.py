"""The target's neutral estimated from its picture (`reenact.fusion.target_neutral`), on real
faces tracked by the real face mesh: Yale subjects 14 and 15, whom the shipped basis never saw,
and the shared portraits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.fusion.target_neutral import BASIS_FILE, NeutralEstimate, shipped
from reenact.landmarks.expressiveness import inter_ocular
from reenact.landmarks.head_pose import undo_pose
from reenact.landmarks.open_mouth import mouth_opening as mouth_open
from reenact.landmarks.regions import REGIONS

SIZE = 256
EYES = np.r_[REGIONS["right_eye"], REGIONS["left_eye"], REGIONS["right_iris"], REGIONS["left_iris"]]


def _shape_error(face: np.ndarray, neutral: np.ndarray) -> float:
    """Mean point distance of `face` to `neutral` with the head pose undone, in IODs."""
    posed = undo_pose(face, neutral)[0]
    return float(np.linalg.norm((posed - neutral)[:, :2], axis=1).mean() / inter_ocular(neutral))


@pytest.mark.parametrize("subject", ["14", "15"])
@pytest.mark.parametrize("condition", ["surprised", "happy"])
def test_a_posed_expression_gives_the_persons_own_neutral(
    aligned_still, media_dir: Path, subject, condition
):
    """Yale's surprised "O" and grin: the estimate is much nearer the same person's neutral
    still than the picture is (about half as far), and the mouth closes."""
    stills = media_dir / "expressions"
    picture = aligned_still(stills / f"{subject}_{condition}.png")[1]
    truth = aligned_still(stills / f"{subject}_normal.png")[1]
    estimate, change = shipped().estimate(picture, SIZE)
    before, after = _shape_error(picture, truth), _shape_error(estimate, truth)
    assert after < 0.75 * before, (before, after)
    assert change > 0.02
    assert mouth_open(estimate) < 0.15 < mouth_open(picture) or mouth_open(picture) < 0.15


@pytest.mark.parametrize(
    "path",
    [
        "expressions/14_normal.png",
        "expressions/15_normal.png",
        "portraits/lp_s0.jpg",
        "portraits/lp_s3.jpg",
        "portraits/sadtalker_people_0.png",
    ],
)
def test_a_neutral_picture_is_left_as_it_is(aligned_still, media_dir: Path, path):
    picture = aligned_still(media_dir / path)[1]
    estimate, change = shipped().estimate(picture, SIZE)
    assert change < 0.01
    assert np.abs(estimate[:, :2] - picture[:, :2]).max() < 0.05 * inter_ocular(picture)


@pytest.mark.parametrize("still", ["14_sleepy.png", "15_wink.png", "14_surprised.png"])
def test_the_eyes_keep_the_pictures_lids(aligned_still, media_dir: Path, still):
    """A renderer cannot open lids that are shut in the picture (no eyeball under them), so the
    eyes are never part of the estimate."""
    picture = aligned_still(media_dir / "expressions" / still)[1]
    estimate, _ = shipped().estimate(picture, SIZE)
    assert np.abs(estimate[EYES, :2] - picture[EYES, :2]).max() < 0.3


def test_an_animal_is_left_alone(aligned_still, portraits_dir: Path):
    """The alpaca (lp_s38): the face mesh lands on it, but the human bases explain it badly, and
    without that check the estimate would open its mouth and narrow its eyes."""
    picture = aligned_still(portraits_dir / "lp_s38.jpg")[1]
    estimate, change = shipped().estimate(picture, SIZE)
    assert change == 0.0 and np.array_equal(estimate, picture)
    # the same picture trusted whatever the fit's left-over does move: the check holds it
    assert NeutralEstimate.load(trust=(1.0, 2.0)).estimate(picture, SIZE)[1] > 0.01


def test_no_picture_has_its_mouth_opened(aligned_still, media_dir: Path):
    """Across the shared portraits and Yale 14 / 15: the estimate never parts lips further."""
    paths = sorted((media_dir / "portraits").glob("lp_s[1-4]*.jpg")) + sorted(
        (media_dir / "expressions").glob("1[45]_[nhsw]*.png")
    )
    checked = 0
    for path in paths:
        try:
            picture = aligned_still(path)[1]
        except Exception:  # a portrait without a face the mesh finds
            continue
        estimate, _ = shipped().estimate(picture, SIZE)
        gap = [np.linalg.norm(lm[13, :2] - lm[14, :2]) for lm in (picture, estimate)]
        width = np.linalg.norm(picture[61, :2] - picture[291, :2])
        assert gap[1] <= gap[0] + 0.02 * width, path.name
        checked += 1
    assert checked >= 15


def _turned_over(face: np.ndarray, picture: np.ndarray) -> set[tuple[int, ...]]:
    """The face mesh's triangles (sorted corner indices) `face` turns over from `picture`."""
    from reenact.landmarks.regions import TRIANGLES

    def areas(lm):
        a, b, c = (np.asarray(lm, np.float64)[TRIANGLES[:, k], :2] for k in range(3))
        u, v = b - a, c - a  # written out: numpy 2 refuses np.cross on 2-D vectors
        return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]

    turned = np.sign(areas(face)) != np.sign(areas(picture))
    return {tuple(sorted(int(i) for i in t)) for t in TRIANGLES[turned]}


# the slivers at the inner mouth corners: the corner point rises with the jaw by half as much as
# the lower lip beside it, and they flip at any closing (a pixel wide; nothing shows)
_CORNER_SLIVERS = {(62, 78, 191), (292, 308, 415)}


def test_a_yawn_is_closed_by_the_jaw_without_folding_the_lips(aligned_still, portraits_dir: Path):
    """lp_drv_d19 yawns wider than the expression bases span (the estimate keeps it): the jaw is
    raised until a fifth of the gap is left. Only what lies below the upper lip moves, and no
    triangle of the mesh turns over but the corners' slivers. Closed whole, the jaw raise tips
    the lower lip over the upper one near the corners: 56 triangles turn, and the warp draws
    the cavity's rim across the lips."""
    from reenact.fusion import target_neutral as tn
    from reenact.landmarks.jaw import drop_jaw

    picture = aligned_still(portraits_dir / "lp_drv_d19.jpg")[1]
    assert mouth_open(picture) > 0.6
    closed = tn.close_open_mouth(picture)
    assert 0.1 < mouth_open(closed) < 0.25 * mouth_open(picture)
    still = picture[:, 1] < picture[13, 1] - 0.5  # above the upper inner lip: the nose, eyes
    assert np.array_equal(closed[still], picture[still].astype(np.float32))
    assert np.array_equal(closed[:, 0], picture[:, 0].astype(np.float32))  # only up, not aside
    assert _turned_over(closed, picture) <= _CORNER_SLIVERS
    shut = drop_jaw(picture, -float(picture[14, 1] - picture[13, 1]))
    assert len(_turned_over(shut, picture) - _CORNER_SLIVERS) > 20


@pytest.mark.parametrize(
    "path", ["expressions/14_happy.png", "portraits/sadtalker_people_0.png", "portraits/lp_s42.jpg"]
)
def test_a_mouth_parted_as_in_talking_is_not_closed(aligned_still, media_dir: Path, path):
    """A grin, a closed mouth and lips parted mid-word (lp_s42: 0.15 of the mouth's width) stay
    exactly as they are: only a gape (REST_OPEN) is closed."""
    from reenact.fusion.target_neutral import close_open_mouth

    picture = aligned_still(media_dir / path)[1]
    assert mouth_open(picture) < 0.2
    assert np.array_equal(close_open_mouth(picture), picture.astype(np.float32))


def test_lips_that_cross_are_not_parted():
    """A face whose lip points cross (the upper inner lip tracked below the lower one) comes back
    unchanged: raising a jaw by a negative gap would part the lips."""
    from reenact.fusion.target_neutral import close_open_mouth

    face = np.zeros((478, 3), np.float32)
    face[:, 0] = np.linspace(0, 255, 478)
    face[:, 1] = 128.0
    face[61, 0], face[291, 0] = 100.0, 140.0
    face[13, 1], face[14, 1] = 131.0, 129.0
    assert np.array_equal(close_open_mouth(face), face)


def test_the_shipped_basis_never_saw_the_held_out_people():
    from reenact.engine.weights import load_weights
    from reenact_lab.train.splits import read_splits

    tensors, meta = load_weights(BASIS_FILE)
    trained_on = set(meta["trained_on"].split())
    assert not trained_on & set(read_splits().held_out)
    assert int(meta["people"]) == len(trained_on) >= 50
    assert tensors["expression"].shape == (478 * 2, 16)


def test_the_basis_is_fitted_from_a_landmark_cache(media_dir: Path, tmp_path: Path, capsys):
    """`python -m reenact_lab.train.neutral_basis` on the Yale stills tracked by the real mesh,
    subjects 14 and 15 held out: it writes a safetensors basis that brings their expressive
    stills nearer their neutral and leaves their calm ones."""
    from reenact.engine.weights import load_weights
    from reenact_lab.train import landmark_cache, neutral_basis

    landmark_cache.main([str(media_dir / "expressions"), "--out", str(tmp_path / "cache")])
    out = tmp_path / "basis.safetensors"
    assert (
        neutral_basis.main(
            [
                "--cache",
                str(tmp_path / "cache"),
                "--out",
                str(out),
                "--exclude",
                "yale_14",
                "yale_15",
                "--check",
            ]
        )
        == 0
    )
    _, meta = load_weights(out)
    assert meta["kind"] == "neutral_basis" and "yale_14" not in meta["trained_on"].split()
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("mean")][0]
    calm0, calm1, lively0, lively1 = _numbers(line)
    assert lively1 < 0.75 * lively0, line
    assert calm1 < calm0 + 0.002, line


def _numbers(line: str) -> list[float]:
    out = []
    for word in line.replace(":", " ").split():
        try:
            out.append(float(word))
        except ValueError:
            pass
    return out
