"""The actor's closed mouth (reenact.fusion.mouth_rest): a neutral calibrated with the mouth open
is not carried as a mouth pressed shut for the whole session, while an opening from the closed
mouth still is."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.fusion.mouth_rest import KEEP_WITHIN, MIN_CLOSED, MouthRest, inner_gap
from reenact.landmarks.expressiveness import inter_ocular
from reenact.landmarks.jaw import drop_jaw
from reenact.landmarks.regions import REGIONS


@pytest.fixture(scope="module")
def face(portraits_dir):
    """A real face: lp_s5's aligned landmarks (478,3), tracked by MediaPipe, its lips
    together."""
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    face = prepare_target(str(portraits_dir / "lp_s5.jpg"), load_config()).landmarks_crop
    face = face.astype(np.float32)
    assert inner_gap(face) < 0.02
    return face


def opened(face: np.ndarray, iod: float) -> np.ndarray:
    """`face` with the jaw dropped by `iod` inter-ocular distances."""
    return drop_jaw(face, iod * float(inter_ocular(face)))


def talking(face: np.ndarray, frames: int, seed: int = 0) -> list[np.ndarray]:
    """A talker's frames: the mouth open by 0.05-0.25 inter-ocular distances, closed between
    words one frame in eight."""
    rng = np.random.default_rng(seed)
    return [
        face if i % 8 == 0 else opened(face, float(rng.uniform(0.05, 0.25))) for i in range(frames)
    ]


def test_an_open_neutral_is_not_carried_as_a_shut_mouth(face):
    """Calibrated mid-sentence with the lips 0.15 inter-ocular distances apart, the actor's
    closed mouth reads 0.15 shut against the neutral, and the fuser presses the target's lips
    together past closed. Once the window has seen the closed mouth between words, it reaches
    the fuser as the neutral's opening, and an opening from it as the same opening."""
    neutral = opened(face, 0.15)
    assert inner_gap(face) - inner_gap(neutral) < -0.14
    fixed, adapting = MouthRest(adapt_frames=0), MouthRest(adapt_frames=300)
    for frame in talking(face, 150):
        kept = fixed.apply(frame, neutral)
        adapting.apply(frame, neutral)
    assert kept is frame  # off: the calibrated neutral's mouth throughout
    closed = adapting.apply(face, neutral)
    assert abs(inner_gap(closed) - inner_gap(neutral)) < KEEP_WITHIN / 2
    opening = inner_gap(adapting.apply(opened(face, 0.1), neutral)) - inner_gap(closed)
    assert opening == pytest.approx(0.1, abs=0.01)


def test_the_closed_mouth_needs_a_few_closed_frames(face):
    """Nothing moves before MIN_CLOSED frames are in, nor while the talker has not closed the
    mouth once: the least open frames are then still open, and only what lies beyond them is
    taken as the neutral's excess."""
    neutral = opened(face, 0.2)
    rest = MouthRest(adapt_frames=300)
    for _ in range(MIN_CLOSED - 1):
        assert rest.apply(face, neutral) is face
    rest = MouthRest(adapt_frames=300)
    for iod in np.linspace(0.12, 0.3, 100):  # never closer than 0.12
        rest.apply(opened(face, float(iod)), neutral)
    assert 0.0 < rest.offset < 0.2 - 0.12 + 0.01


def test_a_neutral_with_the_lips_together_stays_exactly_as_it_was(face):
    """A talker calibrated with the lips together (the usual case) is left untouched: the same
    array back, every frame; so is one whose lips part a little at rest (under KEEP_WITHIN)."""
    for neutral in (face, opened(face, 0.8 * KEEP_WITHIN)):
        rest = MouthRest(adapt_frames=300)
        for frame in talking(face, 300, seed=1):
            assert rest.apply(frame, neutral) is frame
        assert rest.offset == 0.0


def test_the_closed_mouth_is_held_once_the_window_is_full(face):
    """After the window, a lasting change (lips held apart) is carried, not absorbed; `forget`
    starts learning again."""
    rest = MouthRest(adapt_frames=60)
    neutral = opened(face, 0.15)
    for frame in talking(face, 60):
        rest.apply(frame, neutral)
    held = rest.offset
    assert held == pytest.approx(0.15, abs=0.03)  # the garrote's shrink, the rate's lag
    apart = opened(face, 0.1)
    for _ in range(200):
        rest.apply(apart, neutral)
    assert rest.offset == held
    rest.forget()
    assert rest.offset == 0.0 and rest.apply(face, neutral) is face


def test_a_given_neutral_is_the_rest_until_a_recalibration(face):
    """A neutral given (calibration.neutral_path) is the actor's rest: the closed mouth is not learnt.
    A recalibration (`MotionStage.reset`) learns it, over the configured window."""
    from reenact.config import load_config
    from reenact.pipeline.motion import MotionStage

    settings = ["calibration.mouth_adapt_frames=60"]
    stage = MotionStage(load_config(None, settings), neutral_given=True)
    neutral = opened(face, 0.15)
    for frame in talking(face, 60):
        assert stage.mouth.apply(frame, neutral) is frame
    stage.reset()
    for frame in talking(face, 60):
        stage.mouth.apply(frame, neutral)
    assert stage.mouth.offset == pytest.approx(0.15, abs=0.03)
    assert MotionStage(load_config(None, settings)).mouth.adapt_frames == 60


def test_only_the_lower_lip_chin_and_jaw_move(face):
    """The eyes, brows, nose and upper lip keep their place (the eye transfer, the brows' rest
    and the head pose read them); the lower lip moves whole, down."""
    rest = MouthRest(adapt_frames=60)
    neutral = opened(face, 0.15)
    for frame in talking(face, 60):
        rest.apply(frame, neutral)
    out = rest.apply(face, neutral)
    moved = out[:, :2] - face[:, :2]
    still = np.r_[
        REGIONS["left_eye"],
        REGIONS["right_eye"],
        REGIONS["left_iris"],
        REGIONS["right_iris"],
        REGIONS["left_brow"],
        REGIONS["right_brow"],
        REGIONS["nose"],
        0,
        13,
    ]
    assert np.abs(moved[still]).max() == 0.0
    assert np.abs(moved[:, 0]).max() == 0.0  # down only
    lower = [14, 17, 152]  # the lower inner lip, the lower lip's bottom, the chin
    drop = rest.offset * float(inter_ocular(face))
    assert moved[lower, 1] == pytest.approx([drop] * 3, rel=1e-4)
