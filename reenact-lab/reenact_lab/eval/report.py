"""The report: a summary over clips and pairs, and the Markdown tables.

Aggregation: self-reenactment figures are the mean over clips of each clip's per-frame mean;
cross-reenactment and temporal figures the mean over (clip, portrait) pairs of each pair's mean.
Missing values (e.g. jitter where the re-tracker lost the face on the still stretch) are left out
of the means and shown as "n/a".
"""

from __future__ import annotations

import math

import numpy as np

from reenact_lab.eval import carried_features
from reenact_lab.eval.carried_features import cell
from reenact_lab.eval.head_shift import move_labels
from reenact_lab.eval.self_live import LIVE_KEYS
from reenact_lab.eval.viewer import CARRIED_KEYS
from reenact_lab.eval.viewer import summary_of as viewer_summary

SUMMARY_COLUMNS = (
    ("self_ssim", "self SSIM ↑", 3),
    ("self_ssim_face", "self SSIM face ↑", 3),
    ("self_psnr", "self PSNR dB ↑", 2),
    ("self_l1", "self L1 ↓", 4),
    ("identity_distance", "cross identity dist. ↓", 3),
    ("expression_error", "expression error vs J_gen, pose removed ↓", 3),
    ("temporal_ssim", "temporal SSIM", 3),
    ("jitter", "jitter ↓", 4),
)

# What a viewer sees (`reenact_lab.eval.viewer`): carried from the actor (cross), then the composited
# frame, sharpness and the mouth / eye boxes (self).
HEAD_SWEEP_KEYS = ("head_sweep_r", "head_sweep_pitch_gain", "head_sweep_yaw_gain")
VIEWER_COLUMNS = (
    ("expression_r", "expression r ↑", 3),
    ("expression_gain", "expression gain →1", 3),
    ("expression_gain_over_real", "expression gain / real face's →1", 3),
    ("expression_gain_iv", "expression gain on the actor's true expression (IV) →1", 3),
    ("expression_r_all", "expression r, unreadable features too ↑", 3),
    ("expression_gain_all", "expression gain, unreadable features too →1", 3),
    ("expression_r_2d", "expression r, image plane ↑", 3),
    ("expression_gain_2d", "expression gain, image plane →1", 3),
    ("smile_r", "smile lift r ↑", 3),
    ("smile_gain", "smile lift gain →1", 3),
    ("gaze_r", "gaze r ↑", 3),
    ("gaze_r_window", "gaze r, window ↑", 3),
    ("gaze_r_moving", "gaze r, actor moves ↑", 3),
    ("gaze_r_moving_window", "gaze r, actor moves, window ↑", 3),
    ("gaze_sweep_r", "gaze sweep r ↑", 3),
    ("gaze_sweep_gain", "gaze sweep gain", 3),
    ("head_r", "head r ↑", 3),
    ("head_sweep_r", "head sweep r ↑", 3),
    ("head_sweep_pitch_gain", "head sweep nod gain →1", 3),
    ("head_sweep_yaw_gain", "head sweep turn gain →1", 3),
    ("head_r_window", "head r, window ↑", 3),
    ("blink_r", "blink r ↑", 3),
    ("blink_r_window", "blink r, window ↑", 3),
    ("head_step_excess", "head step excess ° ↓", 2),
    ("background_change", "background change /255 ↓", 2),
    ("live_ssim", "live-path self SSIM ↑", 3),
    ("full_ssim", "full-frame SSIM ↑", 3),
    ("full_psnr", "full-frame PSNR dB ↑", 2),
    ("seam", "seam ↓", 4),
    ("sharpness_ratio", "sharpness →1", 3),
    ("haarpsi", "HaarPSI ↑", 3),
    ("self_ssim_mouth", "SSIM mouth ↑", 3),
    ("self_ssim_eyes", "SSIM eyes ↑", 3),
    ("sharpness_ratio_mouth", "sharpness mouth →1", 3),
)

VIEWER_NOTE = (
    "Carried (cross, each clip's live track vs the re-tracked output, each face relative to its "
    "own neutral: the driver's calibrated one, the target's face at rest, which is its "
    "estimated neutral where the picture wears an expression (fusion.target_neutral). Two "
    "reference rows: 'J_gen, before rendering' scores the fused landmarks "
    "themselves, no picture drawn or re-tracked: what the fuser carries (gaze with "
    "eyes.gaze_gain; no head r: the roll moves the head when compositing), so the "
    "renderers' shortfall from it is the drawing's and the re-tracking's; the last row "
    "re-tracks the driver's own frames instead of an output: what the real face scores, lowered "
    "by its own tracking noise, so a sharp portrait can beat it on gaze and head): expression "
    "r / gain = Pearson r / slope of mouth opening and width, eye "
    "openness and brow height (over region size), mean over features the actor moves and the "
    "tracker reads (the driver's live and static readings agree at r >= 0.5; 'unreadable "
    "features too': without that check), each "
    "frame read with its head pose relative to the face's neutral undone (a turn or a nod is "
    "not an expression); 'IV': the slope on the actor's true expression, the static reading as "
    "the instrument, which the live track's noise does not pull down (n/a for the driver's row, "
    "whose output is that instrument); 'image plane': the same features read in the picture as "
    "it is, the head's turns included (the measure before pose was undone); smile lift r / "
    "gain: the same "
    "for the mouth corners' height above the nose base (over the neutral's mouth width, pose "
    "undone), what the width misses of a smile: its corners rising, or a frown's falling; "
    "'real face's': each pair's "
    "gain over the driving clip's own frames' gain (the last reference row, per pair), mean over "
    "pairs: the driver's tracking noise pulls every gain below 1, a real face's too; gaze r: "
    "iris position in the eye opening, eyes open (not closing); gaze r, actor moves: only where "
    "the actor's gaze moves by >= 0.02 eye widths and 2.5 x its tracking noise; gaze sweep r / "
    "gain: the portrait's own face with irises moved by known amounts, re-tracked (1 / 0 for "
    "the unchanged target: r 0, gain 0); head r: roll / pitch / yaw from the mesh's 3-D "
    "points, against the driver's tracked pose (which nods with an opening jaw); head sweep r / "
    "nod gain / turn gain: the portrait's own face turned by known pitches and yaws (+-5, +-10 "
    "degrees), re-tracked (1 = the output nods / turns by the asked angle; the unchanged "
    "target: 0); blink r: eye openness. n/a: the actor did not move that much. Carried measures run "
    "over the whole clip (up to eval.carried_frames, the output re-tracked on "
    "eval.carried_retracks evenly spaced frames); 'window': the same on the first "
    "eval.max_frames frames, every frame re-tracked. Head step excess: the output's largest "
    "frame-to-frame head angle change minus the actor's, degrees, on consecutive frames: the "
    "window, and each re-tracked frame past it with the next (both re-tracked in static mode; "
    "worst pair; goal <= 1). Background change: mean "
    "|output - target picture| outside the head's reach (its motion zone grown by one "
    "inter-ocular distance), 8-bit levels, mean over rendered frames (goal < 2). Live-path self "
    "SSIM: the clip's frame at its calibrated neutral pose (of the calibration frames, the one "
    "nearest their median head pose: `live_reference` in report.json), whole, driven by the "
    "clip through the live loop (head motion as configured), each output frame against the "
    "real frame on the real face's box (PSNR: `live_psnr` in report.json). Self, composited into "
    "the real frame as the live loop does: full-frame SSIM / PSNR on the face box; seam: colour "
    "offset plus step across the blend edge (0..1, 0 = invisible); sharpness: Laplacian energy "
    "over the real frame's (1 = as sharp); HaarPSI on the crop; mouth / eyes: boxes cut by the "
    "landmarks. No measure uses downloaded weights (HaarPSI is `reenact_lab.metrics.haarpsi`)."
)


def _nanmean(values: list) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(finite)) if finite else float("nan")


SKIPPED_WHY = ("A clip's reference face must be one the live loop takes as a target: one face, "
               "at least tracker.min_face_px wide; upscaling a smaller one would score the blur, "
               "not the renderers (tracker.small_face=upscale scores it anyway).")
REAL_GAIN_FLOOR = 0.2  # a driver whose own face scores below this tells nothing about a renderer


def gain_over_real(gains: list, real_gains: list) -> float:
    """Mean over pairs of each pair's expression gain over what the driver's own face scores on
    the same pair (its frames re-tracked as the outputs are, `carried_rows.driver_carried`).

    The gain is a slope on the driver's live track, and that track's own tracking noise pulls
    every slope on it towards 0 (regression dilution): on a driver the tracker reads poorly (a
    three-quarter view behind glasses) even the real face scores well below 1. Divided by the real
    face's score, 1 means "carries as much as the real face would show". Pairs whose driver
    scores below `REAL_GAIN_FLOOR`, or with a value missing, are left out."""
    ratios = [float(g) / float(r) for g, r in zip(gains, real_gains)
              if g is not None and r is not None and math.isfinite(float(g))
              and math.isfinite(float(r)) and float(r) >= REAL_GAIN_FLOOR]
    return _nanmean(ratios)


def summarize(renderers: list[str], self_section: dict, cross_section: dict,
              temporal_section: dict, sweep_section: dict | None = None,
              head_section: dict | None = None) -> dict:
    """{"renderers": {name: {column: value}}, "driver": {...}} from the three sections (and the
    gaze sweep's, {portrait: {renderer: {"gaze_sweep_r", "gaze_sweep_gain", ...}}}, and the
    head sweep's, alike with HEAD_SWEEP_KEYS)."""
    sweeps = list((sweep_section or {}).values())
    heads = list((head_section or {}).values())
    both = [k for k in cross_section if k in temporal_section]  # the pairs, by key
    out = {}
    for name in renderers:
        per_clip = [clip["renderers"][name] for clip in self_section.values()]
        pairs = [pair["renderers"][name] for pair in cross_section.values()]
        temporal = [pair["renderers"][name] for pair in temporal_section.values()]
        out[name] = {
            "self_ssim": _nanmean([c["ssim"] for c in per_clip]),
            "self_ssim_face": _nanmean([c["ssim_face"] for c in per_clip]),
            "self_psnr": _nanmean([c["psnr"] for c in per_clip]),
            "self_l1": _nanmean([c["l1"] for c in per_clip]),
            "self_fused_ssim": _nanmean([c["fused"]["ssim"] for c in per_clip]),
            "self_fused_psnr": _nanmean([c["fused"]["psnr"] for c in per_clip]),
            "self_fused_l1": _nanmean([c["fused"]["l1"] for c in per_clip]),
            "identity_distance": _nanmean([p["identity_distance"] for p in pairs]),
            "identity_same_person_rate": _nanmean([p["identity_same_person_rate"] for p in pairs]),
            "expression_error": _nanmean([p["expression_error"] for p in pairs]),
            "retrack_rate": _nanmean([p["retrack_rate"] for p in pairs]),
            "temporal_ssim": _nanmean([t["temporal_ssim"] for t in temporal]),
            "jitter": _nanmean([t["jitter"] for t in temporal]),
            "fused_jitter": _nanmean([t["fused_jitter"] for t in temporal]),
            **viewer_summary(per_clip, pairs),
            **{key: _nanmean([c.get(key) for c in per_clip]) for key in LIVE_KEYS},
            **{k: _nanmean([p[name][k] for p in sweeps if name in p])
               for k in ("gaze_sweep_r", "gaze_sweep_gain")},
            **{k: _nanmean([p[name][k] for p in heads if name in p]) for k in HEAD_SWEEP_KEYS},
            "expression_gain_over_real": gain_over_real(
                [cross_section[k]["renderers"][name].get("expression_gain") for k in both],
                [temporal_section[k]["driver"].get("expression_gain") for k in both]),
        }
    drivers = [pair["driver"] for pair in temporal_section.values()]
    driver = {key: _nanmean([d.get(key) for d in drivers])
              for key in ("temporal_ssim", "jitter", *CARRIED_KEYS)}
    fused = [pair["fused"] for pair in cross_section.values()]
    return {"renderers": out, "driver": driver,
            "fused": {key: _nanmean([f.get(key) for f in fused]) for key in CARRIED_KEYS}}


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines: the header, its rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def summary_table(summary: dict) -> list[str]:
    """The main table: rows renderers (plus the driving clip), columns SUMMARY_COLUMNS."""
    rows = [[f"`{name}`", *(cell(values[key], d) for key, _, d in SUMMARY_COLUMNS)]
            for name, values in summary["renderers"].items()]
    driver = summary["driver"]
    rows.append(["driving clip (reference)", *("" for _ in SUMMARY_COLUMNS[:6]),
                 cell(driver["temporal_ssim"], 3), cell(driver["jitter"], 4)])
    return markdown_table(["renderer", *(label for _, label, _ in SUMMARY_COLUMNS)], rows)


DRIVER_ROW = "driving clip re-tracked (reference)"
FUSED_ROW = "J_gen, before rendering (the fuser's share)"


def _carried_row(label: str, values: dict) -> list[str]:
    return [label, *(cell(values.get(key), d) if key in CARRIED_KEYS else ""
                     for key, _, d in VIEWER_COLUMNS)]


def reference_rows(summary: dict) -> list[list[str]]:
    """The viewer table's two reference rows, carried measures only: J_gen itself, the fused
    landmarks before any renderer (`carried_rows.fused_carried`), then the driver's own frames
    re-tracked as the outputs are (`carried_rows.driver_carried`)."""
    return [_carried_row(FUSED_ROW, summary["fused"]), _carried_row(DRIVER_ROW, summary["driver"])]


def viewer_table(summary: dict) -> list[str]:
    """The second table: rows renderers (plus the driving clip), columns VIEWER_COLUMNS."""
    rows = [[f"`{name}`", *(cell(values.get(key), d) for key, _, d in VIEWER_COLUMNS)]
            for name, values in summary["renderers"].items()]
    rows += reference_rows(summary)
    return markdown_table(["renderer", *(label for _, label, _ in VIEWER_COLUMNS)], rows)


HEAD_MOVED_NOTE = (
    "The head-motion stage alone (no renderer: the same for all), each portrait's head moved "
    "by shifts of 0.3 and 0.2 inter-ocular distances and rolls of 8 degrees about the eyes: "
    "ghost rate = the share of the band along the head's old outline, where it moved away, "
    "whose grey-level gradient is above the wall's beside it (its 95th percentile, at least 2 "
    "levels per pixel): about 0.05 or less when the uncovered wall is as clean as the wall "
    "beside it, more where loose hair or a fringe of the old outline stayed behind "
    "(`reenact_lab.eval.head_shift`). n/a: the segmenter finds no person holding the face (an "
    "animal: the whole head zone moves), or nothing was uncovered.")


def head_moved_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows): per portrait, the ghost rate, then each move's
    (`reenact_lab.eval.head_shift`)."""
    labels = move_labels()
    rows = [[name, cell(found.get("ghost_rate"), 3),
             *(cell(r, 3) for r in found.get("per_move", []) or [None] * len(labels))]
            for name, found in report.get("head_moved", {}).items()]
    return ["portrait", "ghost rate ↓", *labels], rows


def skipped_lines(report: dict) -> list[str]:
    """One line per clip the eval skipped (`report["skipped"]`), saying why."""
    return [f"Skipped clip {name} ({item['path']}), not scored: {item['reason']}. {SKIPPED_WHY}"
            for name, item in report.get("skipped", {}).items()]


def markdown(report: dict) -> str:
    """The whole Markdown report: summary, fused variant, per clip, per pair, pictures (the PNGs
    embedded by their paths relative to the report)."""
    meta, summary = report["meta"], report["summary"]
    lines = [
        "# `reenact eval` report", "",
        f"{len(meta['clips'])} clip(s), {len(meta['portraits'])} portrait(s), up to "
        f"{meta['max_frames'] or 'all'} frames per clip, crop {meta['crop_size']} px, "
        f"fuser `{meta['fuser']}`. Created {meta['created']}.", "",
        *(f"{line}\n" for line in skipped_lines(report)),
        *summary_table(summary), "",
        "Self: a clip's reference frame driven by each other frame's own landmarks, compared "
        "with the real frame in the aligned crop (face: SSIM inside the face mask). Cross: each "
        "clip drives each portrait through the live path; identity = dlib descriptor distance "
        "to the portrait on its canonical crop (same person < 0.6); expression error = the "
        "re-tracked output vs J_gen, in inter-ocular distances. Temporal SSIM: consecutive "
        "output crops; jitter: re-tracked landmark motion per frame (x IOD) on the driver's "
        "stillest stretch (outputs re-tracked in static mode, every frame afresh). The driving "
        "clip's row gives the same figures on its own aligned crops and live-tracked landmarks. "
        "The `identity` row is the floor of each measure: the unchanged portrait's identity "
        "distance and jitter show the measurement's own noise, its expression error how much "
        "expression there was to carry.", "",
        *viewer_table(summary), "", VIEWER_NOTE, "",
        "## Self-reenactment through the fuser", "",
        "J = fuse(GT landmarks, reference, reference): identical to the direct drive for the "
        "training-free transfer; a trained Phi shows its own error here.", "",
    ]
    rows = [[f"`{n}`", cell(v["self_fused_ssim"], 3), cell(v["self_fused_psnr"], 2),
             cell(v["self_fused_l1"], 4)] for n, v in summary["renderers"].items()]
    lines += [*markdown_table(["renderer", "SSIM", "PSNR dB", "L1"], rows), ""]
    if report.get("head_moved"):
        lines += ["## What a moved head uncovers", "",
                  *markdown_table(*head_moved_rows(report)), "", HEAD_MOVED_NOTE, ""]
    lines += ["## Self-reenactment per clip", "", *_per_clip(report), ""]
    lines += ["## Cross-reenactment per pair", "", *_per_pair(report), ""]
    if report.get("cross_reenactment"):
        lines += ["## Expression carried per pair and feature", "",
                  *markdown_table(*carried_features.table(report)), "", carried_features.NOTE, ""]
    if carried_features.has_sides(report):
        lines += ["## Expression carried, each direction apart", "",
                  *markdown_table(*carried_features.sides_table(report)), "",
                  carried_features.SIDES_NOTE, ""]
    if report.get("move_sweep"):
        lines += ["## Drawn moves read back", "",
                  *markdown_table(*carried_features.moves_table(report)), "",
                  carried_features.MOVES_NOTE, ""]
    lines += ["## Pictures", ""]
    for name, path in report["files"].items():
        lines += [f"**{name}**", "", f"![{name}]({path})", ""]
    return "\n".join(lines) + "\n"


def _per_clip(report: dict) -> list[str]:
    rows = [[clip, f"`{name}`", str(entry["frames_evaluated"]), cell(r["ssim"], 3),
             cell(r["ssim_face"], 3), cell(r["psnr"], 2), cell(r["l1"], 4)]
            for clip, entry in report["self_reenactment"].items()
            for name, r in entry["renderers"].items()]
    return markdown_table(["clip", "renderer", "frames", "SSIM", "SSIM face", "PSNR dB", "L1"],
                          rows)


def _per_pair(report: dict) -> list[str]:
    rows = []
    for key, pair in report["cross_reenactment"].items():
        temporal = report["temporal"][key]
        for name, r in pair["renderers"].items():
            t = temporal["renderers"][name]
            rows.append([f"{pair['clip']} → {pair['portrait']}", f"`{name}`",
                         str(r["frames_rendered"]), cell(r["identity_distance"], 3),
                         cell(r["expression_error"], 3), cell(r["retrack_rate"], 2),
                         cell(t["temporal_ssim"], 3), cell(t["jitter"], 4)])
        driver = temporal["driver"]
        rows.append([f"{pair['clip']} → {pair['portrait']}", "driving clip", "", "", "", "",
                     cell(driver["temporal_ssim"], 3), cell(driver["jitter"], 4)])
    return markdown_table(["pair", "renderer", "frames", "identity", "expression", "re-tracked",
                   "temporal SSIM", "jitter"], rows)
