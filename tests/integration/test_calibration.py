"""Calibration that survives a talking start, on a real clip that starts mid-sentence
(styletalk_andrew_clip_1: the mouth is open from the first frame)."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.landmarks.expressiveness import FEATURES, inter_ocular, relative
from reenact.landmarks.neutral import NeutralCalibrator, least_expressive_median
from reenact.config import load_config
from reenact.pipeline.factory import build_fuser
from reenact_lab.train.fusion_validate import carried
from tests.helpers import aligned_actor, target_eye_shares

MOUTH_OPEN = FEATURES.index("mouth_open")


@pytest.fixture(scope="module")
def talking(clips_dir):
    """150 frames of the clip (aligned, tracked in video mode), and the clip's own neutral: the
    median of its 15 least expressive frames over all 150 (5 s)."""
    frames, _ = aligned_actor(
        clips_dir / "styletalk_andrew_clip_1.mp4", frames=150, step=1, size=256, neutral_frames=10
    )
    frames = np.stack(frames)
    return frames, least_expressive_median(frames, 15)


def _calibrate(frames: np.ndarray, calibrator: NeutralCalibrator) -> np.ndarray:
    for lm in frames:
        if calibrator.complete:
            break
        calibrator.add(lm)
    assert calibrator.complete
    return calibrator.neutral


def test_the_neutral_comes_from_the_pauses_not_the_first_frames(talking):
    frames, truth = talking
    first_open = relative(frames[:10], truth)[:, MOUTH_OPEN]
    assert np.median(first_open) > 0.15, "the clip should start with an open mouth"
    old = _calibrate(frames, NeutralCalibrator(frames=10))  # the first 10 frames' median
    new = _calibrate(frames, NeutralCalibrator(frames=10, window=45))
    old_offset = np.abs(relative(old, truth))
    new_offset = np.abs(relative(new, truth))
    assert old_offset[MOUTH_OPEN] > 0.15, f"first-frames median: {old_offset.round(3)}"
    assert new_offset.max() < 0.06, f"window calibration is off by {new_offset.round(3)}"


@pytest.mark.parametrize("kind", ["network", "training_free"])
def test_expression_carried_from_a_talking_start_matches_a_neutral_start(talking, clips_dir, kind):
    """Through Phi (the default) and the training-free transfer alike."""
    frames, truth = talking
    _, target = aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=256, neutral_frames=4)
    new = _calibrate(frames, NeutralCalibrator(frames=10, window=45))
    fusion = build_fuser(load_config(None, [f"fusion.kind={kind}"]))
    driven = frames[45:]
    actor = relative(driven, truth)
    r = {}
    for name, neutral in (("neutral start", truth), ("talking start", new)):
        fused = np.stack([fusion.fuse(f, neutral, target, 1.0) for f in driven])
        _, rs = carried(actor, relative(fused, target))
        r[name] = float(np.mean(rs))
    print(f"{kind}: expression r {r}")
    assert r["neutral start"] > 0.9, r
    assert abs(r["talking start"] - r["neutral start"]) <= 0.05, r


def _asked_after_a_cut(clips_dir, portraits_dir, recalibrate: bool):
    """sberswap_nggyup drives a portrait through the live path: a close-up (frames 0-21), a wide
    shot where no face is tracked (22-92, 2.8 s), the close-up again at 1.8x the size and turned.
    Returns {frame: (asked gaze (2,) eye widths, head yaw deg)} over frames 104-129, and the
    frames 93-129 where nothing was rendered (calibrating)."""
    from reenact.landmarks.head_pose import gaze
    from reenact.pipeline.factory import build_reenactor
    from reenact.pipeline.timing import StageTimer
    from tests.helpers import decode_rgb

    config = load_config(
        None,
        [
            f"stream.target={portraits_dir / 'lp_s0.jpg'}",
            "renderer.kind=warp",
            f"calibration.recalibrate_after_loss={str(recalibrate).lower()}",
        ],
    )
    r = build_reenactor(config, timer=StageTimer())
    base = gaze(r.target.landmarks_crop)
    asked, calibrating = {}, []
    for i, image in enumerate(decode_rgb(clips_dir / "sberswap_nggyup.mp4")[:130]):
        fused = r.process(image, i / 25.0, None).fused
        if 22 <= i < 93:
            assert r.face_lost.is_lost, f"frame {i}: the wide shot's face is tracked"
        elif i >= 93 and fused is None and not r.face_lost.is_lost:
            calibrating.append(i)
        if i >= 104 and fused is not None:
            asked[i] = ((gaze(np.asarray(fused)) - base).mean(axis=0), r.motion.head.last.yaw)
    r.close()
    return asked, calibrating


def test_a_face_back_after_a_long_loss_is_calibrated_again(clips_dir, portraits_dir):
    """After the cut, the target is not read against the first shot's neutral: its eyes are
    not asked to look aside while the actor looks ahead, nor its head to turn."""
    asked, calibrating = _asked_after_a_cut(clips_dir, portraits_dir, True)
    assert calibrating and calibrating[0] == 93 and len(calibrating) < 15, calibrating
    gazes = np.array([g for g, _ in asked.values()])
    yaws = np.array([y for _, y in asked.values()])
    assert len(asked) > 20 and np.abs(gazes[:, 0]).mean() < 0.05 and np.abs(yaws).mean() < 6.0, (
        gazes.mean(axis=0),
        yaws.mean(),
    )
    kept, none = _asked_after_a_cut(clips_dir, portraits_dir, False)  # the first calibration
    assert not none
    gazes = np.array([g for g, _ in kept.values()])
    yaws = np.array([y for _, y in kept.values()])
    assert gazes[:, 0].mean() > 0.08 and yaws.mean() > 10.0, (gazes.mean(axis=0), yaws.mean())


def test_a_laughing_start_does_not_leave_the_target_staring(clips_dir, portraits_dir):
    """Read against the neutral calibrated mid-laugh, the guest's ordinary open eyes open the
    target's to 1.6 x its own gap or more in half the frames or more (a stare, irises ringed
    with white; 0.6 or more before the calibration passed over pursed lips, `lip_rounding`);
    read against his typical open eye (eyes.adapt_frames), in few, from the fourth second
    on, while his blinks still shut them."""
    # pcavs_00098: a talk-show guest, laughing with his eyes narrowed through the calibration
    drive = (clips_dir / "pcavs_00098.mp4", portraits_dir / "lp_drv_d30.jpg", 180, 25.0)
    fixed, frames = target_eye_shares(*drive, ["eyes.adapt_frames=0"])
    typical, later = target_eye_shares(*drive, ["eyes.adapt_frames=300"])
    assert np.array_equal(frames, later)
    late = frames >= 90
    stare_fixed = float(np.mean(fixed[late].max(axis=1) > 1.6))
    stare = float(np.mean(typical[late].max(axis=1) > 1.6))
    print(
        f"stare share, frames 90-179: calibrated neutral {stare_fixed:.3f}, typical {stare:.3f}; "
        f"median {np.median(typical[late], axis=0).round(2)}, least {typical[late].max(axis=1).min():.3f}"
    )
    assert stare_fixed >= 0.45, stare_fixed
    assert stare < 0.3, stare
    assert np.median(typical[late], axis=0).max() < 1.35, np.median(typical[late], axis=0)
    assert typical[late].max(axis=1).min() < 0.1  # a blink still shuts the target's eyes


def test_brows_up_at_the_start_do_not_leave_the_target_frowning(clips_dir, portraits_dir):
    """fsgan_conan starts with his brows up and calibrates on them; read against that neutral,
    his resting brows after the second second lower the target's by about a seventh of their
    height (a frown, for the whole session; a fifth, -0.24, through the plain One Euro filter
    that smoothed the landmarks until 2026-11-26). Read against his resting brows
    (calibration.brow_adapt_frames), by about half of that (-0.144 -> -0.081: the clip is 5 s, and
    the window's median still holds his first 1.5 s of raised brows), and his brows' moves are
    still carried (the same spread)."""
    from reenact.landmarks.expressiveness import relative
    from tests.helpers import live_fused

    drive = (clips_dir / "fsgan_conan.mp4", portraits_dir / "lp_s5.jpg", 150, 29.97)
    fixed, frames, own = live_fused(*drive, ["calibration.brow_adapt_frames=0"])
    rest, later, _ = live_fused(*drive, ["calibration.brow_adapt_frames=300"])
    assert np.array_equal(frames, later)
    late = frames >= 60
    before = relative(fixed[late], own)[:, 4:6].mean(axis=1)
    after = relative(rest[late], own)[:, 4:6].mean(axis=1)
    print(
        f"target's brows, frames 60-149, median: calibrated neutral {np.median(before):.3f}, "
        f"resting brows {np.median(after):.3f}; spread {before.std():.3f} / {after.std():.3f}"
    )
    assert np.median(before) < -0.12, np.median(before)
    assert np.median(after) > 0.7 * np.median(before), np.median(after)
    assert after.std() == pytest.approx(before.std(), rel=0.25)


@pytest.mark.parametrize("clip", ["lp_d5", "styletalk_obama_clip1"])
def test_pursed_lips_are_not_taken_for_the_neutral(clips_dir, clip):
    """lp_d5 puckers for a kiss and Obama purses his lips for an "oo" in the first 1.5 s. Those
    mouths are the narrowest of the window; calibrated on them, every relaxed closed mouth after
    reads 0.4-0.6 of its width wider (a smile, all session). Without the lips' rounding in the
    score the neutral is the pursed mouth (checked); with it, a closed mouth."""
    from reenact.landmarks.expressiveness import features, lip_rounding

    frames, _ = aligned_actor(
        clips_dir / f"{clip}.mp4", frames=150, step=1, size=256, neutral_frames=10
    )
    frames = np.stack(frames)
    neutral = _calibrate(frames, NeutralCalibrator(frames=10, window=45))
    closed = features(frames)[:, MOUTH_OPEN] < 0.04  # the clip's closed mouths
    width = np.median(relative(frames[closed], neutral)[:, FEATURES.index("mouth_width")])
    rounding = lip_rounding(neutral) / np.median(lip_rounding(frames[closed]))
    print(
        f"{clip}: closed mouths {closed.sum()}, their width over the neutral's {width:+.3f}, "
        f"the neutral's lip rounding x {rounding:.2f} theirs"
    )
    assert closed.sum() > 10
    assert abs(width) < 0.1, width
    assert rounding < 1.2, rounding


def test_talking_through_the_calibration_does_not_leave_the_target_tight_lipped(
    clips_dir, portraits_dir
):
    """styletalk_feifeili_clip2_short talks straight through the 1.5 s window, her lips never
    together: the neutral is an open mouth (0.18 inter-ocular distances). Read against it, her
    closed mouth between words presses the target's lips past closed: the fused lips cross in
    over half the frames from the third second on, and are drawn shut there (the renderers
    uncross them), so the target is tight-lipped while she talks. Read against her own closed
    mouth (calibration.mouth_adapt_frames), the target's drawn opening follows hers. A clip
    calibrated with the lips together (lp_d9) gives the same fused landmarks either way."""
    from reenact.fusion.mouth_rest import inner_gap
    from tests.helpers import live_fused

    clip = clips_dir / "styletalk_feifeili_clip2_short.mp4"
    actor, neutral = aligned_actor(clip, frames=300, step=1, size=256, neutral_frames=10)
    assert inner_gap(neutral) > 0.1, "the clip should calibrate on an open mouth"
    opening = np.array([inner_gap(f) for f in actor])
    found = {}
    for frames in (0, 300):
        fused, indices, own = live_fused(
            clip,
            portraits_dir / "lp_s5.jpg",
            300,
            30.0,
            [f"calibration.mouth_adapt_frames={frames}"],
        )
        late = indices >= 90
        signed = (fused[late, 14, 1] - fused[late, 13, 1]) / inter_ocular(fused[late])
        crossed = float(np.mean(signed < -0.01))
        drawn = np.maximum(signed, 0.0)  # crossed lips are drawn shut
        r = float(np.corrcoef(opening[indices[late]], drawn)[0, 1])
        found[frames] = (crossed, r)
    print(
        f"fused lips crossed, share of frames 90-299 / r of the drawn opening with hers: "
        f"calibrated "
        f"neutral {found[0][0]:.3f} / {found[0][1]:.3f}, her closed mouth "
        f"{found[300][0]:.3f} / {found[300][1]:.3f}"
    )
    assert found[0][0] > 0.4 and found[0][1] < 0.8, found[0]
    assert found[300][0] < 0.05 and found[300][1] > 0.9, found[300]
    steady = clips_dir / "lp_d9.mp4"
    kept, _, _ = live_fused(
        steady, portraits_dir / "lp_s5.jpg", 150, 25.0, ["calibration.mouth_adapt_frames=0"]
    )
    learnt, _, _ = live_fused(
        steady, portraits_dir / "lp_s5.jpg", 150, 25.0, ["calibration.mouth_adapt_frames=300"]
    )
    assert np.array_equal(kept, learnt)
