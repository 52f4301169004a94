"""`fusion.target_neutral` through the live path: a target picture that wears an expression (Yale
15 surprised, a wide "O"; Yale 14's grin) shows the actor's resting face as a closed mouth, and
opens it again as the actor opens theirs; a yawn whose lip landmarks the warp cannot close
cleanly (lp_drv_d19) keeps its picture as neutral. Outputs are re-tracked by the real face mesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.landmarks.open_mouth import mouth_opening as mouth_open
from tests.helpers import aligned_actor, reenactor

SIZE = 256


def _config(*overrides: str):
    from reenact.config import load_config

    return load_config(None, ["fusion.kind=training_free", "renderer.kind=warp",
                              "smoothing.enabled=false", "stream.head_motion=off", *overrides])


def _actor(clips_dir: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """lp_d13's most closed and most open mouth of its first 60 frames, and its neutral."""
    frames, neutral = aligned_actor(clips_dir / "lp_d13.mp4", frames=60, step=1, size=SIZE,
                                    neutral_frames=10)
    openness = [mouth_open(f) for f in frames]
    rest, talk = int(np.argmin(openness)), int(np.argmax(openness))
    assert openness[talk] > openness[rest] + 0.15
    return [frames[rest], frames[talk]], neutral


def _reenactor(target_path: Path, config, neutral: np.ndarray):
    return reenactor(config, target_path, source_neutral=neutral)


def _opened(r, frames: list[np.ndarray]) -> list[float]:
    """The re-tracked output frames' mouth opening (inner-lip gap over mouth width)."""
    from reenact.config.schema import TrackerConfig
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.reenactor import Tracked

    opened = []
    with FaceTracker(TrackerConfig(), static=True) as tracker:
        for frame in frames:
            out = r.process(r.target.frame, 0.0, Tracked(frame)).output.copy()
            found = tracker.track_one(out)
            assert found is not None
            opened.append(mouth_open(found))
    return opened


def _output(target_path: Path, config, frames: list[np.ndarray], neutral: np.ndarray):
    """`_opened` through a new reenactor, and the target's expression_removed."""
    r = _reenactor(target_path, config, neutral)
    return _opened(r, frames), r.target.expression_removed


@pytest.mark.parametrize("still", ["15_surprised.png", "14_surprised.png"])
def test_an_open_mouthed_target_follows_the_actors_mouth(media_dir: Path, clips_dir: Path, still):
    chosen, neutral = _actor(clips_dir)
    path = media_dir / "expressions" / still
    estimated, removed = _output(path, _config(), chosen, neutral)
    picture, _ = _output(path, _config("fusion.target_neutral=picture"), chosen, neutral)
    assert removed > 0.02
    assert estimated[0] < 0.2, estimated  # at rest: the mouth is shut, as the actor's
    assert picture[0] > 0.35, picture  # the picture's own mouth as neutral: open all along
    assert estimated[1] > estimated[0] + 0.1, estimated  # and opens as the actor talks


def test_a_yawn_the_warp_cannot_close_keeps_its_picture(media_dir: Path, clips_dir: Path):
    """lp_drv_d19: a yawn wider than the face mesh draws. Tracked onto its real lower lip and
    chin (`reenact.landmarks.open_mouth`), it is further from any face the expression basis
    explains than a person's face should be (and, tracked plainly, its lower-lip points sit at
    the tongue's edge, where the warp would leave a torn dark mouth and the re-tracked check
    sees the mouth still open): the picture's landmarks stay the neutral, the same output as
    "picture"."""
    chosen, neutral = _actor(clips_dir)
    path = media_dir / "portraits" / "lp_drv_d19.jpg"
    estimated, removed = _output(path, _config(), chosen, neutral)
    picture, _ = _output(path, _config("fusion.target_neutral=picture"), chosen, neutral)
    assert removed == 0.0
    assert estimated == picture


def test_the_target_neutral_switches_live(media_dir: Path, clips_dir: Path):
    """Started with the picture as neutral, switched to the estimate and back through the live
    settings (the panel's control, POST /settings): the resting output's mouth closes, then
    opens again, without a restart."""
    from reenact.stream.live_settings import apply_setting, parse_settings

    chosen, neutral = _actor(clips_dir)
    r = _reenactor(media_dir / "expressions" / "15_surprised.png",
                   _config("fusion.target_neutral=picture"), neutral)
    assert not r.target.estimated  # nothing estimated up front when the picture is asked for
    rest = chosen[:1]
    assert _opened(r, rest)[0] > 0.35
    apply_setting(r, "fusion.target_neutral",
                  parse_settings({"fusion.target_neutral": "estimated"})["fusion.target_neutral"])
    assert r.target.estimated and r.target.expression_removed > 0.02
    assert _opened(r, rest)[0] < 0.2
    apply_setting(r, "fusion.target_neutral", "picture")
    assert _opened(r, rest)[0] > 0.35
    with pytest.raises(ValueError, match="fusion.target_neutral"):
        parse_settings({"fusion.target_neutral": "neutral"})
