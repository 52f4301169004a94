"""Gaze, eyes that close fully, and head motion, end to end on real faces (issue 16).

Every output is re-tracked with the real face mesh: the measures are what a viewer would see.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.landmarks.head_pose import eye_openness, gaze
from reenact_lab.metrics.landmarks import head_angles
from tests.helpers import aligned_actor, decode_rgb, look, reenactor

SIZE = 256
ROLL_FRAMES = 200


def _config(*overrides: str):
    from reenact.config import load_config

    return load_config(None, ["fusion.kind=training_free", "renderer.kind=warp", *overrides])


def _still_config():
    """Single landmark sets rendered one after another: no smoothing between them."""
    return _config("smoothing.enabled=false")


def _reenactor(target, config, renderer=None, source_neutral=None):
    return reenactor(config, target, renderer=renderer, source_neutral=source_neutral)


def _render(r, landmarks: np.ndarray) -> np.ndarray:
    """The output frame (a copy) for aligned actor landmarks (478,3), through the pipeline."""
    from reenact.pipeline.reenactor import Tracked

    return r.process(r.target.frame, 0.0, Tracked(landmarks)).output.copy()


def _retrack(image: np.ndarray) -> np.ndarray:
    from reenact.config.schema import TrackerConfig
    from reenact.landmarks.tracker import FaceTracker

    with FaceTracker(TrackerConfig(), static=True) as tracker:
        found = tracker.track_one(image)
    assert found is not None, "the output has no face the tracker can find"
    return found


def _roll(lm: np.ndarray) -> float:
    d = lm[263, :2] + lm[362, :2] - lm[33, :2] - lm[133, :2]
    return float(np.degrees(np.arctan2(d[1], d[0])))


@pytest.fixture(scope="module")
def portrait_target(portraits_dir: Path):
    from reenact.pipeline.target import prepare_target

    return prepare_target(str(portraits_dir / "sadtalker_people_0.png"), _config())


def _device_renderer():
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator
    from reenact.render.generator_cuda import DeviceFrameRenderer

    model, meta = load_generator(shipped_weights("generator", SIZE), size=SIZE)
    return DeviceFrameRenderer(model=model, meta=meta, weights=None, device="cpu")


@pytest.mark.parametrize("path", ["warp", "torch"])
def test_a_gaze_shift_moves_the_rendered_iris(portrait_target, path):
    """Irises moved in the driving landmarks move the irises the tracker finds in the output,
    through the CPU warp and through the torch frame renderer (eager, on the CPU); with gaze
    off they stay."""
    renderer = _device_renderer() if path == "torch" else None
    neutral = portrait_target.landmarks_crop
    r = _reenactor(portrait_target, _still_config(), renderer, source_neutral=neutral)
    still = gaze(_retrack(_render(r, neutral)))
    right = gaze(_retrack(_render(r, look(neutral, 0.15, 0.0)))) - still
    down = gaze(_retrack(_render(r, look(neutral, 0.0, 0.1)))) - still
    assert (right[:, 0] > 0.05).all(), right
    assert (down[:, 1] > 0.0).all() and down[:, 1].mean() > 0.015, down
    r.motion.eyes.gaze = False
    off = gaze(_retrack(_render(r, look(neutral, 0.15, 0.0)))) - still
    assert (np.abs(off[:, 0]) < 0.03).all(), off


def test_a_closed_eye_closes_a_big_eyed_target(clips_dir: Path, portraits_dir: Path):
    """An actor's blink (lp_d9 frame 12) shuts the much larger eyes of a cartoon (lp_s7), even
    looking sideways; an open frame keeps them open."""
    from reenact.pipeline.target import prepare_target

    target = prepare_target(str(portraits_dir / "lp_s7.jpg"), _config())
    frames, neutral = aligned_actor(
        clips_dir / "lp_d9.mp4", frames=31, step=1, size=SIZE, neutral_frames=10
    )
    assert eye_openness(frames[12]).max() < 0.25 * eye_openness(neutral).min()  # a blink
    r = _reenactor(target, _still_config(), source_neutral=neutral)
    own = eye_openness(_retrack(target.frame))
    shut = eye_openness(_retrack(_render(r, look(frames[12], 0.15, 0.0))))
    assert (shut < 0.35 * own).all(), (shut, own)
    opened = eye_openness(_retrack(_render(r, frames[30])))
    assert (opened > 0.7 * own).all(), (opened, own)


def _rolled(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)  # cv2: positive = anticlockwise
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_head_roll_rolls_the_head_and_not_the_room(clips_dir: Path, portraits_dir: Path):
    """The actor's head rolls 12 degrees: the output head rolls with it (re-tracked), and the
    target's background outside the old and the moved head is unchanged (< 2/255)."""
    from reenact.pipeline.target import prepare_target

    config = _config("head.motion=rotate")
    target = prepare_target(str(portraits_dir / "lp_s42.jpg"), config)
    actor = decode_rgb(clips_dir / "lp_d2.mp4")[0]
    r = _reenactor(target, config)
    for i in range(10):
        r.process(actor, i / 30, None)
    before = _roll(_retrack(r.process(actor, 10 / 30, None).output.copy()))
    for i in range(11, 40):
        output = r.process(_rolled(actor, 12.0), i / 30, None).output.copy()
    turned = _roll(_retrack(output)) - before
    assert 9.0 < turned < 15.0, turned
    region = r.motion._regions[0][1]
    matrix = region.matrix_for(r.motion.head.last, about="chin")
    x0, y0, x1, y1 = region.box
    head = np.zeros(output.shape[:2], np.float32)
    head[y0:y1, x0:x1] = region.alpha
    moved = cv2.warpAffine(head, matrix, head.shape[::-1])
    near = cv2.dilate(((head > 0.01) | (moved > 0.01)).astype(np.uint8), np.ones((9, 9)))
    background = near == 0
    assert background.mean() > 0.2
    diff = np.abs(output.astype(np.int16) - target.frame.astype(np.int16))[background]
    assert diff.mean() < 2.0, diff.mean()


def test_the_head_never_jumps(clips_dir: Path, portraits_dir: Path):
    """On a clip where the head nods and turns (hdtf_aoc), the largest frame-to-frame change of
    the output's head angles (re-tracked) is at most the actor's plus 1 degree."""
    from reenact.config.schema import TrackerConfig
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.target import prepare_target

    config = _config("head.motion=full")
    target = prepare_target(str(portraits_dir / "lp_drv_d19.jpg"), config)
    r = _reenactor(target, config)
    actor, output = [], []
    with (
        FaceTracker(TrackerConfig(), static=False) as video,
        FaceTracker(TrackerConfig(), static=True) as still,
    ):
        for i, image in enumerate(decode_rgb(clips_dir / "hdtf_aoc.mp4")[:40]):
            out = r.process(image, i / 25, None).output
            if i >= 10:
                actor.append(video.track_one(image))
                output.append(still.track_one(out))
    assert all(a is not None for a in actor + output)

    def angles(series):
        ref = np.median(np.stack(series[:5]), axis=0)
        return np.array([[*head_angles(ref, lm)[:2], _roll(lm)] for lm in series])

    step_actor = np.abs(np.diff(angles(actor), axis=0)).max()
    step_output = np.abs(np.diff(angles(output), axis=0)).max()
    assert step_output <= step_actor + 1.0, (step_output, step_actor)


def test_switching_head_motion_live_eases_the_head(clips_dir: Path, portraits_dir: Path):
    """styletalk_feifeili_clip1 turns about 7 degrees from her neutral by frame 60; there head
    motion is switched full -> off as the `m` key does. Before, the whole head went back in one
    frame (the frame changed by 20.2 grey levels on average, then by 0.1-0.4 a frame); now that
    change is spread over SWITCH_S: no frame-to-frame change is more than 0.4 of the whole."""
    from reenact.pipeline.target import prepare_target

    config = _config("head.motion=full")
    target = prepare_target(str(portraits_dir / "sadtalker_people_0.png"), config)
    r = _reenactor(target, config)
    outputs = {}
    try:
        for i, image in enumerate(decode_rgb(clips_dir / "styletalk_feifeili_clip1.mp4")[:80]):
            if i == 60:
                r.motion.set_mode("off")
            outputs[i] = r.process(image, i / 25, None).output.astype(np.float32)
    finally:
        r.close()
    whole = float(np.abs(outputs[79] - outputs[59]).mean())
    steps = [float(np.abs(outputs[i + 1] - outputs[i]).mean()) for i in range(59, 79)]
    assert whole > 8.0, whole  # the switch moves the head a long way
    assert max(steps) < 0.4 * whole, (whole, [round(x, 2) for x in steps])
    assert r.motion.head.last == r.motion.head.last.__class__()  # and ends still


def test_an_unmoved_head_leaves_the_frame_as_it_was(portrait_target):
    """The head layer over the clean plate rebuilds the frame exactly when nothing moves (soft
    hair edges included), and a roll changes the head but not the far background."""
    from reenact.pipeline.head_motion import HeadPose
    from reenact.pipeline.head_region import HeadRegion

    t = portrait_target
    region = HeadRegion(t.frame, t.alignment, t.landmarks_crop)
    same = region.move(t.frame, np.eye(2, 3)).copy()
    assert np.abs(same.astype(np.int16) - t.frame).max() <= 1
    rolled = region.move(t.frame, region.matrix_for(HeadPose(roll=10.0))).copy()
    x0, y0, x1, y1 = region.box
    changed = np.abs(rolled.astype(np.int16) - t.frame).max(axis=2) > 10
    assert changed[y0:y1, x0:x1].mean() > 0.05
    outside = np.ones(changed.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert not changed[outside].any()


def test_head_roll_follows_the_actors_3d_roll(clips_dir: Path):
    """On pcavs_00010 the actor rolls while turning and nodding: the head motion's roll follows
    the actor's 3-D roll (the mesh's own rotation, `reenact_lab.metrics.head`) with r > 0.8 over
    ROLL_FRAMES frames (measured: 0.97; the eye line's 2-D angle alone gave 0.27)."""
    from reenact.config.schema import TrackerConfig
    from reenact.landmarks.align import compute_alignment
    from reenact.landmarks.neutral import NeutralCalibrator
    from reenact.landmarks.tracker import FaceTracker
    from reenact_lab.metrics.head import head_angles as mesh_angles
    from reenact_lab.metrics.series import pearson_r
    from reenact.pipeline.head_motion import HeadMotion

    frames = decode_rgb(clips_dir / "pcavs_00010.mp4")[:ROLL_FRAMES]
    with FaceTracker(TrackerConfig(), static=False) as tracker:
        image_landmarks = [tracker.track_one(image) for image in frames]
    assert all(lm is not None for lm in image_landmarks)
    alignments = [compute_alignment(lm, SIZE) for lm in image_landmarks]
    crops = [a.landmarks_to_crop(lm) for a, lm in zip(alignments, image_landmarks)]
    calibrator = NeutralCalibrator(frames=10)
    motion = HeadMotion("full", reference_frames=10)
    for crop, alignment in zip(crops[:10], alignments[:10]):
        calibrator.add(crop)
        motion.add_reference(alignment)
    rolls = [
        motion.observe(crop, calibrator.neutral, alignment, i / 25, crop)[1].roll
        for i, (crop, alignment) in enumerate(zip(crops, alignments))
    ]
    actor = mesh_angles(np.stack(image_landmarks))[:, 0]
    assert np.std(actor) > 1.0  # the actor does roll (by more than the eval counts as still)
    assert pearson_r(actor, np.array(rolls), min_actor_std=1.0) > 0.8


def _generators(path: str, part: str = "eyes"):
    """(`part`, eyes or mouth, from the warp; the network's own): ONNX Runtime, or the device
    frame renderer (the CUDA path's code, eager on the CPU)."""
    from reenact.render import build_renderer

    if path == "onnx":
        return tuple(
            build_renderer(
                _config(
                    "renderer.kind=generator", "renderer.backend=onnx", f"renderer.{part}={kind}"
                )
            )
            for kind in ("warp", "network")
        )
    from reenact.engine.shipped import shipped_weights
    from reenact.render.generator import load_generator
    from reenact.render.generator_cuda import DeviceFrameRenderer

    model, meta = load_generator(shipped_weights("generator", SIZE), size=SIZE)
    return tuple(
        DeviceFrameRenderer(
            model=model, meta=meta, weights=None, device="cpu", **{f"{part}_from_warp": kept}
        )
        for kept in (True, False)
    )


@pytest.mark.parametrize("path", ["onnx", "torch"])
def test_the_generator_keeps_the_warps_eyes(portrait_target, path):
    """With `renderer.eyes: warp` (the default) the generator's output around the eyes is the
    warp's render (gaze and lids exactly as its painters draw them) and elsewhere the network's
    own; with `network` the eyes are the network's, which differ from the warp's."""
    from reenact.landmarks.regions import REGIONS
    from reenact.render import build_renderer

    neutral = portrait_target.landmarks_crop
    looking = look(neutral, 0.15, 0.05)
    kept, own = _generators(path)
    warp = build_renderer(_config())
    for r in (kept, own, warp):
        r.set_target(portrait_target.crop, neutral)
    out_kept, out_own = kept.render(looking).copy(), own.render(looking).copy()
    out_warp = warp.render(looking).copy()

    def box(points, pad=0):
        x0, y0 = np.floor(points[:, :2].min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(points[:, :2].max(axis=0)).astype(int) + pad
        return slice(y0, y1), slice(x0, x1)

    def mad(a, b, where):
        return float(np.abs(a[where].astype(np.int16) - b[where].astype(np.int16)).mean())

    for eye in ("left_eye", "right_eye"):
        core = box(looking[REGIONS[eye]])
        assert mad(out_kept, out_warp, core) < 0.75, eye  # the warp's eye, to rounding
        assert mad(out_own, out_warp, core) > 2.0, eye  # the network's own eye differs
    mouth = box(looking[REGIONS["lips_outer"]], pad=4)
    assert mad(out_kept, out_own, mouth) == 0.0  # the rest is the network's, untouched


@pytest.mark.parametrize("path", ["onnx", "torch"])
def test_the_generator_keeps_the_warps_open_mouth(portrait_target, path):
    """With `renderer.mouth: warp` (the default) an opened mouth shows the cavity and teeth the
    warp's mouth filler paints, not the network's translucent wash of them; the lips and the rest
    of the face stay the network's; with `network` the inside is the network's own, which
    differs. A closed mouth (no cavity painted) is the network's either way."""
    from reenact.landmarks.scripted import mouth_open
    from reenact.render import build_renderer

    neutral = portrait_target.landmarks_crop
    opened = neutral + mouth_open(neutral, 0.35)
    kept, own = _generators(path, "mouth")
    warp = build_renderer(_config())
    for r in (kept, own, warp):
        r.set_target(portrait_target.crop, neutral)
    out_kept, out_own = kept.render(opened).copy(), own.render(opened).copy()
    out_warp = warp.render(opened).copy()
    (x0, y0, x1, y1), _cavity, alpha = warp.kept_layers[0]
    inside = np.zeros(out_warp.shape[:2], bool)
    inside[y0:y1, x0:x1] = alpha > 0.99
    assert inside.sum() > 200  # the cavity is painted: the check looks at an open mouth

    def mad(a, b, where):
        return float(np.abs(a[where].astype(np.int16) - b[where].astype(np.int16)).mean())

    assert mad(out_kept, out_warp, inside) < 0.75  # the warp's cavity, to rounding
    assert mad(out_own, out_warp, inside) > 2.0  # the network's own differs
    outside = np.ones_like(inside)
    outside[max(y0 - 2, 0) : y1 + 2, max(x0 - 2, 0) : x1 + 2] = False
    assert mad(out_kept, out_own, outside) == 0.0  # the rest is the network's, untouched
    closed_kept, closed_own = kept.render(neutral).copy(), own.render(neutral).copy()
    warp.render(neutral)
    assert not warp.kept_layers  # a closed mouth: no cavity painted
    np.testing.assert_array_equal(closed_kept, closed_own)


@pytest.mark.parametrize("gains, low, high", [((1.6, 1.3), 0.85, 1.25), ((1.0, 1.0), 0.4, 0.75)])
def test_a_nod_is_seen_at_its_own_angle(portrait_target, gains, low, high):
    """An actor's rigid nod of +-5 and +-10 degrees, through HeadMotion onto the target's mesh and
    the warp, re-tracked: with head.pitch_gain 1.6 the output is seen nodding by about the
    actor's angle; with the default 1 by well under it (a 2-D turn of the face shows only part of
    the angle it is given)."""
    from reenact.landmarks.head_pose import RIGID_POINTS, rotate_mesh, rotation_matrix
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.head_motion import HeadMotion
    from reenact.render import build_renderer

    neutral = portrait_target.landmarks_crop.astype(np.float64)
    centre = neutral[RIGID_POINTS, :3].mean(axis=0)
    warp = build_renderer(_config())
    warp.set_target(portrait_target.crop, neutral)
    motion = HeadMotion("rotate", pitch_gain=gains[0], yaw_gain=gains[1])
    asked, seen = [], []
    with FaceTracker(_config().tracker, static=True) as tracker:
        base = tracker.track_one(portrait_target.crop)
        for angle in (-10.0, -5.0, 5.0, 10.0):
            actor = rotate_mesh(neutral, rotation_matrix(angle, 0.0, 0.0), centre)
            motion.reset()
            _, pose = motion.observe(
                actor.astype(np.float32), neutral.astype(np.float32), None, 0.0
            )
            found = tracker.track_one(warp.render(pose.turn(neutral, centre).astype(np.float32)))
            asked.append(head_angles(neutral, actor)[0])
            seen.append(head_angles(base, found)[0])
    slope = float(np.polyfit(asked, seen, 1)[0])
    assert low <= slope <= high, (slope, asked, seen)


def _asked_gaze(clips_dir: Path, clip: str, frames: range, target) -> np.ndarray:
    """(len(frames), 2) the gaze change the pipeline asks of the target's eyes (the fused
    landmarks' irises against the target's neutral, mean of the eyes, eye widths) while the
    real clip drives it live (real tracker, calibration, smoothing)."""
    config = _config()
    r = _reenactor(target, config)
    base = gaze(target.landmarks_crop)
    asked = []
    for index, image in enumerate(decode_rgb(clips_dir / f"{clip}.mp4")[: frames.stop]):
        fused = r.process(image, index / 25.0, None).fused
        if index in frames:
            assert fused is not None, f"{clip}: no face in frame {index}"
            asked.append((gaze(np.asarray(fused)) - base).mean(axis=0))
    return np.array(asked)


def test_one_misread_eye_does_not_roll_the_targets_eyes(clips_dir: Path, portrait_target):
    """pcavs_00002, frames 64-100: a head turned three-quarters, both eyes level in the picture;
    the tracker reads the far eye 0.12-0.2 eye widths up and the near one level. Their mean
    rolled the target's eyes up (0.09-0.15 asked); now the target looks level. lp_d14's glances
    to either side (both eyes agree) are carried whole: the guard does not damp a real look.
    (A rendered gaze following what is asked: test_a_gaze_shift_moves_the_rendered_iris.)"""
    turned = _asked_gaze(clips_dir, "pcavs_00002", range(64, 101, 4), portrait_target)
    assert np.median(np.abs(turned[:, 1])) < 0.04, turned[:, 1]
    assert np.abs(turned[:, 1]).max() < 0.08, turned[:, 1]
    glance = _asked_gaze(clips_dir, "lp_d14", range(56, 93, 4), portrait_target)
    assert (glance[:3, 0] < -0.15).all() and (glance[-4:, 0] > 0.15).all(), glance[:, 0]


def _drawn_sequence(target, moves):
    """Each of `moves` ((pitch degrees, jaw amount), ...) drawn on the target with the warp (no
    head motion but the pitch asked) and re-tracked: a list of (478,3) landmarks."""
    from reenact.pipeline.head_motion import HeadPose, turn_centre
    from reenact.render.warp import WarpRenderer
    from reenact_lab.eval.move_sweep import moved

    lm = target.landmarks_crop
    warp = WarpRenderer(size=SIZE)
    warp.set_target(target.crop, lm)
    centre = turn_centre(lm)
    return [
        _retrack(
            np.ascontiguousarray(
                warp.render(HeadPose(pitch=pitch).turn(moved(lm, "jaw", jaw), centre))
            )
        )
        for pitch, jaw in moves
    ]


def _commanded_pitch(drawn, which, decouple: bool) -> np.ndarray:
    """The head motion's pitch for the drawings `drawn[which[i]]` at 30 fps, against drawn[0]."""
    from reenact.pipeline.head_motion import HeadMotion

    head = HeadMotion("rotate", jaw_decouple=decouple)
    return np.array(
        [head.observe(drawn[i], drawn[0], None, n / 30.0)[1].pitch for n, i in enumerate(which)]
    )


def test_an_opening_jaw_does_not_nod_the_head(portrait_target):
    """The face mesh reads an opening jaw as the head tilting back. The portrait drawn with its
    jaw opening and closing 1.3 times a second, and no head motion at all, re-tracked: the loop
    nodded with it (pitch std over the last 4 s 0.94 degrees when written), and with the jaw's
    share learnt it keeps still (0.15)."""
    drawn = _drawn_sequence(portrait_target, [(0.0, a) for a in np.linspace(0.0, 0.3, 7)])
    t = np.arange(300) / 30.0
    which = np.round(3 * (1 - np.cos(2 * np.pi * 1.3 * t))).astype(int)
    before = _commanded_pitch(drawn, which, decouple=False)[-120:].std()
    after = _commanded_pitch(drawn, which, decouple=True)[-120:].std()
    assert before > 0.5
    assert after < 0.4 * before


def test_a_real_nod_keeps_its_size_with_the_jaw_taken_out(portrait_target):
    """A drawn nod of +-6 degrees with the lips still: learning the jaw's share leaves it as
    big as it was (the 2-D turn is seen at about 0.6 of its angle either way)."""
    pitches = np.linspace(-6.0, 6.0, 5)
    drawn = _drawn_sequence(portrait_target, [(0.0, 0.0), *[(p, 0.0) for p in pitches]])
    t = np.arange(300) / 30.0
    which = 1 + np.round(2 + 2 * np.sin(2 * np.pi * 0.4 * t)).astype(int)
    asked = pitches[which - 1][-150:]
    gains = [
        np.polyfit(asked, _commanded_pitch(drawn, which, d)[-150:], 1)[0] for d in (False, True)
    ]
    assert gains[0] > 0.4
    assert gains[1] == pytest.approx(gains[0], rel=0.1)
