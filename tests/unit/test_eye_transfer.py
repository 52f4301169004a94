"""The eye transfer after fusion: the openness curve's shape, the gaze gain, the lids that
follow the gaze (issue 16), and one eye's misreading not taken for a glance."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.fusion.eyes import (
    AGREE_WITHIN,
    CLOSED_BELOW,
    NEAR_FULL,
    TRUST_FROM,
    EyeTransfer,
    agreed_gaze,
    eye_trust,
    linked_openness,
    openness_curve,
)
from reenact.landmarks.head_pose import LOWER_LIDS, UPPER_LIDS, eye_openness, gaze
from tests.helpers import look


def typical_openness(transfer: EyeTransfer) -> np.ndarray:
    """(2,) the lid gaps (eye widths) the actor's openness is read against now: the typical open
    eye (reenact.fusion.eyes), the calibrated neutral's until it has one."""
    return transfer._typical.copy()


@pytest.fixture(scope="module")
def face():
    """A real face: the built-in target's aligned landmarks (478,3), tracked by MediaPipe."""
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config()).landmarks_crop.astype(np.float32)


def test_closed_stays_closed_and_a_blink_closes_fully():
    for ratio in (0.0, 0.1, 0.25, CLOSED_BELOW):
        assert openness_curve(ratio) == 0.0


def test_neutral_and_wide_open_are_unchanged():
    assert openness_curve(1.0) == pytest.approx(1.0)
    assert openness_curve(1.2, wide_gain=1.5) == pytest.approx(1.3)
    assert openness_curve(3.0, wide_gain=1.5, max_ratio=1.8) == pytest.approx(1.8)


def test_the_curve_is_monotonic_and_continuous():
    ratios = np.linspace(0.0, 2.0, 2001)
    values = np.array([openness_curve(float(r)) for r in ratios])
    assert np.all(np.diff(values) >= 0.0)
    assert np.abs(np.diff(values)).max() < 0.005  # no step anywhere (steepest: 0.8 / 0.3 per unit)


def _with_gap(face: np.ndarray, share: float, eyes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """`face` with every lid pair's gap of `eyes` at `share` of its own (the upper lids move)."""
    out = face.copy()
    for eye in eyes:
        gap = face[LOWER_LIDS[eye], 1] - face[UPPER_LIDS[eye], 1]
        out[UPPER_LIDS[eye], 1] = face[LOWER_LIDS[eye], 1] - share * gap
    return out


def _carried(transfer: EyeTransfer, face: np.ndarray, along: float, across: float) -> np.ndarray:
    """(2,) the iris offset the transfer puts on `face` (mean of the eyes, eye widths)."""
    transfer.reset()
    out = transfer.apply(face, look(face, along, across), face, face)
    return (gaze(out) - gaze(face)).mean(axis=0)


def test_gaze_gain_multiplies_the_offset_within_the_limit(face):
    plain = EyeTransfer(gaze_gain=1.0)
    strong = EyeTransfer(gaze_gain=1.5)
    assert _carried(plain, face, 0.08, -0.04) == pytest.approx([0.08, -0.04], abs=2e-3)
    assert _carried(strong, face, 0.08, -0.04) == pytest.approx([0.12, -0.06], abs=2e-3)
    assert _carried(strong, face, 0.3, 0.2) == pytest.approx(strong.gaze_limit, abs=2e-3)
    strong.gaze_gain = 0.0
    assert _carried(strong, face, 0.08, -0.04) == pytest.approx([0.0, 0.0], abs=1e-4)


def test_gaze_vertical_scales_only_the_up_and_down_part(face):
    """eyes.gaze_vertical: the vertical offset times it on top of the gain, the horizontal
    one untouched, still within the limit; 0 keeps the irises level."""
    taller = EyeTransfer(gaze_gain=1.0, gaze_vertical=1.5)
    assert _carried(taller, face, 0.08, -0.04) == pytest.approx([0.08, -0.06], abs=2e-3)
    assert _carried(taller, face, 0.0, 0.2)[1] == pytest.approx(taller.gaze_limit[1], abs=2e-3)
    taller.gaze_vertical = 0.0
    assert _carried(taller, face, 0.08, -0.04) == pytest.approx([0.08, 0.0], abs=2e-3)
    both = EyeTransfer(gaze_gain=1.5, gaze_vertical=1.2)
    assert _carried(both, face, 0.04, 0.04) == pytest.approx([0.06, 0.072], abs=2e-3)


@pytest.mark.parametrize(
    "along, across", [(0.0, 0.0), (0.15, 0.0), (-0.15, 0.0), (0.0, 0.1), (0.0, -0.1), (0.12, 0.08)]
)
def test_a_closed_eye_stays_closed_whatever_the_gaze(face, along, across):
    """The actor's lids at a quarter of their neutral gap while the irises look anywhere: the
    target's lids meet (the gaze gain does not open them)."""
    shut = _with_gap(look(face, along, across), 0.25)  # every lid pair at a quarter of its gap
    out = EyeTransfer(gaze_gain=1.5).apply(face, shut, face, face)
    assert eye_openness(out).max() < 1e-3
    following = EyeTransfer(gaze_gain=1.5, lid_follow=0.6).apply(face, shut, face, face)
    assert eye_openness(following).max() < 1e-3
    lids = np.concatenate(UPPER_LIDS + LOWER_LIDS)
    assert np.abs(following[lids] - out[lids]).max() < 1e-4  # shut lids stay where they shut


def _lid_middles(points: np.ndarray, eye: int) -> np.ndarray:
    """(2,) y of the middle point of the upper and the lower lid (the crop is level)."""
    return points[[UPPER_LIDS[eye][3], LOWER_LIDS[eye][3]], 1]


@pytest.mark.parametrize("across", [-0.08, 0.06])
def test_the_lids_follow_an_up_or_downlook(face, across):
    """eyes.lid_follow: both lids move with the iris by that share of its vertical move (the
    most in the lid's middle, nothing at the corners), so the gap, the openness, is unchanged;
    a sideways look moves no lid; 0 keeps them still."""
    follow = EyeTransfer(gaze_gain=1.0, gaze_vertical=1.0, lid_follow=0.6)
    still = EyeTransfer(gaze_gain=1.0, gaze_vertical=1.0, lid_follow=0.0)
    looked = look(face, 0.0, across)
    out = follow.apply(face, looked, face, face)
    base = still.apply(face, looked, face, face)
    for eye, (left, right) in enumerate(((33, 133), (362, 263))):
        width = float(np.hypot(*(face[right, :2] - face[left, :2])))
        moved = _lid_middles(out, eye) - _lid_middles(base, eye)
        assert moved == pytest.approx([0.6 * across * width] * 2, rel=0.1)
        assert np.abs(out[[left, right]] - base[[left, right]]).max() < 1e-4
    assert eye_openness(out) == pytest.approx(eye_openness(base), abs=1e-3)
    assert (gaze(out) - gaze(base)) == pytest.approx(np.zeros((2, 2)), abs=1e-4)
    assert (
        np.abs(
            base[np.concatenate(UPPER_LIDS + LOWER_LIDS)]
            - face[np.concatenate(UPPER_LIDS + LOWER_LIDS)]
        ).max()
        < 1e-3
    )
    sideways = follow.apply(face, look(face, 0.1, 0.0), face, face)
    lids = np.concatenate(UPPER_LIDS + LOWER_LIDS)
    assert np.abs(sideways[lids] - face[lids]).max() < 0.02  # px; an up/down look moves ~1 px


OPEN = np.ones(2)


@pytest.mark.parametrize("look", [(0.12, 0.0), (0.0, -0.1), (-0.15, 0.08)])
def test_eyes_that_agree_give_their_mean(look):
    """Both eyes move together (a glance), a little apart (vergence, noise): the mean, as before."""
    look = np.array(look)
    apart = 0.9 * AGREE_WITHIN * np.array([1.0, -1.0])
    change = np.stack([look + apart / 2, look - apart / 2])
    assert agreed_gaze(change, OPEN) == pytest.approx(look, abs=1e-9)
    assert agreed_gaze(np.stack([look, look]), np.array([1.0, 0.5])) == pytest.approx(look)


def test_one_eye_read_looking_up_does_not_roll_the_eyes():
    """The far eye of a turned head read 0.2 eye widths up, the near one level: not a look up."""
    seen = agreed_gaze(np.array([[0.05, -0.2], [0.04, 0.0]]), OPEN)
    assert seen[1] == pytest.approx(0.0)
    assert seen[0] == pytest.approx(0.045)  # the eyes agree along: their mean
    # pointing opposite ways, neither is believed; the same way, the smaller move is
    assert agreed_gaze(np.array([[0.0, -0.2], [0.0, 0.1]]), OPEN)[1] == 0.0
    assert agreed_gaze(np.array([[0.4, 0.0], [0.05, 0.0]]), OPEN)[0] == pytest.approx(0.05)


def test_a_wink_is_not_a_disagreement():
    """A closing eye's reading is left out of the mean, and out of the doubt: the open eye's
    look is carried whole."""
    change = np.array([[0.0, -0.15], [0.3, 0.2]])  # the shut eye's iris is dragged by its lid
    assert agreed_gaze(change, np.array([1.0, 0.0])) == pytest.approx([0.0, -0.15])


def test_doubt_grows_without_a_step():
    """From AGREE_WITHIN to twice it the answer slides from the mean to the smaller move."""
    gaps = np.linspace(0.0, 3.0 * AGREE_WITHIN[1], 601)
    across = np.array([agreed_gaze(np.array([[0.0, -g], [0.0, 0.0]]), OPEN)[1] for g in gaps])
    assert across[gaps <= AGREE_WITHIN[1]] == pytest.approx(-gaps[gaps <= AGREE_WITHIN[1]] / 2)
    assert np.all(across[gaps >= 2 * AGREE_WITHIN[1]] == 0.0)
    assert np.abs(np.diff(across)).max() < 0.01


def _target_share(
    transfer: EyeTransfer, actor: np.ndarray, neutral: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """(2,) the target's lid gaps after the transfer, over its own."""
    return eye_openness(transfer.apply(target, actor, neutral, target)) / eye_openness(target)


def test_a_neutral_calibrated_mid_squint_does_not_leave_the_target_staring(face):
    """The actor's neutral has their lids at half their ordinary gap (calibrated mid-laugh);
    they then look on with ordinary eyes (a little tracking noise) and blink now and then. Read
    against the calibrated neutral, every ordinary frame opens the target to the cap (1.8 x);
    against the typical open eye it settles at the target's own gap within a second or two."""
    squint = _with_gap(face, 0.5)
    rng = np.random.default_rng(0)
    frames = [
        _with_gap(face, 0.25 if i % 40 == 39 else 1.0 + rng.normal(0.0, 0.03)) for i in range(120)
    ]
    fixed, typical = EyeTransfer(adapt_frames=0), EyeTransfer(adapt_frames=300)
    fixed_share = [_target_share(fixed, f, squint, face) for f in frames]
    share = [_target_share(typical, f, squint, face) for f in frames]
    ordinary = [i for i in range(60, 120) if i % 40 != 39]
    assert min(fixed_share[i].min() for i in ordinary) > 1.6  # the stare, as it was
    assert max(abs(share[i] - 1.0).max() for i in ordinary) < 0.15
    np.testing.assert_allclose(typical_openness(typical), eye_openness(face), rtol=0.05)
    assert share[79].max() < 0.05  # a blink after the adaptation still shuts the target's eyes
    assert share[5].min() > 1.6  # before MIN_SEEN open frames: the neutral's gap, as before


def test_a_wide_look_still_widens_and_a_new_calibration_starts_again(face):
    rng = np.random.default_rng(1)
    transfer = EyeTransfer(adapt_frames=300)
    for _ in range(90):  # ordinary eyes, the neutral right
        transfer.apply(face, _with_gap(face, 1.0 + rng.normal(0.0, 0.03)), face, face)
    wide = _target_share(transfer, _with_gap(face, 1.3), face, face)
    assert wide.min() > 1.35  # 1 + wide_gain x 0.3 = 1.45, less the frame's own pull
    transfer.forget_open_eye()  # a recalibration: the typical open eye is the new neutral's
    squint = _with_gap(face, 0.5)
    assert _target_share(transfer, face, squint, face).min() > 1.7
    np.testing.assert_allclose(typical_openness(transfer), eye_openness(squint), rtol=1e-6)


def test_a_long_squint_does_not_become_the_open_eye(face):
    """Three seconds of narrowed eyes (a laugh) in a window of ordinary ones: the typical open
    eye stays the ordinary eye's, so the laugh still reads as narrowed."""
    rng = np.random.default_rng(2)
    transfer = EyeTransfer(adapt_frames=300)
    for i in range(300):
        share = 0.55 if 150 <= i < 240 else 1.0
        transfer.apply(face, _with_gap(face, share + rng.normal(0.0, 0.03)), face, face)
    np.testing.assert_allclose(typical_openness(transfer), eye_openness(face), rtol=0.06)


def test_a_right_neutral_is_kept_and_the_open_eye_is_held_once_taken(face):
    """An actor calibrated with their ordinary eyes is read against that neutral exactly (the
    typical open eye within KEEP_WITHIN of it changes nothing); a miscalibrated one's open eye is
    taken over the first adapt_frames frames and then held, as the neutral is: a later, lasting
    change of the actor's eyes is carried, not absorbed."""
    rng = np.random.default_rng(3)
    calm = EyeTransfer(adapt_frames=100)
    for _ in range(150):
        calm.apply(face, _with_gap(face, 1.0 + rng.normal(0.0, 0.03)), face, face)
    np.testing.assert_array_equal(typical_openness(calm), eye_openness(face))
    squint = _with_gap(face, 0.5)
    fixed = EyeTransfer(adapt_frames=100)
    for _ in range(100):
        fixed.apply(face, _with_gap(face, 1.0 + rng.normal(0.0, 0.03)), squint, face)
    taken = typical_openness(fixed)
    np.testing.assert_allclose(taken, eye_openness(face), rtol=0.05)
    for _ in range(100):  # the actor's eyes now stay wider: carried as wider
        wider = _target_share(fixed, _with_gap(face, 1.3), squint, face)
    np.testing.assert_array_equal(typical_openness(fixed), taken)
    assert wider.min() > 1.35


def test_linked_eyes_share_one_openness_weighted_by_trust():
    """Two trusted eyes a little apart read as their mean; an eye whose typical open gap is
    under TRUST_FROM of its twin's takes its twin's reading; a wink (one shut, one open, both
    trusted) keeps each eye's own."""
    even = np.array([0.2, 0.2])
    assert linked_openness(np.array([0.8, 1.0]), even) == pytest.approx([0.9, 0.9])
    squashed = np.array([0.2, (TRUST_FROM - 0.05) * 0.2])
    assert linked_openness(np.array([0.9, 3.0]), squashed) == pytest.approx([0.9, 0.9])
    assert linked_openness(np.array([0.05, 1.0]), even) == pytest.approx([0.05, 1.0])
    assert linked_openness(np.array([0.05, 1.0]), squashed) == pytest.approx([0.05, 0.05])


def test_a_misread_eye_does_not_stare_when_the_eyes_are_linked(face):
    """The actor's neutral has one eye read nearly shut (a look down, a side-on eye); later that
    eye reads 3 x its neutral while the other is as it was. Each eye on its own, the target's
    second eye opens by the misread lid rise (0.2 of the face's gap, times wide_gain: 1.3 x)
    beside a normal first eye; linked, both are normal."""
    neutral = _with_gap(face, 0.1, eyes=(1,))
    later = _with_gap(face, 0.3, eyes=(1,))
    own = eye_openness(face)
    alone = eye_openness(EyeTransfer(linked=False).apply(face, later, neutral, face)) / own
    linked = eye_openness(EyeTransfer(linked=True).apply(face, later, neutral, face)) / own
    assert alone[0] == pytest.approx(1.0, abs=0.02) and alone[1] > 1.25, alone
    assert linked == pytest.approx([1.0, 1.0], abs=0.02), linked


def test_the_near_eye_of_a_turned_head_is_trusted_whatever_its_gap():
    """Turned from the camera, the far eye's gap reads the larger (its width is foreshortened)
    while the near eye is the better seen: past NEAR_FULL degrees the near eye (image-right, 1,
    for a face pointing image-left, yaw < 0) is trusted in full; facing the camera, the same
    gaps leave the smaller eye out; the far eye gets no such pass."""
    far_wide = np.array([0.26, 0.10])
    assert eye_trust(far_wide, 0.0) == pytest.approx([1.0, 0.0])
    assert eye_trust(far_wide, -NEAR_FULL - 5.0) == pytest.approx([1.0, 1.0])
    assert eye_trust(far_wide, NEAR_FULL + 5.0) == pytest.approx([1.0, 0.0])
    assert eye_trust(far_wide[::-1], NEAR_FULL + 5.0) == pytest.approx([1.0, 1.0])
    assert linked_openness(np.array([1.2, 0.8]), far_wide, -30.0) == pytest.approx([1.0, 1.0])


def test_a_widening_is_carried_as_the_same_lid_rise_in_eye_widths(face):
    """An actor whose open eye is half as open as the target's raises the lids by a fifth of
    their gap: the target's lids rise by the same share of the eye's width (times wide_gain),
    a tenth of the target's gap times 1.5, not a fifth of it (which read a hooded or downcast
    actor's every small lift as a stare). From an actor twice as open, twice as much. A blink
    still closes the target's eye whatever the two gaps."""
    own = eye_openness(face)
    for actor_share, rise in ((0.5, 0.1), (1.0, 0.2), (2.0, 0.4)):
        neutral = _with_gap(face, actor_share)
        lifted = _with_gap(face, actor_share * 1.2)
        # the lift in the target's gaps, as eye_openness reads the two faces (about `rise`)
        read = (eye_openness(lifted) - eye_openness(neutral)) / own
        assert read == pytest.approx([rise, rise], abs=0.02)
        for linked in (False, True):
            out = EyeTransfer(linked=linked).apply(face, lifted, neutral, face)
            wanted = 1.0 + 1.5 * read.mean() if linked else 1.0 + 1.5 * read
            assert eye_openness(out) / own == pytest.approx(wanted, abs=0.025), (
                actor_share,
                linked,
            )
        shut = EyeTransfer().apply(face, _with_gap(face, actor_share * 0.2), neutral, face)
        assert (eye_openness(shut) / own).max() < 0.05
