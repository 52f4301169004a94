"""`report.html`: the eval's tables, plots and sample strips on one page.

Plain HTML with a small inline style sheet; the pictures are the PNGs beside it (relative paths),
so the page opens from the report folder in any browser, offline.
"""

from __future__ import annotations

import html

from reenact_lab.eval import carried_features
from reenact_lab.eval.carried_features import cell
from reenact_lab.eval.report import (
    HEAD_MOVED_NOTE,
    SUMMARY_COLUMNS,
    VIEWER_COLUMNS,
    VIEWER_NOTE,
    head_moved_rows,
    reference_rows,
    skipped_lines,
)

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef; }
figure { display: inline-block; margin: 0 1em 1.5em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ccc; }
p.note { max-width: 70em; color: #444; }
"""


def table(header: list[str], rows: list[list[str]], table_id: str) -> str:
    """An HTML table (id `table_id`) of escaped text cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figures(files: dict[str, str]) -> str:
    """One <figure> per picture: {caption: path relative to the page}."""
    return "\n".join(
        f'<figure><img src="{html.escape(path)}" alt="{html.escape(label)}">'
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
        for label, path in files.items()
    )


def page(title: str, parts: list[str]) -> str:
    """A whole HTML document: `title` as heading, then `parts` (HTML) in order."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _head_moved(report: dict) -> list[str]:
    """The head-motion stage's table (`reenact_lab.eval.report.head_moved_rows`), if measured."""
    if not report.get("head_moved"):
        return []
    header, rows = head_moved_rows(report)
    return [
        "<h2>What a moved head uncovers</h2>",
        table(header, rows, "head-moved"),
        f'<p class="note">{html.escape(HEAD_MOVED_NOTE)}</p>',
    ]


def _carried_features(report: dict) -> list[str]:
    """The expression carried per pair and feature, and the drawn moves read back
    (`reenact_lab.eval.carried_features`)."""
    if not report.get("cross_reenactment"):
        return []
    header, rows = carried_features.table(report)
    out = [
        "<h2>Expression carried per pair and feature</h2>",
        table(header, rows, "carried-features"),
        f'<p class="note">{html.escape(carried_features.NOTE)}</p>',
    ]
    if carried_features.has_sides(report):
        header, rows = carried_features.sides_table(report)
        out += [
            "<h2>Expression carried, each direction apart</h2>",
            table(header, rows, "carried-sides"),
            f'<p class="note">{html.escape(carried_features.SIDES_NOTE)}</p>',
        ]
    if report.get("move_sweep"):
        header, rows = carried_features.moves_table(report)
        out += [
            "<h2>Drawn moves read back</h2>",
            table(header, rows, "moves-read"),
            f'<p class="note">{html.escape(carried_features.MOVES_NOTE)}</p>',
        ]
    return out


def report_html(report: dict) -> str:
    """The eval report (`reenact_lab.eval.runner.build_report` + files) as one page."""
    meta, summary = report["meta"], report["summary"]
    names = list(summary["renderers"])
    main = [
        [name, *(cell(summary["renderers"][name].get(k), d) for k, _, d in SUMMARY_COLUMNS)]
        for name in names
    ]
    driver = summary["driver"]
    main.append(
        [
            "driving clip (reference)",
            *("" for _ in SUMMARY_COLUMNS[:6]),
            cell(driver["temporal_ssim"], 3),
            cell(driver["jitter"], 4),
        ]
    )
    viewer = [
        [name, *(cell(summary["renderers"][name].get(k), d) for k, _, d in VIEWER_COLUMNS)]
        for name in names
    ]
    viewer += reference_rows(summary)
    intro = (
        f"{len(meta['clips'])} clip(s): {', '.join(meta['clips'])}; "
        f"{len(meta['portraits'])} portrait(s): {', '.join(meta['portraits'])}; up to "
        f"{meta['max_frames'] or 'all'} frames per clip; created {meta['created']}. "
        "Numbers: report.json; the same tables: report.md."
    )
    plots = {k: v for k, v in report["files"].items() if v.startswith("plots/")}
    strips = {k: v for k, v in report["files"].items() if not v.startswith("plots/")}
    return page(
        "reenact eval report",
        [
            f'<p class="note">{html.escape(intro)}</p>',
            *(f'<p class="note">{html.escape(line)}</p>' for line in skipped_lines(report)),
            "<h2>Summary</h2>",
            table(["renderer", *(l for _, l, _ in SUMMARY_COLUMNS)], main, "summary"),
            "<h2>What a viewer sees</h2>",
            table(["renderer", *(l for _, l, _ in VIEWER_COLUMNS)], viewer, "viewer"),
            f'<p class="note">{html.escape(VIEWER_NOTE)}</p>',
            *_head_moved(report),
            *_carried_features(report),
            "<h2>Sample strips</h2>",
            figures(strips),
            "<h2>Per-frame curves</h2>",
            figures(plots),
        ],
    )
