"""The actor's resting brows (reenact.fusion.brows): a neutral calibrated with the brows up is
not carried as a frown for the whole session, while a raise from rest still is."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.fusion import memo
from reenact.fusion.brows import KEEP_WITHIN, BrowRest, falloff
from reenact.landmarks.expressiveness import relative
from reenact.landmarks.regions import REGIONS


@pytest.fixture(scope="module")
def face():
    """A real face: the built-in target's aligned landmarks (478,3), tracked by MediaPipe."""
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config()).landmarks_crop.astype(np.float32)


def brows_at(face: np.ndarray, share: float) -> np.ndarray:
    """`face` with both brows (and the forehead above them, by the falloff) raised by `share` of
    their height (lowered when negative)."""
    out = face.copy()
    height = relative_height(face)
    out[:, 1] -= (falloff() @ np.array([share * height[0], share * height[1]])).astype(np.float32)
    return out


def relative_height(face: np.ndarray) -> np.ndarray:
    """(2,) each brow's upper line above its eye's corners, pixels."""
    left = face[[300, 293, 334, 296, 336], 1].mean() - face[[263, 362], 1].mean()
    right = face[[70, 63, 105, 66, 107], 1].mean() - face[[33, 133], 1].mean()
    return -np.array([left, right])


def brows(lm: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(2,) the brows' change from `neutral` as a share of its height (eval's feature)."""
    return relative(lm, neutral)[4:6]


def test_brows_up_in_the_neutral_are_not_carried_as_a_frown(face):
    """Calibrated with the brows 0.2 of their height up, an actor who then rests reads -0.2 (a
    frown) against the neutral. Once the window has seen the rest, a resting brow reaches the
    fuser within KEEP_WITHIN of the neutral, and a raise from rest as the same raise."""
    neutral, rest, raised = brows_at(face, 0.2), face, brows_at(face, 0.15)
    assert (brows(rest, neutral) < -0.14).all()  # about 0.2 / 1.2 of the neutral's height
    fixed, adapting = BrowRest(adapt_frames=0), BrowRest(adapt_frames=300)
    for _ in range(100):
        kept = fixed.apply(rest, neutral)
        moved = adapting.apply(rest, neutral)
    assert kept is rest  # off: the calibrated neutral's brows throughout
    assert np.abs(brows(moved, neutral)).max() < KEEP_WITHIN / 2
    lifted = brows(adapting.apply(raised, neutral), neutral) - brows(moved, neutral)
    assert lifted == pytest.approx(brows(raised, neutral) - brows(rest, neutral), abs=0.01)
    assert (lifted > 0.1).all()  # the raise from rest, whole


def test_a_neutral_at_rest_stays_exactly_as_it_was(face):
    """Brows moving about the neutral (a talker's raises and frowns, within KEEP_WITHIN at the
    median) leave the actor's landmarks untouched: the same array back."""
    rest = BrowRest(adapt_frames=300)
    rng = np.random.default_rng(0)
    for share in rng.normal(0.0, 0.08, 300):
        frame = brows_at(face, float(share))
        assert rest.apply(frame, face) is frame
    assert not rest.offset.any()


def test_the_rest_is_held_once_the_window_is_full(face):
    """After the window, a lasting change of the brows is carried, not absorbed; `forget`
    starts learning again."""
    rest = BrowRest(adapt_frames=60)
    neutral = brows_at(face, 0.2)
    for _ in range(60):
        rest.apply(face, neutral)
    held = rest.offset
    assert held == pytest.approx([-0.15, -0.15], abs=0.02)  # the garrote's shrink of -1/6
    frown = brows_at(face, -0.15)
    for _ in range(200):
        out = rest.apply(frown, neutral)
    assert np.array_equal(rest.offset, held)
    assert (brows(out, neutral) < -0.08).all()  # still a frown, not learnt as the rest
    rest.forget()
    assert not rest.offset.any() and rest.apply(frown, neutral) is frown


def test_a_given_neutral_is_the_rest_until_a_recalibration(face):
    """A neutral given (calibration.neutral_path) is the actor's rest: the brows are not learnt. A
    recalibration (`MotionStage.reset`) learns them, over the configured window."""
    from reenact.config import load_config
    from reenact.pipeline.motion import MotionStage

    stage = MotionStage(load_config(None, ["calibration.brow_adapt_frames=60"]), neutral_given=True)
    neutral = brows_at(face, 0.2)
    for _ in range(60):
        assert stage.brows.apply(face, neutral) is face
    stage.reset()
    for _ in range(60):
        stage.brows.apply(face, neutral)
    assert stage.brows.offset == pytest.approx([-0.15, -0.15], abs=0.02)
    calibrated = MotionStage(load_config(None, ["calibration.brow_adapt_frames=60"]))
    assert calibrated.brows.adapt_frames == 60


def test_only_the_brows_and_the_forehead_above_them_move(face):
    """The eyes (lids and irises: the eye transfer reads them), nose, lips and face outline keep
    their place; the brows move whole; points of the forehead by less."""
    rest = BrowRest(adapt_frames=30)
    neutral = brows_at(face, 0.2)
    for _ in range(30):
        out = rest.apply(face, neutral)
    moved = np.linalg.norm(out[:, :2] - face[:, :2], axis=1)
    still = np.r_[
        REGIONS["left_eye"],
        REGIONS["right_eye"],
        REGIONS["left_iris"],
        REGIONS["right_iris"],
        REGIONS["nose"],
        REGIONS["lips_outer"],
        REGIONS["face_oval"],
    ]
    assert moved[still].max() == 0.0
    brow = np.r_[REGIONS["left_brow"], REGIONS["right_brow"]]
    assert moved[brow].min() > 1.0  # pixels, on a 256-px crop
    between = np.setdiff1d(np.flatnonzero(moved > 0.0), brow)
    assert len(between) > 10 and moved[between].max() < moved[brow].min()
    assert out[brow, 1].mean() < face[brow, 1].mean()  # raised (y down) to the neutral's place


def test_a_new_neutral_is_read_afresh(face):
    """The neutral's brows are read once per neutral (`reenact.fusion.memo`): a neutral that
    changes mid-window (a new calibration) moves the brows as a rest computed afresh each frame
    does, to the bit."""
    frames = [brows_at(face, float(s)) for s in np.linspace(-0.05, 0.05, 60)]
    neutrals = [brows_at(face, 0.2)] * 30 + [brows_at(face, -0.15)] * 30

    def walk() -> list[np.ndarray]:
        rest = BrowRest(adapt_frames=300)
        return [rest.apply(f, n) for f, n in zip(frames, neutrals)]

    kept = walk()
    with memo.recomputed():
        fresh = walk()
    assert not np.array_equal(kept[-1], frames[-1])  # the rest is taken, from the new neutral
    assert all(np.array_equal(a, b) for a, b in zip(kept, fresh))
