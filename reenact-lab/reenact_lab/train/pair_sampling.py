"""Omega's training pairs that teach what matters: big expression changes and other clips.

`ExpressionPairs` draws, for each ground-truth frame I_o (every candidate once per epoch, as
`GeneratorPairs`), the appearance frame P_t:

- with probability `cross_clip`, from another clip of the same person (identity groups,
  `reenact_lab.train.identities`), when there is one: other light, other pose, other day;
- else with probability `far`, from the same clip with probability proportional to the
  expression distance d(P_t, I_o) (`expression_features`: mouth, eyes and brows in the aligned
  crop, mean point distance in crop pixels), so far-apart expressions come more often than
  neighbouring frames, whose expression barely differs;
- else uniformly from the clip's reference frames (the paper's self-reenactment).
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact_lab.train.cache import CacheEntry
from reenact_lab.train.pairs import GeneratorPair, GeneratorPairs, omega_candidates

_EXPRESSION_POINTS = np.unique(
    np.concatenate(
        [
            REGIONS[name]
            for name in (
                "lips_outer",
                "lips_inner",
                "left_eye",
                "right_eye",
                "left_brow",
                "right_brow",
            )
        ]
    )
)


def expression_features(landmarks: np.ndarray) -> np.ndarray:
    """(N,478,3) aligned crop landmarks -> (N,K,2) float32 of the mouth, eyes and brows (NaN
    rows stay NaN)."""
    return np.ascontiguousarray(landmarks[:, _EXPRESSION_POINTS, :2], np.float32)


def expression_distance(features: np.ndarray, truth: int, frames: np.ndarray) -> np.ndarray:
    """(len(frames),) mean point distance (crop pixels) of each frame's expression to `truth`'s."""
    diff = features[frames] - features[truth][None]
    return np.sqrt((diff * diff).sum(axis=2)).mean(axis=1)


class ExpressionPairs(GeneratorPairs):
    """`GeneratorPairs` with far-apart and cross-clip appearance frames (module docstring).

    far, cross_clip: probabilities in [0,1] (their sum at most 1 is not required: cross-clip is
    tried first, far second).
    """

    def __init__(
        self,
        entries: list[CacheEntry],
        *,
        reference_count: int,
        far: float = 0.5,
        cross_clip: float = 0.0,
    ) -> None:
        super().__init__(entries, reference_count=reference_count)
        self.far, self.cross_clip = float(far), float(cross_clip)
        self.features = [expression_features(e.landmarks) for e in entries]
        by_identity: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            if len(omega_candidates(entry)) and entry.kind != "images":
                by_identity.setdefault(entry.identity, []).append(i)
        self.other_clips = [
            [j for j in by_identity.get(e.identity, []) if j != i] for i, e in enumerate(entries)
        ]

    def sample(self, rng: np.random.Generator, position: int) -> GeneratorPair:
        entry_index, truth = self.truths[position % len(self.truths)]
        others = self.other_clips[entry_index]
        if others and rng.random() < self.cross_clip:
            source = others[int(rng.integers(len(others)))]
            pool = self.references[source]
            return GeneratorPair(
                entry_index, int(pool[int(rng.integers(len(pool)))]), truth, reference_entry=source
            )
        refs = self.references[entry_index]
        pool = refs[refs != truth] if len(refs) > 1 else refs
        if len(pool) > 1 and rng.random() < self.far:
            distance = expression_distance(self.features[entry_index], truth, pool)
            weight = np.nan_to_num(distance, nan=0.0) + 1e-3
            pick = int(rng.choice(len(pool), p=weight / weight.sum()))
            return GeneratorPair(entry_index, int(pool[pick]), truth)
        return GeneratorPair(entry_index, int(pool[int(rng.integers(len(pool)))]), truth)

    def counts(self) -> dict[str, int]:
        """Truth frames, entries with a same-person other clip (for the run log)."""
        return {
            "truths": len(self.truths),
            "entries_with_other_clips": sum(1 for o in self.other_clips if o),
        }
