"""The read-back summary of `reenact eval --stills` (reenact_lab.eval.stills_read.read_summary) and
the pooled feature slope under it (reenact_lab.metrics.expression.features_carried)."""

from __future__ import annotations

import math

import numpy as np

from reenact_lab.eval.stills_read import read_summary
from reenact_lab.metrics.expression import features_carried


def _subjects(scale: float, *, skip: str | None = None, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for subject in ("14", "15"):
        truth = {c: list(rng.normal(0.0, 0.2, 6)) for c in ("happy", "sad", "surprised")}
        drawn = {c: [scale * v for v in values] for c, values in truth.items()}
        if skip:
            drawn[skip] = [float("nan")] * 6  # a class-driven renderer with nothing for it
        out[subject] = {"truth": truth, "drawn": {"r": drawn}}
    return out


def test_a_drawing_at_a_share_of_the_truth_reads_that_share():
    for scale in (1.0, 0.5, 0.0):
        found = read_summary(_subjects(scale))["r"]
        assert math.isclose(found["read_gain"], scale, abs_tol=1e-9)
        assert found["points"] == 6
        assert set(found["features"]) == {
            "mouth_open",
            "mouth_width",
            "eye_left",
            "eye_right",
            "brow_left",
            "brow_right",
        }


def test_a_skipped_condition_leaves_its_points_out():
    found = read_summary(_subjects(0.7, skip="sad"))["r"]
    assert found["points"] == 4
    assert math.isclose(found["read_gain"], 0.7, abs_tol=1e-9)


def test_features_carried_pools_rows_and_leaves_out_what_does_not_move():
    rng = np.random.default_rng(1)
    truth = rng.normal(0.0, 0.2, (12, 6))
    truth[:, 4] = 0.001 * rng.normal(size=12)  # a brow that barely moves: not scored
    found = features_carried(truth, 0.8 * truth + 0.01)
    assert math.isclose(found["gain"], 0.8, abs_tol=1e-9)
    assert math.isnan(found["features"]["brow_left"]["gain"])
    assert math.isclose(features_carried(truth, -truth)["r"], -1.0, abs_tol=1e-9)
