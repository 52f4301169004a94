"""Expression read back from the posed stills: how much of a real expression a renderer's drawing
shows, as the eval's re-tracker reads it.

Each expression still's own landmarks drive the renderer (the true geometry: no fuser, no
tracking of an actor), and the drawing and the real expression still are read by the same static
re-tracker that reads every cross-reenactment output (`reenact_lab.eval.cross_reenact.retrack_output`),
each against the subject's neutral still read the same way. The expression features are those of
`reenact_lab.metrics.expression` (head pose undone). Per renderer, over every subject and expression
pooled (`features_carried`):

- `read_gain`: the mean over features of the slope of the drawing's features on the real still's
  (1 = the drawing reads as expressive as the real face; the unchanged target reads 0);
- `read_r`: their Pearson r.

The live loop does not draw J_gen as it is: `renderer.boost` draws a smile's widening and lift
and a brow's raise larger (`reenact.render.boost`). So each landmark-driven renderer has a second
row, `<renderer> + boost`, drawn to the boosted truth as the live loop would draw it; the plain
row is the renderer's drawing of the geometry alone.

`<renderer> + boost + creases` adds the creases the live loop carries from the actor
(`reenact.pipeline.creases`, compose.creases), here another subject's making the same expression
(the next subject scored: a face's own folds would hand it the answer).

The `+ boost` row is what the cross-reenactment `expression_gain` could reach through that
renderer and reader on these faces if the fuser's J_gen were the true geometry. A renderer that
puts every landmark where it is asked can still read short, because the reader places its
landmarks from the whole picture (creases, shading, how much white shows round the iris), not
from the moved pixels alone: the warp moves the brows to within a fraction of a pixel of the
asked landmarks, yet its brows read short of the real stills'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reenact.config import Config
from reenact_lab.eval.still_sets import BOOSTED, AlignedStills
from reenact.landmarks.expressiveness import FEATURES
from reenact_lab.metrics.expression import features_carried, relative_features
from reenact.pipeline.creases import Creases
from reenact.render.boost import ExpressionBoost

_MISSING = [float("nan")] * len(FEATURES)


@dataclass
class StillReader:
    """Reads crops with the cross-reenactment's re-tracker (a static `FaceTracker`) against one
    subject's neutral still, read the same way (`neutral`)."""

    tracker: object
    config: Config
    neutral: np.ndarray | None = None
    _boosts: dict = field(init=False, default_factory=dict)

    def boost(self, renderer) -> ExpressionBoost:
        """The live loop's boost as `renderer` draws it (`stills.BOOSTED`), for the drawings."""
        key = bool(getattr(renderer, "draws_shading", True))
        if key not in self._boosts:
            self._boosts[key] = ExpressionBoost.from_config(self.config, renderer)
        return self._boosts[key]

    def read(self, crop: np.ndarray) -> np.ndarray | None:
        """(478,3) crop-pixel landmarks of `crop`, or None where no face was found."""
        from reenact_lab.eval.drive import retrack_output

        return retrack_output(self.tracker, np.ascontiguousarray(crop), self.config)

    def set_neutral(self, crop: np.ndarray) -> None:
        self.neutral = self.read(crop)

    def features(self, crop: np.ndarray) -> list[float]:
        """The six relative expression features of `crop` against the neutral (NaN where either
        has no face)."""
        found = self.read(crop)
        if found is None or self.neutral is None:
            return list(_MISSING)
        return [float(v) for v in relative_features(found[None], self.neutral)[0]]


@dataclass
class ReadBack:
    """One subject's readings: the real expression stills' and each renderer's drawings'."""

    truth: dict[str, list[float]] = field(default_factory=dict)  # condition -> features
    drawn: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # renderer -> ...

    def to_json(self) -> dict:
        return {"truth": self.truth, "drawn": self.drawn}


def read_summary(per_subject: dict[str, dict]) -> dict:
    """{renderer: {"read_gain", "read_r", "points", "features": {name: {"gain", "r"}}}} over
    every subject and condition of `per_subject` ({subject: ReadBack.to_json()}); a renderer
    that skipped a condition (NaN drawing) leaves that point out."""
    truth, drawn = {}, {}
    for subject in per_subject.values():
        for name, conditions in subject["drawn"].items():
            for condition, values in conditions.items():
                truth.setdefault(name, []).append(subject["truth"].get(condition, _MISSING))
                drawn.setdefault(name, []).append(values)
    out = {}
    for name in truth:
        a, o = np.array(truth[name], np.float64), np.array(drawn[name], np.float64)
        found = features_carried(a, o)
        out[name] = {
            "read_gain": found["gain"],
            "read_r": found["r"],
            "points": int((np.isfinite(a).all(1) & np.isfinite(o).all(1)).sum()),
            "features": {k: {"gain": v["gain"], "r": v["r"]} for k, v in found["features"].items()},
        }
    return out


def creases_rows(
    sets: list, renderers, still: AlignedStills, reader: StillReader, read: dict
) -> None:
    """Add `<renderer> + boost + creases` readings to `read` ({subject: ReadBack.to_json()}):
    each subject drawn as in `+ boost`, with the creases (`reenact.pipeline.creases`) of the
    next subject in `sets` making the same expression (its neutral still the reference, its
    expression still the frame), another face's folds as the live loop carries an actor's.
    Nothing with fewer than two subjects or with compose.creases = 0. renderers: the
    landmark-driven ones (`stills.BOOSTED` kinds are drawn); still: the run's
    `stills.AlignedStills` (its config's compose.creases is the strength)."""
    config = still.config
    if len(sets) < 2 or config.compose.creases <= 0:
        return
    drawn_by = [r for r in renderers if r.kind in BOOSTED]

    for index, subject in enumerate(sets):
        actor = sets[(index + 1) % len(sets)]
        crop, landmarks = still(subject.neutral)
        creases = Creases(size=crop.shape[0], strength=config.compose.creases, frames=1)
        actor_neutral = still(actor.neutral)
        creases.observe(*actor_neutral, actor_neutral[1], True)
        reader.set_neutral(crop)
        conditions = sorted(set(subject.expressions) & set(actor.expressions))
        ratios = {c: creases.ratio(*still(actor.expressions[c])) for c in conditions}
        drawn = read[subject.subject]["drawn"]
        for item in drawn_by:
            boost = reader.boost(item.renderer)
            asked = {
                c: boost.apply(still(subject.expressions[c])[1], landmarks) for c in conditions
            }
            item.renderer.set_target(crop, landmarks)  # once per renderer and subject
            rows = drawn.setdefault(f"{item.name} + boost + creases", {})
            for c in conditions:
                out = creases.apply(
                    np.array(item.renderer.render(asked[c]), copy=True), ratios[c], asked[c]
                )
                rows[c] = reader.features(out)
