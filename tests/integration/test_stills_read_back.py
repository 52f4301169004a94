"""`reenact eval --stills`'s expression read back on the real Yale stills and the real tracker:
it follows how much of the expression a renderer draws, and reads nothing in a picture that
does not change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.renderers import EvalRenderer, build_eval_renderers
from reenact_lab.eval.still_sets import AlignedStills, find_stills
from reenact_lab.eval.stills import score_subject
from reenact_lab.eval.stills_read import StillReader, creases_rows, read_summary
from reenact.landmarks.tracker import FaceTracker


class Damped:
    """The warp drawn only `share` of the way from the target's landmarks to the asked ones."""

    def __init__(self, warp, share: float):
        self.warp, self.share, self.neutral = warp, share, None

    def set_target(self, crop, landmarks):
        self.neutral = np.asarray(landmarks, np.float32)
        self.warp.set_target(crop, landmarks)

    def render(self, landmarks):
        asked = np.asarray(landmarks, np.float32)
        return self.warp.render(self.neutral + self.share * (asked - self.neutral))


@pytest.fixture(scope="module")
def read_back(media_dir: Path) -> dict:
    from reenact.render.warp import WarpRenderer

    config = load_config(None, ["compose.creases=1"])  # for the creases rows (off by default)
    base = {r.name: r for r in build_eval_renderers(config, [])}
    size = config.renderer.size
    renderers = [
        base["identity"],
        base["warp"],
        EvalRenderer("warp, half", "warp", Damped(WarpRenderer(size=size), 0.5)),
    ]
    read = {}
    sets = find_stills(media_dir / "expressions", ("14", "15"))
    aligned = AlignedStills(config)
    with FaceTracker(config.tracker, static=True) as tracker:
        reader = StillReader(tracker, config)
        for still in sets:
            read[still.subject] = score_subject(still, renderers, aligned, reader)[2].to_json()
        creases_rows(sets, renderers, aligned, reader, read)
        off, untouched = load_config(None, ["compose.creases=0"]), {}
        creases_rows(sets, renderers, AlignedStills(off), StillReader(tracker, off), untouched)
    assert untouched == {}  # compose.creases = 0: no rows, nothing read
    return read


def test_read_back_follows_the_drawn_amplitude(read_back: dict):
    summary = read_summary(read_back)
    full, half = summary["warp"]["read_gain"], summary["warp, half"]["read_gain"]
    # the warp draws the true geometry: it reads most of the real stills' expression, closely
    assert 0.6 < full < 1.2 and summary["warp"]["read_r"] > 0.8, summary["warp"]
    # half the geometry reads about half: the measure sees how much is drawn, not just a face
    assert 0.3 < half / full < 0.7, (half, full)
    # the unchanged target reads nothing; every expression still was read and drawn
    assert summary["identity"]["read_gain"] == 0.0
    assert summary["warp"]["points"] == 10
    # the row drawn as the live loop draws it: renderer.boost raises the warp's brows 1.4 x, and
    # they read higher than the plain drawing's (0.87 / 0.86 against 0.71 / 0.71 on 14 and 15 at
    # 1.25, before stop 83)
    boosted, plain = summary["warp + boost"]["features"], summary["warp"]["features"]
    for brow in ("brow_left", "brow_right"):
        assert boosted[brow]["gain"] > plain[brow]["gain"] + 0.05, (brow, boosted, plain)
    assert "identity + boost" not in summary


def test_read_back_readings_are_per_condition(read_back: dict):
    subject = read_back["15"]
    assert set(subject["truth"]) == {"happy", "sad", "sleepy", "surprised", "wink"}
    # Yale 15 gapes when surprised: the real still's mouth reads wide open, the warp's too
    assert subject["truth"]["surprised"][0] > 0.3
    assert subject["drawn"]["warp"]["surprised"][0] > 0.5 * subject["truth"]["surprised"][0]
    assert subject["drawn"]["identity"]["surprised"] == pytest.approx([0.0] * 6, abs=1e-6)


BROWS = [300, 293, 334, 296, 336, 70, 63, 105, 66, 107]  # the brow features' upper lines


def brow_remap_error(media_dir: Path, subjects=("14", "15")) -> tuple[float, float]:
    """(mean px, mean share of the move missed): where the warp's remap samples each asked brow
    landmark's output pixel from, against the target's own brow landmark, over every expression
    still of `subjects` driving its neutral still."""
    import cv2

    from reenact_lab.eval.still_sets import aligned_still
    from reenact.render.warp import WarpRenderer

    config = load_config(None, [])
    errors, missed = [], []
    for still in find_stills(media_dir / "expressions", subjects):
        crop, neutral = aligned_still(still.neutral, config)
        warp = WarpRenderer(size=config.renderer.size)
        warp.set_target(crop, neutral)
        for path in still.expressions.values():
            asked = warp.follow(aligned_still(path, config)[1])
            warp.backward_map(asked)
            points = asked[BROWS, :2].reshape(-1, 1, 2).astype(np.float32)
            source = np.stack(
                [
                    cv2.remap(warp._map[..., k], points[..., 0], points[..., 1], cv2.INTER_LINEAR)[
                        :, 0
                    ]
                    for k in (0, 1)
                ],
                1,
            )
            off, move = source - neutral[BROWS, :2], asked[BROWS, :2] - neutral[BROWS, :2]
            errors.append(np.linalg.norm(off, axis=1).mean())
            if (move * move).sum() > 1.0:  # brows that moved (a pixel or more in all)
                missed.append(float((off * move).sum() / (move * move).sum()))
    return float(np.mean(errors)), float(np.mean(missed))


def test_the_warp_draws_the_brows_where_they_are_asked(media_dir: Path):
    """What the read back's brow shortfall is not: the warp's picture moves the brows as far as
    the landmarks ask (so the drawing's brows reading about 0.7 of the real stills' is the
    reader's view of the drawing, not a brow left behind)."""
    error, missed = brow_remap_error(media_dir)
    assert error < 0.6 and missed < 0.15, (error, missed)


def test_the_creases_row_carries_the_other_subjects_folds(read_back: dict):
    """`+ boost + creases`: each subject drawn as the live loop draws it, with the other held-out
    subject's folds for the same expression; it differs from the boost-only drawing (the folds
    are there) and reads at least about as much of the real expression."""
    summary = read_summary(read_back)
    boosted, creased = summary["warp + boost"], summary["warp + boost + creases"]
    assert creased["points"] == 10
    assert creased["read_gain"] > boosted["read_gain"] - 0.03, (creased, boosted)
    subject = read_back["14"]["drawn"]
    assert any(
        subject["warp + boost + creases"][c] != subject["warp + boost"][c]
        for c in subject["warp + boost"]
    )
