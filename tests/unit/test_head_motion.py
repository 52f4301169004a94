"""Head pose from the mesh, and the bounded, smoothed head motion built on it (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.landmarks.head_pose import (
    RIGID_POINTS,
    RigidReference,
    euler_deg,
    eye_openness,
    gaze,
    gaze_and_openness,
    rotate_mesh,
    rotation_matrix,
    undo_pose,
)
from reenact.pipeline.head_motion import HeadMotion, HeadPose, JawPitch, check_mode, soft_limit
from reenact.errors import ConfigError
from reenact_lab.metrics.landmarks import head_angles, rigid_fit


@pytest.fixture(scope="module")
def face():
    """A real face: the built-in target's aligned landmarks (478,3), tracked by MediaPipe."""
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config()).landmarks_crop.astype(np.float64)


def test_euler_round_trip():
    for angles in [(10.0, -15.0, 5.0), (-20.0, 30.0, -12.0), (0.0, 0.0, 0.0)]:
        assert euler_deg(rotation_matrix(*angles)) == pytest.approx(angles, abs=1e-6)


def test_rigid_fit_recovers_a_turn_of_a_real_mesh(face):
    centre = face.mean(axis=0)
    turned = rotate_mesh(face, rotation_matrix(8.0, -12.0, 3.0), centre)
    assert head_angles(face, turned) == pytest.approx((8.0, -12.0, 3.0), abs=0.05)
    s, r, t = rigid_fit(face, face * 1.1 + 5.0)
    assert s == pytest.approx(1.1, abs=1e-4) and np.allclose(r, np.eye(3), atol=1e-6)


def test_gaze_and_openness_follow_the_points(face):
    moved = face.copy()
    moved[468:473, 0] += 3.0  # the image-left eye's iris, 3 px to the image right
    change = gaze(moved) - gaze(face)
    assert change[0, 0] > 0.05 and abs(change[1, 0]) < 1e-9
    shut = face.copy()
    for ring in ((159, 145), (386, 374)):
        shut[list(ring), 1] = face[list(ring), 1].mean()
    assert eye_openness(shut).max() < eye_openness(face).min()


def _umeyama(reference: np.ndarray, current: np.ndarray):
    """`rigid_fit` as written before its reference side was kept (whole meshes to float64)."""
    a = np.asarray(reference, np.float64)[RIGID_POINTS, :3]
    b = np.asarray(current, np.float64)[RIGID_POINTS, :3]
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - ca, b - cb
    u, sig, vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    fix = np.diag([1.0] * (a.shape[1] - 1) + [d])
    rotation = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / max((a0 * a0).sum(), 1e-12))
    return scale, rotation, cb - scale * rotation @ ca


def test_a_kept_reference_fits_bit_for_bit(face):
    """One neutral fitted to every frame (`RigidReference`) gives what a fit from scratch
    gives, to the bit, in 3-D and in the image plane, for float32 and float64 meshes."""
    neutral = face.astype(np.float32)
    turned = rotate_mesh(face, rotation_matrix(6.0, -9.0, 2.0), face.mean(axis=0)) * 1.05 + 3.0
    for ref, cur in (
        (neutral, turned),
        (face, turned.astype(np.float64)),
        (face[:, :2], turned[:, :2]),
    ):
        kept = RigidReference(ref)
        for got, want in zip(kept.fit(cur), _umeyama(ref, cur)):
            assert np.array_equal(got, want)
        assert all(np.array_equal(x, y) for x, y in zip(rigid_fit(ref, cur), _umeyama(ref, cur)))
    s, r, t = _umeyama(neutral, turned)
    undone, fit = undo_pose(turned, neutral)
    assert np.array_equal(undone, ((np.asarray(turned, np.float64) - t) @ r) / s)
    assert np.array_equal(RigidReference(neutral).undo(turned)[0], undone)


def test_gaze_and_openness_together_are_each_alone(face):
    moved = face.copy()
    moved[468:473, 0] += 2.5
    moved[[159, 386], 1] += 1.5
    for lm in (face, moved, moved.astype(np.float32)):
        place, opening = gaze_and_openness(lm)
        assert np.array_equal(place, gaze(lm)) and np.array_equal(opening, eye_openness(lm))


def test_soft_limit_is_linear_then_bounded():
    assert soft_limit(5.0, 20.0) == 5.0
    assert soft_limit(-13.9, 20.0) == -13.9
    values = [soft_limit(v, 20.0) for v in np.linspace(0, 200, 401)]
    assert max(values) <= 20.0 and soft_limit(30.0, 20.0) < 20.0 and np.all(np.diff(values) >= 0)


def test_bad_mode_names_the_key():
    with pytest.raises(ConfigError, match="head.motion"):
        check_mode("sideways")


def test_off_keeps_the_head_still_and_the_turn_out_of_the_expression(face):
    """Mode off: the actor turned 12 degrees and nodding 8 gives a still pose, and the expression
    handed to fusion is the neutral again (were the turn passed on, the fusion would turn the
    target's inner face within its still outline)."""
    motion = HeadMotion("off")
    turned = rotate_mesh(face, rotation_matrix(8.0, 12.0, 0.0), face.mean(axis=0))
    out, pose = motion.observe(turned, face, None, 0.0)
    assert pose == HeadPose()
    assert np.abs(out - face).max() < 0.05 * np.ptp(face[:, 0]), np.abs(out - face).max()
    assert np.abs(turned - face).max() > 0.1 * np.ptp(face[:, 0])  # the turn was there to undo


def test_head_turn_is_bounded_smooth_and_undone_from_the_expression(face):
    """The actor turns 0 -> 40 degrees: the output turn never passes the limit, never steps
    more than the actor plus half a degree, and the expression handed to fusion is the neutral again."""
    motion = HeadMotion("rotate", max_turn_deg=18.0, reference_frames=1)
    centre = face.mean(axis=0)
    yaws = []
    actor = np.concatenate([np.zeros(5), np.linspace(0, 40, 30), np.full(10, 40.0)])
    for i, yaw in enumerate(actor):
        turned = rotate_mesh(face, rotation_matrix(0.0, yaw, 0.0), centre)
        expression, pose = motion.observe(turned, face, None, i / 30)
        assert np.abs(expression - face).max() < 0.05
        yaws.append(pose.yaw)
    steps = np.abs(np.diff(yaws))
    assert max(yaws) < 18.0 and yaws[-1] > 15.0
    assert steps.max() <= np.abs(np.diff(actor)).max() + 0.5 + 1e-6


def _switched(face, modes: tuple[str, str], at: int, frames: int = 40, fps: float = 30.0):
    """The actor holds a turn of 12 degrees and a nod of 6 (the built-in face's real mesh) from
    the first frame; the mode is `modes[0]`, switched live to `modes[1]` before frame `at`
    (as the `m` key does, `MotionStage.set_mode`). The output yaw per frame."""
    from reenact.config import load_config
    from reenact.pipeline.motion import MotionStage

    config = load_config(None, [f"head.motion={modes[0]}", "calibration.neutral_frames=1"])
    stage = MotionStage(config)
    turned = rotate_mesh(face, rotation_matrix(6.0, 12.0, 0.0), face.mean(axis=0))
    yaws = []
    for i in range(frames):
        if i == at:
            stage.set_mode(modes[1])
        yaws.append(stage.head.observe(turned, face, None, i / fps)[1].yaw)
    return np.array(yaws)


def test_a_live_mode_switch_eases_the_head_instead_of_snapping(face):
    """Switched off -> rotate the head used to jump to the actor's 12 degree turn in one frame,
    and back to 0 in one frame switched rotate -> off; now it eases there over SWITCH_S (0.4 s,
    12 frames at 30 fps), each step well under the whole move, and then holds the new mode's
    pose exactly."""
    from reenact.pipeline.head_motion import SWITCH_S

    for modes, start, end in ((("off", "rotate"), 0.0, None), (("rotate", "off"), None, 0.0)):
        yaws = _switched(face, modes, at=20)
        before = yaws[19]
        after = yaws[-1]
        if start is not None:
            assert before == start
        if end is not None:
            assert after == end
        move = abs(after - before)
        assert move > 8.0, (modes, before, after)  # the switch moves the head a long way
        steps = np.abs(np.diff(yaws[19:]))
        assert steps.max() < 0.25 * move, (modes, steps.round(2))  # no snap
        ease = int(np.ceil(SWITCH_S * 30))
        assert abs(yaws[20 + ease] - after) < 1e-6  # done within SWITCH_S
        assert abs(yaws[20 + ease // 2] - (before + after) / 2) < 0.2 * move  # half way mid-ease


def test_pose_turns_the_fused_mesh_and_moves_the_frame(face):
    pose = HeadPose(pitch=0.0, yaw=10.0, roll=12.0, shift=(0.1, 0.0), scale=1.0)
    centre = face.mean(axis=0)
    assert head_angles(face, pose.turn(face, centre))[1] == pytest.approx(10.0, abs=0.05)
    m = pose.frame_matrix(np.array([100.0, 100.0]), iod=50.0)
    assert m @ np.array([100.0, 100.0, 1.0]) == pytest.approx([105.0, 100.0])
    assert np.degrees(np.arctan2(m[1, 0], m[0, 0])) == pytest.approx(12.0)


def test_the_eyes_move_is_in_image_axes_and_inter_ocular_distances():
    """A face moved in its crop: `eyes_moved` is the eye midpoint's move in the image, over the
    face's inter-ocular distance in the image (the units of HeadPose.shift)."""
    from reenact.config import load_config
    from reenact.landmarks.align import eye_centres
    from reenact.pipeline.head_motion import eyes_moved
    from reenact.pipeline.target import prepare_target

    target = prepare_target("", load_config())
    before = target.landmarks_crop.astype(np.float64)
    after = before.copy()
    after[:, :2] += [9.0, -4.0]
    image = [
        eye_centres(target.alignment.landmarks_to_image(lm)).mean(axis=0) for lm in (before, after)
    ]
    iod = 0.25 * target.alignment.size / target.alignment.scale
    assert eyes_moved(before, after, target.alignment) == pytest.approx(
        (image[1] - image[0]) / iod, abs=1e-4
    )


def test_the_eyes_move_is_read_off_the_eye_centres_bit_for_bit(face):
    """`eyes_moved` reads the four eye corners itself: the same bits as through `eye_centres`
    (float32 centres, each mean an add then a halving), float32 and float64 meshes."""
    from reenact.landmarks.align import compute_alignment, eye_centres
    from reenact.pipeline.head_motion import eyes_moved

    alignment = compute_alignment(face * 2.0 + 40.0, 256)
    axes = alignment.inverse[:, :2] * alignment.scale
    rng = np.random.default_rng(3)
    for _ in range(200):
        before = face + rng.normal(0.0, 3.0, face.shape)
        after = before + rng.normal(0.0, 2.0, face.shape)
        for a, b in ((before, after), (before.astype(np.float32), after.astype(np.float32))):
            step = eye_centres(b).mean(axis=0) - eye_centres(a).mean(axis=0)
            assert np.array_equal(eyes_moved(a, b, alignment), axes @ step / (0.25 * 256))


def test_a_turn_swings_the_face_about_a_point_behind_it(face):
    """Turned 15 degrees about `turn_centre`, the nose moves further than the eyes and the
    outline beside the cheeks moves least (it meets hair that does not turn)."""
    from reenact.pipeline.head_motion import OUTLINE_SIDES, turn_centre

    turned = HeadPose(yaw=15.0).turn(face, turn_centre(face))
    moved = np.abs(turned[:, 0] - face[:, 0])
    nose, eyes, outline = (
        moved[[1, 4]].mean(),
        moved[[33, 133, 362, 263]].mean(),
        moved[OUTLINE_SIDES].mean(),
    )
    assert nose > eyes > outline, (nose, eyes, outline)
    assert outline < 0.5 * nose


def _talking(jaw_slope: float, seconds: float = 20.0, fps: float = 30.0):
    """(t, gap, nod, pitch): syllables opening the lips about 3 times a second (gap, IOD), slow
    real nods (degrees), and the tracked pitch: the nod plus `jaw_slope` times the gap, plus
    noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * fps)) / fps
    gap = np.clip(
        0.12 + 0.1 * np.sin(2 * np.pi * 3.1 * t) + 0.03 * rng.standard_normal(len(t)), 0.0, None
    )
    nod = 4.0 * np.sin(2 * np.pi * 0.25 * t)
    return t, gap, nod, nod + jaw_slope * gap + 0.1 * rng.standard_normal(len(t))


@pytest.mark.parametrize("jaw_slope", [-6.0, 5.0])
def test_the_jaws_share_of_the_pitch_is_learnt_and_taken_out(jaw_slope):
    """The tracker's nod on every syllable is learnt per actor, either way round, and taken out;
    the slow real nod stays."""
    t, gap, nod, pitch = _talking(jaw_slope)
    jaw = JawPitch()
    out = np.array([jaw.correct(p, g, s) for p, g, s in zip(pitch, gap, t)])
    assert jaw.slope == pytest.approx(jaw_slope, rel=0.2)
    last = slice(-300, None)
    before = np.std(pitch[last] - nod[last])
    after = np.std(out[last] - nod[last])
    assert after < 0.4 * before  # the rest is the tracked pitch's own noise (0.1)
    assert np.corrcoef(out[last], nod[last])[0, 1] > 0.99


def test_without_lip_movement_the_pitch_passes_and_a_reset_forgets():
    jaw = JawPitch()
    for i in range(300):  # lips still: no evidence, nothing taken out
        assert jaw.correct(3.0 * np.sin(i / 20), 0.05, i / 30) == pytest.approx(
            3.0 * np.sin(i / 20)
        )
    t, gap, _, pitch = _talking(-6.0, seconds=10.0)
    for p, g, s in zip(pitch, gap, t):
        jaw.correct(p, g, s)
    assert jaw.slope < -4.0
    jaw.reset()
    assert jaw.slope == 0.0


class _NumpyJaw:
    """`JawPitch.correct` as it was written in numpy (the reference for its Python floats)."""

    def __init__(self) -> None:
        self.gap_var = self.covariance = 0.0
        self.means = None
        self.last_t = 0.0

    def correct(self, pitch: float, gap: float, t_s: float) -> float:
        import math

        now = np.array([pitch, gap], np.float64)
        if not np.isfinite(now).all():
            return pitch
        if self.means is None:
            self.means, dt = now.copy(), 0.0
        else:
            dt = float(np.clip(np.nan_to_num(t_s - self.last_t), 0.0, 0.2))
            self.means += (1.0 - math.exp(-dt / 1.0)) * (now - self.means)
        self.last_t = t_s
        high_pitch, high_gap = now - self.means
        self.gap_var += high_gap * high_gap * dt
        self.covariance += high_gap * high_pitch * dt
        slope = float(np.clip(self.covariance / (self.gap_var + 0.013), -15.0, 15.0))
        return pitch - slope * gap


def test_the_jaw_in_python_floats_is_the_numpy_one_bit_for_bit():
    """Talking, with frames that repeat, go back in time, skip, or carry no number."""
    t, gap, _, pitch = _talking(-6.0, seconds=12.0)
    t = t.copy()
    t[50], t[51], t[120] = t[49], t[49] - 0.5, np.nan
    t[200:] += 3.0  # a long gap: the step is capped
    pitch[300], gap[301], t[302] = np.nan, np.inf, np.inf
    new, old = JawPitch(), _NumpyJaw()
    for p, g, s in zip(pitch.tolist(), gap.tolist(), t.tolist()):
        a, b = new.correct(p, g, s), old.correct(p, g, s)
        assert np.float64(a).tobytes() == np.float64(b).tobytes()
    assert new.slope == float(np.clip(old.covariance / (old.gap_var + 0.013), -15.0, 15.0))


def test_head_motion_takes_the_jaws_nod_out_only_when_asked(face):
    """The gap is the inner lips' (13, 14) change from the neutral's; jaw_decouple=False leaves
    the tracked pitch alone."""
    t, gap, _, pitch = _talking(-6.0, seconds=10.0)
    iod = float(np.linalg.norm(face[263, :2] - face[33, :2]))
    centre = face.mean(axis=0)
    poses = {}
    for decouple in (False, True):
        head = HeadMotion("rotate", jaw_decouple=decouple, max_turn_deg=30.0)
        for p, g, s in zip(pitch, gap, t):
            frame = rotate_mesh(face, rotation_matrix(p, 0.0, 0.0), centre)
            frame[14, 1] += g * iod  # the lower inner lip drops by the gap
            _, pose = head.observe(frame, face, None, s)
        poses[decouple] = pose.pitch, head.jaw
    assert poses[False][1] is None
    assert poses[True][1].slope < -3.0
