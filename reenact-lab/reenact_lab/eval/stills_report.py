"""The tables of `reenact eval --stills`: Markdown (stills.md) and one HTML page (stills.html)."""

from __future__ import annotations

import html

from reenact_lab.eval.carried_features import cell
from reenact_lab.eval.html import figures, page, table
from reenact_lab.eval.report import markdown_table
from reenact_lab.eval.still_sets import COLUMNS
from reenact.landmarks.expressiveness import FEATURES

NOTE = (
    "Posed expressions: each held-out subject's neutral still is the target, each expression "
    "still's own landmarks drive it, the expression still is the truth; compared in the "
    "aligned crop (face: inside the face mask; mouth: the lips' box). `identity` (the neutral "
    "still unchanged) is the floor. Means over subjects; `all` = over every subject and "
    "condition. The class-driven rows (`pixel-rr`, `... + preset`: reenact_lab.eval.stills_presets) "
    "know only the condition, not the still's landmarks, and have nothing for `sleepy`: their "
    "`all` is over the other conditions."
)


REST_NOTE = (
    "At rest: each expression still is the target and the actor rests (the renderer is "
    "driven to the target's neutral as the live loop fuses it, fusion.target_neutral = "
    "{mode}); the subject's neutral still is the truth. `identity` is the expression "
    "still unchanged: what a target that keeps its picture's expression shows."
)


READ_NOTE = (
    "Read back: each expression still's own landmarks drive the renderer (the true "
    "geometry, no fuser), and the drawing and the real still are read by the static "
    "re-tracker that reads every cross-reenactment output, each against the neutral "
    "still read the same way (reenact_lab.eval.stills_read). read gain: the slope of the "
    "drawing's expression features on the real still's, pooled over subjects and "
    "expressions, mean over features (1 = reads as expressive as the real face; "
    "`identity` reads 0). `+ boost`: drawn to the truth through renderer.boost, as the "
    "live loop draws (a smile's widening and lift and a brow's raise drawn larger): "
    "what `reenact eval`'s cross-reenactment expression gain could reach through that "
    "renderer were J_gen the true geometry. `+ boost + creases`: with the next scored "
    "subject's folds for the same expression carried on (compose.creases), as the live "
    "loop carries an actor's."
)


def _read_header() -> list[str]:
    return ["renderer", "read gain →1", "read r ↑", *(f"{f} gain" for f in FEATURES), "points"]


def _read_rows(report: dict) -> list[list[str]]:
    return [
        [
            name,
            cell(v["read_gain"], 3),
            cell(v["read_r"], 3),
            *(cell(v["features"][f]["gain"], 2) for f in FEATURES),
            str(v["points"]),
        ]
        for name, v in report.get("read_back", {}).get("summary", {}).items()
    ]


def _rows(report: dict, summary: dict | None = None) -> list[list[str]]:
    return [
        [name, condition, *(cell(values.get(k), d) for k, _, d in COLUMNS)]
        for name, conditions in (summary or report["summary"]).items()
        for condition, values in conditions.items()
    ]


def _rest_rows(report: dict) -> list[list[str]]:
    return _rows(report, report["rest"]["summary"]) if report.get("rest") else []


def _header() -> list[str]:
    return ["renderer", "condition", *(label for _, label, _ in COLUMNS)]


def _subjects(report: dict) -> str:
    return "; ".join(
        f"{s}: {', '.join(v['expressions'])} (skipped, not expressions: "
        f"{', '.join(v['skipped_not_expressions']) or 'none'})"
        for s, v in report["meta"]["subjects"].items()
    )


def _caveats(report: dict) -> str:
    return " ".join(
        f"Caveat: `{name}` {why}." for name, why in report["meta"].get("not_held_out", {}).items()
    )


def markdown(report: dict) -> str:
    """stills.md: the per-condition table and the strips."""
    lines = [
        "# `reenact eval --stills` report",
        "",
        f"Folder `{report['meta']['folder']}`; subjects {_subjects(report)}. Created "
        f"{report['meta']['created']}.",
        "",
        *markdown_table(_header(), _rows(report)),
        "",
        NOTE,
        "",
        _caveats(report),
        "",
    ]
    if _read_rows(report):
        lines += [
            "## Expression read back",
            "",
            *markdown_table(_read_header(), _read_rows(report)),
            "",
            READ_NOTE,
            "",
        ]
    if _rest_rows(report):
        lines += [
            "## At rest",
            "",
            *markdown_table(_header(), _rest_rows(report)),
            "",
            REST_NOTE.format(mode=report["rest"]["target_neutral"]),
            "",
        ]
    for label, path in report["files"].items():
        lines += [f"**{label}**", "", f"![{label}]({path})", ""]
    return "\n".join(lines) + "\n"


def html_page(report: dict) -> str:
    """stills.html: the same as one page."""
    return page(
        "reenact eval --stills report",
        [
            f'<p class="note">Folder {html.escape(report["meta"]["folder"])}; subjects '
            f"{html.escape(_subjects(report))}.</p>",
            table(_header(), _rows(report), "summary"),
            f'<p class="note">{html.escape(NOTE)} {html.escape(_caveats(report))}</p>',
            *(
                [
                    table(_read_header(), _read_rows(report), "read_back"),
                    f'<p class="note">{html.escape(READ_NOTE)}</p>',
                ]
                if _read_rows(report)
                else []
            ),
            *(
                [
                    table(_header(), _rest_rows(report), "rest"),
                    f'<p class="note">{html.escape(REST_NOTE.format(mode=report["rest"]["target_neutral"]))}'
                    "</p>",
                ]
                if _rest_rows(report)
                else []
            ),
            figures(report["files"]),
        ],
    )
