"""Where the expression is lost: the carried gain per pair and per feature, in one table.

`expression_gain` (`reenact_lab.metrics.expression`) is one number a pair: the mean over the six
features (mouth opening and width, each eye's openness, each brow's height) of the slope of the
output's feature on the actor's. A pair that scores 0.5 may draw every feature at half its size,
or three features whole and three not at all; and the shortfall may be the fuser's (J_gen asks
for too little), the drawing's (the renderer draws less than asked), or the re-tracker's (it
reads the drawing short). This table puts the three readings side by side, per pair:

- `J_gen`: the fused landmarks themselves, before any renderer (`carried_rows.fused_carried`);
- each renderer: its output re-tracked (`carried_rows.carried_all`);
- the driver re-tracked: the driver's own frames read as the outputs are
  (`carried_rows.driver_carried`): what a renderer that drew the real face would score;

and, above the pairs, each row's mean over the pairs (features left out of a pair are left out
of its mean). A cell is left empty (n/a) where the feature is not scored on that pair: the actor
barely moves it, or the actor's two readings of it disagree (the `reliability` row: the Pearson
r of the live and the static reading, below `MIN_RELIABILITY` the feature is not scored in any
row).

`moves_table` is its companion: per portrait and renderer, how much of a known move drawn on
the portrait's face at rest the re-tracker reads back (`reenact_lab.eval.move_sweep`), the most a
renderer's cell above can show on a pair onto that portrait.

Reads what `reenact eval` writes: `cross_reenactment.<pair>.renderers.<name>.carried_detail
.expression`, `cross_reenactment.<pair>.fused.expression_detail` and
`temporal.<pair>.driver.expression_detail`, each {feature: {"gain", "reliability", ...}}.
"""

from __future__ import annotations

import math

import numpy as np

from reenact_lab.eval.move_sweep import SWEEP_GROUPS
from reenact.landmarks.expressiveness import FEATURES
from reenact_lab.metrics.expression import SIDES

FUSED = "J_gen"
DRIVER = "driver re-tracked"
ALL_PAIRS = "all pairs"
RELIABILITY = "reliability"
FEATURE_LABELS = {
    "mouth_open": "mouth open",
    "mouth_width": "mouth width",
    "eye_left": "left eye",
    "eye_right": "right eye",
    "brow_left": "left brow",
    "brow_right": "right brow",
}
NOTE = (
    "Each cell: the slope of that feature, read on the row's landmarks, on the actor's live "
    "track (1 = carried whole), over the pair's re-tracked frames; 'gain' is their mean, the "
    "pair's expression gain. J_gen: the fused landmarks before any renderer (what the fuser "
    "asks for); a renderer's row below it is the drawing as the re-tracker reads it; 'driver "
    "re-tracked': the driver's own frames read as the outputs are (what the real face would "
    "score). reliability: the Pearson r of the actor's live and static readings of the feature; "
    "below 0.5 the feature is not scored (n/a), nor where the actor barely moves it. The first "
    "rows: each row's mean over the pairs, then, with more than one portrait, over the pairs "
    "onto each portrait (the clips driving it)."
)


def _finite(value) -> float:
    """`value` as a float, NaN for None or anything not finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return value if math.isfinite(value) else float("nan")


def _gains(detail: dict, key: str = "gain") -> list[float]:
    """The six features' `key` from a {feature: {key: value}} detail, NaN where missing."""
    return [_finite((detail or {}).get(name, {}).get(key)) for name in FEATURES]


def pair_rows(
    report: dict, key: str = "gain", *, by: str = "pair"
) -> list[tuple[str, str, list[float]]]:
    """(pair label, row label, six feature slopes) for every pair: J_gen, each renderer, the
    driver re-tracked, then the actor's reliability per feature. key: which slope of each
    feature's detail ("gain", or a side's, `reenact_lab.metrics.expression.SIDES`); by: how each
    pair is labelled, "pair" (clip → portrait), "portrait" (its rows then average over the
    clips, `mean_rows`) or "all" (ALL_PAIRS: over every pair)."""
    rows = []
    for pair_key, pair in report.get("cross_reenactment", {}).items():
        label = {
            "pair": f"{pair['clip']} → {pair['portrait']}",
            "portrait": pair["portrait"],
            "all": ALL_PAIRS,
        }[by]
        fused = pair.get("fused", {}).get("expression_detail", {})
        rows.append((label, FUSED, _gains(fused, key)))
        for name, found in pair["renderers"].items():
            rows.append(
                (label, name, _gains(found.get("carried_detail", {}).get("expression"), key))
            )
        driver = report.get("temporal", {}).get(pair_key, {}).get("driver", {})
        rows.append((label, DRIVER, _gains(driver.get("expression_detail"), key)))
        rows.append((label, RELIABILITY, _gains(fused, "reliability")))
    return rows


def _pair_gain(values: list[float]) -> float:
    """A row's mean over its scored features: the pair's gain (NaN when none is scored)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def mean_rows(rows: list[tuple[str, str, list[float]]]) -> list[tuple[str, float, list[float]]]:
    """Each row label's means over the pairs, in first-seen order: (label, the mean of its
    pairs' gains, as the summary's expression gain is; per feature, the mean of the pairs
    that score it). The reliability rows are not averaged."""
    by_row: dict[str, list[list[float]]] = {}
    for _, name, values in rows:
        if name != RELIABILITY:
            by_row.setdefault(name, []).append(values)
    out = []
    for name, values in by_row.items():
        grid = np.asarray(values, np.float64)
        seen = np.isfinite(grid).any(axis=0)
        means = np.full(grid.shape[1], np.nan)
        means[seen] = np.nanmean(grid[:, seen], axis=0)
        gains = [g for g in (_pair_gain(list(v)) for v in grid) if math.isfinite(g)]
        out.append(
            (name, float(np.mean(gains)) if gains else float("nan"), [float(v) for v in means])
        )
    return out


def cell(value: float | None, digits: int = 2) -> str:
    """A table cell: `value` to `digits` decimals, "n/a" for None or not finite (every table
    of the eval's report writes its numbers so)."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{float(value):.{digits}f}"


def group_means(
    rows: list[tuple[str, str, list[float]]],
) -> dict[str, list[tuple[str, float, list[float]]]]:
    """{group label: `mean_rows` of that group's rows}, groups in first-seen order; rows as
    `pair_rows` gives them (labelled by pair, portrait or all pairs)."""
    return {
        group: mean_rows([r for r in rows if r[0] == group])
        for group in dict.fromkeys(label for label, _, _ in rows)
    }


def portrait_means(report: dict) -> dict[str, list[tuple[str, float, list[float]]]]:
    """{portrait: `mean_rows` over the pairs onto it}, portraits in first-seen order: where a
    summary's mean over every pair is lost, one portrait or all of them (a portrait that cannot
    be drawn at rest as it shows, an open-mouthed one, pulls every clip's pair onto it down)."""
    return group_means(pair_rows(report, by="portrait"))


def table(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the per-feature table: the means over pairs, with two portraits or
    more each portrait's (`portrait_means`), then every pair's rows."""
    header = ["pair", "row", "gain", *(FEATURE_LABELS[name] for name in FEATURES)]
    rows = pair_rows(report)
    groups = {"mean over pairs": mean_rows(rows)}
    by_portrait = portrait_means(report)
    if len(by_portrait) > 1:
        groups.update(
            {f"mean over pairs onto {portrait}": means for portrait, means in by_portrait.items()}
        )
    means = [
        [group, name, cell(gain, 3), *(cell(v) for v in values)]
        for group, found in groups.items()
        for name, gain, values in found
    ]
    return header, means + [
        [
            pair,
            name,
            "" if name == RELIABILITY else cell(_pair_gain(values), 3),
            *(cell(v) for v in values),
        ]
        for pair, name, values in rows
    ]


SIDES_NOTE = (
    "Each feature's two directions apart (`gain_below` / `gain_above` of "
    "`reenact_lab.metrics.expression`): the slope over the frames where the actor's feature lies "
    "below its neutral (↓: an eye or the jaw closing, the mouth narrowing, a brow lowering), "
    "then above it (↑: opening, widening, raising), fitted together as one line bent at the "
    "neutral, where both faces rest, with an offset so a picture read a little off its rest "
    "tilts neither (1 = that direction carried whole). The table above has one slope over both, which hides "
    "which direction falls short: a closing drawn whole beside a widening the re-tracker "
    "barely reads, or an open-mouthed portrait that cannot be drawn closed, each score a "
    "middling gain. A renderer's cell over J_gen's is the drawing's (and the re-tracker's) "
    "share of that direction. 'all features': the mean over a pair's scored features, then "
    "over the pairs; the rows below the means: each portrait's mean over the clips driving it. "
    "n/a: the actor hardly went that way (root mean square under 0.02 of the region's size, "
    "or fewer than 3 frames), or the feature is not scored. report.json has every pair's, in "
    "each feature's detail."
)


def _side_rows(report: dict, by: str) -> list[tuple[str, str, list[float], list[float]]]:
    """(group label, row label, the six features' below slopes, their above slopes), each
    row's means over the group's pairs (`mean_rows`), groups in first-seen order; the first
    number of each list is the mean over the features (`mean_rows`' gain). by: as
    `pair_rows`' ("all" or "portrait")."""
    out = []
    below, above = (group_means(pair_rows(report, key, by=by)) for key in SIDES)
    for group, below_means in below.items():
        for (name, below_all, lows), (_, above_all, highs) in zip(below_means, above[group]):
            out.append((group, name, [below_all, *lows], [above_all, *highs]))
    return out


def has_sides(report: dict) -> bool:
    """Whether any pair's detail has a side's slope (reports written before it have none: the
    table is left out rather than shown as n/a throughout)."""
    return any(
        math.isfinite(v)
        for key in SIDES
        for _, name, values in pair_rows(report, key)
        if name != RELIABILITY
        for v in values
    )


def sides_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of each feature's two directions: the means over all pairs, then per
    portrait (SIDES_NOTE); each cell "below / above"."""
    header = [
        "portrait",
        "row",
        "all features ↓ / ↑",
        *(f"{FEATURE_LABELS[name]} ↓ / ↑" for name in FEATURES),
    ]
    rows = []
    for by in ("all", "portrait"):
        for group, name, below, above in _side_rows(report, by):
            rows.append([group, name, *(f"{cell(b)} / {cell(a)}" for b, a in zip(below, above))])
    return header, rows


MOVES_NOTE = (
    "Drawn moves read back (`reenact_lab.eval.move_sweep`): each portrait's face at rest (its own "
    "landmarks, or its estimated neutral where the picture wears an expression) with "
    "one region moved by known amounts (upper lids by 0.1-0.2 of the eye's width, brows by "
    "0.1-0.2 of their height, the jaw dropped by 0.1-0.3 of the mouth's width or raised by "
    "0.05-0.1 of it, never past the upper lip, the mouth corners apart or together by 0.1-0.2 "
    "of it), drawn by each renderer and re-tracked as the outputs are: "
    "the change read over the change asked (1 = read as drawn; n/a: too little asked, or no "
    "face found). A renderer's cell in the table above, on a pair onto this portrait, is held "
    "to about this, whatever the fuser asks: the rest is the re-tracker's, not the drawing's."
)


def moves_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the drawn moves read back: per portrait and renderer, each
    `move_sweep.SWEEP_GROUPS` group's ratio."""
    rows = [
        [
            portrait,
            name,
            *(cell(_finite(found["groups"].get(label))) for label, _, _ in SWEEP_GROUPS),
        ]
        for portrait, by_renderer in report.get("move_sweep", {}).items()
        for name, found in by_renderer.items()
    ]
    return ["portrait", "renderer", *(label for label, _, _ in SWEEP_GROUPS)], rows
