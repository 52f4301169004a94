"""The target's two eyes open and close together, but for a wink (eyes.linked), on real
clips through the live path: a tracker's one-eyed misreading no longer makes the target stare
and wink by turns, and a real wink still winks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import target_eye_shares


def test_a_misread_eye_no_longer_stares_and_winks_by_turns(clips_dir, portraits_dir):
    """sberswap_obama looks down at his notes through the calibration: MediaPipe reads his left
    eye at 0.012 eye widths (his right at 0.16), and every later glance up reads that eye at 2
    to 14 times its neutral. Each eye on its own, the target's two eyes differ by more than 0.4
    of their own gap in most frames (one staring, or one shut beside an open one); linked, in
    few."""
    drive = (clips_dir / "sberswap_obama.mp4", portraits_dir / "lp_s42.jpg", 200, 30.0)
    alone, frames = target_eye_shares(*drive, ["eyes.linked=false"])
    linked, later = target_eye_shares(*drive, ["eyes.linked=true"])
    assert np.array_equal(frames, later) and len(frames) > 150
    apart_alone = float(np.mean(np.abs(alone[:, 0] - alone[:, 1]) > 0.4))
    apart = float(np.mean(np.abs(linked[:, 0] - linked[:, 1]) > 0.4))
    print(
        f"eyes apart by > 0.4: each on its own {apart_alone:.3f}, linked {apart:.3f}; "
        f"wide (> 1.4): {np.mean(alone.max(axis=1) > 1.4):.3f} -> {np.mean(linked.max(axis=1) > 1.4):.3f}"
    )
    assert apart_alone > 0.4, apart_alone
    assert apart < 0.1, apart


def test_a_wink_still_winks(clips_dir, portraits_dir):
    """lp_d3 winks her right eye (image-left) for about a third of a second from frame 34:
    linked, the target's image-left eye shuts while the other stays open."""
    shares, frames = target_eye_shares(
        clips_dir / "lp_d3.mp4", portraits_dir / "lp_s9.jpg", 48, 30.0, []
    )
    wink = shares[(frames >= 38) & (frames <= 46)]
    assert len(wink) >= 7
    assert wink[:, 0].max() < 0.2 and wink[:, 1].min() > 0.7, wink.round(2)


def test_a_turned_head_reads_its_far_eye_wider(clips_dir):
    """What the near-eye rule rests on, on a real face: pcavs_00010 calibrates turned about 30
    degrees, face pointing image-left, and the tracker reads his far (image-left) eye's gap at
    about twice his near eye's; both are trusted."""
    from reenact.fusion.eyes import eye_trust
    from reenact.landmarks.head_pose import eye_openness
    from reenact.landmarks.tracker import head_yaw_deg
    from tests.helpers import aligned_actor

    _, neutral = aligned_actor(
        clips_dir / "pcavs_00010.mp4", frames=30, step=3, size=256, neutral_frames=10
    )
    yaw, gaps = head_yaw_deg(neutral), eye_openness(neutral)
    assert yaw < -20.0 and gaps[0] > 1.5 * gaps[1], (yaw, gaps)
    assert eye_trust(gaps, yaw) == pytest.approx([1.0, 1.0])
