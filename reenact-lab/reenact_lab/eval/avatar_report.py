"""avatar.md and avatar.html: the tables of `reenact eval --avatar` (`reenact_lab.eval.avatar_eval`).

Rows per clip and source: the unchanged target, the warp, the shipped generator and the
avatar's personal generator; then the personal generator's lead over the warp and the shipped
one; then the cross-reenactment rows per actor.
"""

from __future__ import annotations

import html as _html
import json

from reenact_lab.eval.carried_features import cell
from reenact_lab.eval.html import figures, page, table
from reenact_lab.eval.report import markdown_table

SELF_COLUMNS = (
    ("ssim", "SSIM ↑", 3),
    ("ssim_face", "SSIM face ↑", 3),
    ("psnr", "PSNR dB ↑", 2),
    ("ssim_mouth", "SSIM mouth ↑", 3),
    ("ssim_eyes", "SSIM eyes ↑", 3),
    ("sharpness_ratio", "sharpness →1", 3),
    ("sharpness_ratio_mouth", "sharpness mouth →1", 3),
    ("seam", "seam ↓", 4),
)
CROSS_COLUMNS = (
    ("identity_distance", "identity dist. ↓", 3),
    ("expression_r", "expression r ↑", 3),
    ("expression_gain", "expression gain →1", 3),
    ("gaze_r", "gaze r ↑", 3),
    ("blink_r", "blink r ↑", 3),
    ("head_r", "head r ↑", 3),
    ("background_change", "background change /255 ↓", 2),
)
ROW_NAMES = {
    "identity": "unchanged target",
    "warp": "warp",
    "generator:shipped": "shipped generator",
    "generator:personal": "personal generator",
}

NOTE = (
    "Self-reenactment: every frame's own aligned landmarks drive the source, the real frame is "
    "the truth, in the aligned crop (SSIM over the crop, in the face mask, PSNR capped at 100 "
    "dB; mouth and eyes: boxes cut by the real landmarks; sharpness: Laplacian energy over the "
    "real crop's, 1 = as sharp) and composited into the real frame as the live loop does "
    "(seam: colour offset plus step across the blend edge). Source 'avatar picture': the "
    "avatar's own picture, as `--target X.avatar` uses it (the truth may be in other light, "
    "which lowers every row alike); 'clip reference': the clip's reference frame, its own "
    "light. Clips named '<clip>_tail' are the held-out last part of a clip the avatar trained "
    "on. Cross: the actor drives the avatar's picture through the live path; identity = dlib "
    "descriptor distance to the picture (same person < 0.6); expression r / gain, gaze r, "
    "blink r, head r: what the re-tracked output carries of the actor's (as `reenact eval`)."
)


def _label(name: str) -> str:
    return ROW_NAMES.get(name, name)


def self_rows(report: dict) -> list[list[str]]:
    rows = []
    for run in report["self_reenactment"]:
        for name, values in run["renderers"].items():
            rows.append(
                [
                    run["clip"],
                    run["source"],
                    _label(name),
                    str(run["frames_evaluated"]),
                    *(cell(values.get(k), d) for k, _, d in SELF_COLUMNS),
                ]
            )
    return rows


def lead_rows(report: dict) -> list[list[str]]:
    """The personal generator's SSIM / PSNR / mouth SSIM lead over the warp and the shipped."""
    rows = []
    for run in report["self_reenactment"]:
        r = run["renderers"]
        if "generator:personal" not in r:
            continue
        mine = r["generator:personal"]
        row = [run["clip"], run["source"]]
        for other in ("warp", "generator:shipped"):
            base = r.get(other, {})
            row += [
                _signed(_minus(mine.get(k), base.get(k)), d)
                for k, d in (("ssim", 3), ("psnr", 2), ("ssim_mouth", 3))
            ]
        rows.append(row)
    return rows


LEAD_HEADER = [
    "clip",
    "source",
    "SSIM vs warp",
    "PSNR dB vs warp",
    "mouth SSIM vs warp",
    "SSIM vs shipped",
    "PSNR dB vs shipped",
    "mouth SSIM vs shipped",
]
SELF_HEADER = ["clip", "source", "renderer", "frames", *(label for _, label, _ in SELF_COLUMNS)]
CROSS_HEADER = ["actor", "renderer", "frames", *(label for _, label, _ in CROSS_COLUMNS)]


def _signed(value: float | None, digits: int) -> str:
    text = cell(value, digits)
    return text if text == "n/a" or text.startswith("-") else "+" + text


def _minus(a, b):
    try:
        return float(a) - float(b)
    except (TypeError, ValueError):
        return None


def cross_rows(report: dict) -> list[list[str]]:
    rows = []
    for actor, pair in report["cross_reenactment"].items():
        for name, values in pair["renderers"].items():
            rows.append(
                [
                    actor,
                    _label(name),
                    str(values.get("frames_rendered", "")),
                    *(cell(values.get(k), d) for k, _, d in CROSS_COLUMNS),
                ]
            )
    return rows


def _intro(report: dict) -> list[str]:
    meta = report["meta"]
    trained = meta.get("avatar_manifest", {})
    lines = [
        f"Avatar {meta['avatar']}; clips: {', '.join(meta['clips']) or 'none'}; actors: "
        f"{', '.join(meta['actors']) or 'none'}; up to {meta['max_frames'] or 'all'} frames "
        f"per clip; crop {meta['crop_size']} px; created {meta['created']}.",
        f"Tail: {meta['tail_note']}.",
    ]
    if trained:
        lines.append("Trained (manifest): " + json.dumps(trained, sort_keys=True))
    return lines


def avatar_markdown(report: dict) -> str:
    lines = [
        "# `reenact eval --avatar` report",
        "",
        *(f"{line}\n" for line in _intro(report)),
        "## Self-reenactment",
        "",
        *markdown_table(SELF_HEADER, self_rows(report)),
        "",
        "## The personal generator's lead",
        "",
        *markdown_table(LEAD_HEADER, lead_rows(report)),
        "",
    ]
    if report["cross_reenactment"]:
        lines += ["## Cross-reenactment", "", *markdown_table(CROSS_HEADER, cross_rows(report)), ""]
    lines += [NOTE, "", "## Pictures", ""]
    for name, path in report["files"].items():
        lines += [f"**{name}**", "", f"![{name}]({path})", ""]
    return "\n".join(lines) + "\n"


def avatar_html(report: dict) -> str:
    parts = [f'<p class="note">{_html.escape(line)}</p>' for line in _intro(report)]
    parts += [
        "<h2>Self-reenactment</h2>",
        table(SELF_HEADER, self_rows(report), "self"),
        "<h2>The personal generator's lead</h2>",
        table(LEAD_HEADER, lead_rows(report), "lead"),
    ]
    if report["cross_reenactment"]:
        parts += ["<h2>Cross-reenactment</h2>", table(CROSS_HEADER, cross_rows(report), "cross")]
    parts += [
        f'<p class="note">{_html.escape(NOTE)}</p>',
        "<h2>Strips</h2>",
        figures(report["files"]),
    ]
    return page("reenact eval --avatar report", parts)
