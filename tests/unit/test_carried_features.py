"""The eval's per-pair, per-feature expression table (`reenact_lab.eval.carried_features`): it shows
each reading's slope where it is scored, n/a where it is not, and means that agree with the
summary's expression gain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reenact_lab.eval import carried_features
from reenact_lab.eval.move_sweep import MIN_ASKED, Reading, group_ratios
from reenact_lab.eval.report import markdown
from reenact.landmarks.expressiveness import FEATURES


def _detail(gains, reliability=0.95) -> dict:
    return {
        name: {"gain": g, "r": 0.9, "reliability": reliability} for name, g in zip(FEATURES, gains)
    }


def _pair(
    clip: str, fused, drawn, driver, reliability=0.95, portrait: str = "face"
) -> tuple[dict, dict]:
    cross = {
        "clip": clip,
        "portrait": portrait,
        "renderers": {"warp": {"carried_detail": {"expression": _detail(drawn)}}},
        "fused": {"expression_detail": _detail(fused, reliability)},
    }
    return cross, {"driver": {"expression_detail": _detail(driver)}}


@pytest.fixture
def report() -> dict:
    nan = float("nan")
    # pair a: the warp draws everything but the eyes at J_gen's size, the eyes at half;
    # pair b: the brows unreadable on the actor (left out of every row), the warp whole
    a = _pair("a", [1.0] * 6, [1.0, 1.0, 0.5, 0.5, 1.0, 1.0], [0.9] * 6)
    b = _pair(
        "b",
        [1.0, 1.0, 1.0, 1.0, nan, nan],
        [1.0, 1.0, 1.0, 1.0, nan, nan],
        [0.8, 0.8, 0.8, 0.8, nan, nan],
    )
    return {
        "cross_reenactment": {"a__face": a[0], "b__face": b[0]},
        "temporal": {"a__face": a[1], "b__face": b[1]},
    }


def test_rows_per_pair_show_each_reading(report):
    header, rows = carried_features.table(report)
    assert header[:3] == ["pair", "row", "gain"] and len(header) == 3 + len(FEATURES)
    by = {(r[0], r[1]): r for r in rows}
    warp_a = by[("a → face", "warp")]
    # the pair's gain: the mean over its features; the eyes drawn at half show as 0.50
    assert warp_a[2] == f"{np.mean([1, 1, 0.5, 0.5, 1, 1]):.3f}"
    assert warp_a[3 + FEATURES.index("eye_left")] == "0.50"
    assert by[("a → face", "J_gen")][3:] == ["1.00"] * 6
    assert by[("a → face", "driver re-tracked")][2] == "0.900"
    # a feature the actor's readings disagree on is n/a in every row of that pair
    for row in ("J_gen", "warp", "driver re-tracked"):
        assert by[("b → face", row)][3 + FEATURES.index("brow_left")] == "n/a"
    assert by[("b → face", "reliability")][2] == ""  # no gain for the reliability row


def test_means_agree_with_the_summary_and_skip_unscored_pairs(report):
    means = {
        name: (gain, values)
        for name, gain, values in carried_features.mean_rows(carried_features.pair_rows(report))
    }
    assert "reliability" not in means
    gain, values = means["warp"]
    # the summary's expression gain: the mean over pairs of each pair's gain
    assert gain == pytest.approx(np.mean([np.mean([1, 1, 0.5, 0.5, 1, 1]), 1.0]))
    # the left eye over both pairs; a brow only where a pair scores it
    assert values[FEATURES.index("eye_left")] == pytest.approx(0.75)
    assert values[FEATURES.index("brow_left")] == pytest.approx(1.0)
    assert means["driver re-tracked"][1][FEATURES.index("mouth_open")] == pytest.approx(0.85)


def test_each_portrait_has_its_own_means_where_there_are_two(report):
    """The summary's gain is a mean over every pair; a portrait that is drawn short on every
    clip (an open-mouthed picture) shows apart from one drawn whole."""
    _, rows = carried_features.table(report)  # one portrait: its means are the pairs' means
    assert not any(r[0].startswith("mean over pairs onto") for r in rows)
    c = _pair("a", [1.0] * 6, [0.5] * 6, [0.9] * 6, portrait="yawn")
    report["cross_reenactment"]["a__yawn"], report["temporal"]["a__yawn"] = c
    by = {(r[0], r[1]): r for r in carried_features.table(report)[1]}
    warp_a = np.mean([1, 1, 0.5, 0.5, 1, 1])
    assert by[("mean over pairs onto face", "warp")][2] == f"{np.mean([warp_a, 1.0]):.3f}"
    assert by[("mean over pairs onto yawn", "warp")][2] == "0.500"
    assert by[("mean over pairs", "warp")][2] == f"{np.mean([warp_a, 1.0, 0.5]):.3f}"
    # a feature averages over the portrait's pairs that score it, not over the others'
    assert by[("mean over pairs onto face", "warp")][3 + FEATURES.index("eye_left")] == "0.75"
    assert by[("mean over pairs onto yawn", "warp")][3 + FEATURES.index("brow_left")] == "0.50"
    assert ("mean over pairs onto yawn", "reliability") not in by


def test_a_report_without_the_detail_shows_na_not_zero():
    """An older report.json (no driver detail) or a pair the tracker lost: n/a, never 0."""
    report = {
        "cross_reenactment": {
            "a__face": {"clip": "a", "portrait": "face", "renderers": {"warp": {}}, "fused": {}}
        },
        "temporal": {},
    }
    _, rows = carried_features.table(report)
    assert all(cell in ("n/a", "") for row in rows for cell in row[2:])
    means = carried_features.mean_rows(carried_features.pair_rows(report))
    assert all(math.isnan(gain) for _, gain, _ in means)


def test_markdown_has_the_section(report):
    minimal = {
        "meta": {
            "clips": ["a"],
            "portraits": ["face"],
            "max_frames": 10,
            "crop_size": 256,
            "fuser": "x",
            "created": "now",
        },
        "summary": {"renderers": {}, "driver": {"temporal_ssim": 1.0, "jitter": 0.0}, "fused": {}},
        "self_reenactment": {},
        "files": {},
        **report,
    }
    for pair in minimal["cross_reenactment"].values():
        pair["renderers"]["warp"].update(
            frames_rendered=1, identity_distance=0.1, expression_error=0.01, retrack_rate=1.0
        )
    for pair in minimal["temporal"].values():
        pair["renderers"] = {"warp": {"temporal_ssim": 0.9, "jitter": 0.01}}
        pair["driver"].update(temporal_ssim=0.9, jitter=0.01)
    text = markdown(minimal)
    assert "## Expression carried per pair and feature" in text
    assert "| a → face | warp | 0.833 | 1.00 | 1.00 | 0.50 | 0.50 | 1.00 | 1.00 |" in text


def test_drawn_moves_ratio_is_the_slope_through_zero_per_sign():
    readings = [
        Reading("eyes", -0.2, -0.2, -0.18),
        Reading("eyes", -0.1, -0.1, -0.08),
        Reading("eyes", 0.1, 0.1, 0.02),
        Reading("eyes", 0.2, 0.2, 0.04),
        Reading("jaw", 0.1, 0.1, float("nan")),
        Reading("jaw", 0.2, 0.2, 0.2),
        Reading("jaw", -0.1, -0.1, -0.02),
        Reading("jaw", -0.05, -0.01, -0.01),
        Reading("smile", -0.1, -MIN_ASKED / 2, 0.5),
    ]
    ratios = group_ratios(readings)
    # closing and widening apart: a tracker that reads shut eyes but not wide ones shows it
    assert ratios["eyes closing"] == pytest.approx((0.2 * 0.18 + 0.1 * 0.08) / 0.05)
    assert ratios["eyes widening"] == pytest.approx(0.2)
    assert ratios["jaw dropping"] == pytest.approx(1.0)  # the unread drawing left out
    # a jaw raised apart from one dropped; the closing too small to ask (a shut rest) left out
    assert ratios["jaw closing"] == pytest.approx(0.2)
    assert math.isnan(ratios["mouth narrowing"])  # too little asked
    assert math.isnan(ratios["brows raised"])  # not drawn


def test_moves_table_rows():
    report = {"move_sweep": {"face": {"warp": {"groups": {"eyes widening": 0.2}}}}}
    header, rows = carried_features.moves_table(report)
    assert header[:3] == ["portrait", "renderer", "eyes closing"]
    assert rows == [["face", "warp", "n/a", "0.20", *(["n/a"] * (len(header) - 4))]]


def _sided(below, above) -> dict:
    return {
        name: {"gain": 0.5 * (b + a), "gain_below": b, "gain_above": a, "reliability": 0.95}
        for name, b, a in zip(FEATURES, below, above)
    }


def test_sides_table_tells_the_direction_that_falls_short():
    """Each feature's two directions apart: a portrait whose mouth cannot be drawn closed shows
    its warp's mouth-opening cell low below and whole above, per portrait and over all pairs;
    a report without the sides has no such table (not a table of n/a)."""
    nan = float("nan")
    whole = [1.0] * 6
    stuck = [0.2, 1.0, 1.0, 1.0, 1.0, 1.0]  # the mouth's closing barely drawn
    report = {"cross_reenactment": {}, "temporal": {}}
    for clip in ("a", "b"):
        for portrait, drawn_below in (("yawn", stuck), ("closed", whole)):
            key = f"{clip}__{portrait}"
            report["cross_reenactment"][key] = {
                "clip": clip,
                "portrait": portrait,
                "fused": {"expression_detail": _sided(whole, whole)},
                "renderers": {
                    "warp": {
                        "carried_detail": {
                            "expression": _sided(drawn_below, [0.9, 0.6, nan, nan, 1.0, 1.0])
                        }
                    }
                },
            }
            report["temporal"][key] = {"driver": {"expression_detail": _sided(whole, whole)}}
    assert carried_features.has_sides(report)
    header, rows = carried_features.sides_table(report)
    assert header[2] == "all features ↓ / ↑" and len(header) == 3 + len(FEATURES)
    by = {(r[0], r[1]): r for r in rows}
    mouth_open = 3 + FEATURES.index("mouth_open")
    assert by[("yawn", "warp")][mouth_open] == "0.20 / 0.90"
    assert by[("closed", "warp")][mouth_open] == "1.00 / 0.90"
    assert by[("all pairs", "warp")][mouth_open] == "0.60 / 0.90"
    assert by[("all pairs", "J_gen")][mouth_open] == "1.00 / 1.00"
    # the eyes: not widened on any pair (n/a), closed whole
    assert by[("all pairs", "warp")][3 + FEATURES.index("eye_left")] == "1.00 / n/a"
    # all features: the mean over a pair's scored features, then over the pairs
    below_yawn = np.mean(stuck)
    above = np.mean([0.9, 0.6, 1.0, 1.0])
    assert by[("yawn", "warp")][2] == f"{below_yawn:.2f} / {above:.2f}"
    assert [r[0] for r in rows] == ["all pairs"] * 3 + ["yawn"] * 3 + ["closed"] * 3

    for pair in report["cross_reenactment"].values():  # an older report: no sides at all
        for detail in (
            pair["fused"]["expression_detail"],
            pair["renderers"]["warp"]["carried_detail"]["expression"],
        ):
            for feature in detail.values():
                del feature["gain_below"], feature["gain_above"]
    for pair in report["temporal"].values():
        for feature in pair["driver"]["expression_detail"].values():
            del feature["gain_below"], feature["gain_above"]
    assert not carried_features.has_sides(report)
