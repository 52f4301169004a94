"""Training pairs from the prepared cache: the identity split, Phi's landmark pairs, Omega's
self-reenactment pairs (docs/DATA.md defines every pair type).

Phi (J_gen = L_t + Phi(L_s, L_t)), three kinds, mixed by `train.fusion_mix`:

    cross     L_s = person A with expression e (a labelled still or frame)
              L_t = person B neutral (B's neutral still / reference frame)
              J_o = person B with expression e                 (A != B, same label e)
    same      L_s = frame i of an entry, L_t = the entry's neutral reference frame,
              J_o = L_s: on its own face, Phi must return the actor's own deviation L_s - L_t
    unpaired  L_s = any frame of identity A, L_t = the neutral of another identity B;
              no J_o: only the adversarial and cycle losses apply

Omega (self-reenactment): from one entry, a reference frame is the appearance P_t, another frame
is the ground truth I_o, and the landmark image of I_o's own aligned landmarks is the condition.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reenact.errors import ConfigError, InputError
from reenact_lab.train.cache import CacheEntry
from reenact_lab.train.sources import neutral_variants

FUSION_KINDS = ("cross", "same", "unpaired")
Frame = tuple[int, int]  # (entry index, frame index)


@dataclass(frozen=True)
class Split:
    """Entries for training and for validation, split by identity."""

    train: list[CacheEntry]
    val: list[CacheEntry]

    @property
    def val_identities(self) -> list[str]:
        return sorted({e.identity for e in self.val})


def _stable_order(identities: Sequence[str]) -> list[str]:
    return sorted(identities, key=lambda s: (zlib.crc32(s.encode()), s))


def split_by_identity(entries: list[CacheEntry], holdout: Sequence[str], fraction: float) -> Split:
    """Hold out the identities named in `holdout` (identity or entry names), or else a
    deterministic `fraction` of them (at least one when there are two or more, never all):
    the first ones in order of crc32(identity), which stays put as data is added."""
    identities = sorted({e.identity for e in entries})
    if holdout:
        names = {e.name: e.identity for e in entries}
        unknown = [h for h in holdout if h not in identities and h not in names]
        if unknown:
            raise ConfigError(
                f"train.val_holdout: {', '.join(unknown)} not in the data "
                f"(identities: {', '.join(identities)})"
            )
        held = {names.get(h, h) for h in holdout}
    elif len(identities) < 2 or fraction <= 0:
        held = set()
    else:
        count = min(len(identities) - 1, max(1, round(fraction * len(identities))))
        held = set(_stable_order(identities)[:count])
    train = [e for e in entries if e.identity not in held]
    if not train:
        raise ConfigError("train.val_holdout holds out every identity; leave some for training")
    return Split(train=train, val=[e for e in entries if e.identity in held])


def unit_landmarks(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(..., 478, 3) crop pixels -> unit crop coordinates (x, y in [-1,1], z scaled alike), as
    `reenact_lab.nn.fusion.crop_to_unit`; float32."""
    unit = np.asarray(landmarks, dtype=np.float32) * np.float32(2.0 / size)
    unit[..., :2] -= 1.0
    return unit


@dataclass(frozen=True)
class LandmarkPair:
    """One of Phi's pairs: (478,3) unit crop coordinates; `real` is None if unpaired.
    source_neutral: the source identity's neutral (None if it has none), for the training-free
    baseline in validation."""

    kind: str
    source: np.ndarray
    target: np.ndarray
    real: np.ndarray | None
    source_neutral: np.ndarray | None = None


class FusionPairs:
    """Pools of frames by identity and label, and a sampler of Phi's pairs."""

    def __init__(self, entries: list[CacheEntry], mix: Sequence[float]) -> None:
        if len(mix) != len(FUSION_KINDS) or any(m < 0 for m in mix):
            raise ConfigError(
                f"train.fusion_mix: expected 3 weights >= 0 "
                f"({', '.join(FUSION_KINDS)}), got {list(mix)}"
            )
        self.entries = entries
        self.unit = [unit_landmarks(e.landmarks, e.size) for e in entries]
        self.frames: list[Frame] = [
            (i, int(j)) for i, e in enumerate(entries) for j in e.valid_indices
        ]
        self.neutrals: dict[str, list[Frame]] = {}
        self.labelled: dict[str, dict[str, list[Frame]]] = {}
        for i, entry in enumerate(entries):
            self._index_entry(i, entry)
        self.cross_labels = [
            label
            for label, by_id in sorted(self.labelled.items())
            if len(by_id) >= 2 and sum(ident in self.neutrals for ident in by_id) >= 1
        ]
        available = {
            "cross": bool(self.cross_labels),
            "same": bool(self.frames),
            "unpaired": len(self.neutrals) >= 2 and bool(self.frames),
        }
        weights = np.array([m if available[k] else 0.0 for k, m in zip(FUSION_KINDS, mix)])
        if weights.sum() <= 0:
            raise InputError(
                "no landmark pairs for the fusion module: need labelled stills of "
                "two or more people, or clips (and a train.fusion_mix weight > 0)"
            )
        self.weights = weights / weights.sum()

    def _index_entry(self, i: int, entry: CacheEntry) -> None:
        ident = entry.identity
        valid = entry.valid
        neutral = (entry.expression == "neutral") | np.isin(entry.variant, list(neutral_variants()))
        frames = [int(j) for j in np.flatnonzero(neutral & valid)]
        if entry.kind != "images" and entry.reference >= 0:
            frames.append(entry.reference)
        if frames:
            self.neutrals.setdefault(ident, []).extend((i, j) for j in frames)
        for j in np.flatnonzero(valid & (entry.expression != "")):
            label = str(entry.expression[j])
            self.labelled.setdefault(label, {}).setdefault(ident, []).append((i, int(j)))

    def landmarks(self, frame: Frame) -> np.ndarray:
        """Unit crop coordinates (478,3) of one frame."""
        entry_index, frame_index = frame
        return self.unit[entry_index][frame_index]

    def _pick(self, rng: np.random.Generator, frames: Sequence[Frame]) -> Frame:
        return frames[int(rng.integers(len(frames)))]

    def _cross(self, rng: np.random.Generator) -> LandmarkPair:
        label = self.cross_labels[int(rng.integers(len(self.cross_labels)))]
        by_id = self.labelled[label]
        targets = [ident for ident in sorted(by_id) if ident in self.neutrals]
        target_id = targets[int(rng.integers(len(targets)))]
        sources = [ident for ident in sorted(by_id) if ident != target_id]
        source_id = sources[int(rng.integers(len(sources)))]
        return LandmarkPair(
            "cross",
            self.landmarks(self._pick(rng, by_id[source_id])),
            self.landmarks(self._pick(rng, self.neutrals[target_id])),
            self.landmarks(self._pick(rng, by_id[target_id])),
            self._neutral_of(source_id),
        )

    def _neutral_of(self, identity: str) -> np.ndarray | None:
        frames = self.neutrals.get(identity)
        return self.landmarks(frames[0]) if frames else None

    def _same(self, rng: np.random.Generator) -> LandmarkPair:
        entry_index, frame_index = self._pick(rng, self.frames)
        entry = self.entries[entry_index]
        reference = entry.reference if entry.reference >= 0 else frame_index
        source = self.unit[entry_index][frame_index]
        neutral = self.unit[entry_index][reference]
        return LandmarkPair("same", source, neutral, source, neutral)

    def _unpaired(self, rng: np.random.Generator) -> LandmarkPair:
        entry_index, frame_index = self._pick(rng, self.frames)
        own = self.entries[entry_index].identity
        others = [ident for ident in sorted(self.neutrals) if ident != own]
        target_id = others[int(rng.integers(len(others)))]
        source = self.unit[entry_index][frame_index]
        return LandmarkPair(
            "unpaired",
            source,
            self.landmarks(self._pick(rng, self.neutrals[target_id])),
            None,
            self._neutral_of(own),
        )

    def sample(self, rng: np.random.Generator, kind: str | None = None) -> LandmarkPair:
        """A random pair; its kind drawn by the mix weights unless given."""
        if kind is None:
            kind = FUSION_KINDS[int(rng.choice(len(FUSION_KINDS), p=self.weights))]
        return {"cross": self._cross, "same": self._same, "unpaired": self._unpaired}[kind](rng)

    def counts(self) -> dict[str, int]:
        """How many frames / identities / labels each kind draws from (for the run log)."""
        return {
            "frames": len(self.frames),
            "identities_with_neutral": len(self.neutrals),
            "cross_labels": len(self.cross_labels),
        }


def omega_candidates(entry: CacheEntry) -> np.ndarray:
    """Frames of an entry usable as Omega's reference or ground truth: every valid frame of a
    clip / sequence; the valid labelled stills of a still group (variants are left out)."""
    valid = entry.valid
    if entry.kind == "images":
        valid = valid & (entry.expression != "")
    return np.flatnonzero(valid)


def reference_frames(entry: CacheEntry, count: int) -> np.ndarray:
    """The appearance frames of an entry: its neutral reference first, then `count - 1` more,
    evenly spaced over the candidates (count 0 = every candidate)."""
    candidates = omega_candidates(entry)
    if count <= 0 or len(candidates) <= count:
        return candidates
    first = entry.reference if entry.reference in candidates else int(candidates[0])
    others = candidates[candidates != first]
    spaced = np.linspace(0, len(others) - 1, count - 1).round().astype(int)
    return np.array([first, *others[spaced]], dtype=np.int64)


@dataclass(frozen=True)
class GeneratorPair:
    """(entry index, reference frame, ground-truth frame) of a self-reenactment pair; the
    reference comes from entry `reference_entry` when >= 0 (another clip of the same person)."""

    entry: int
    reference: int
    truth: int
    reference_entry: int = -1

    @property
    def appearance_entry(self) -> int:
        """The entry whose frame `reference` is the appearance P_t."""
        return self.entry if self.reference_entry < 0 else self.reference_entry


class GeneratorPairs:
    """Self-reenactment pairs of Omega: every candidate frame is a ground truth once per epoch."""

    def __init__(self, entries: list[CacheEntry], *, reference_count: int) -> None:
        self.entries = entries
        self.references = [reference_frames(e, reference_count) for e in entries]
        self.truths: list[Frame] = [
            (i, int(j))
            for i, e in enumerate(entries)
            if len(omega_candidates(e)) >= 2
            for j in omega_candidates(e)
        ]
        if not self.truths:
            raise InputError(
                "no self-reenactment pairs for the generator: need clips, or two or "
                "more labelled stills of one person"
            )

    def sample(self, rng: np.random.Generator, position: int) -> GeneratorPair:
        """The pair whose ground truth is truth number `position` (mod the count), with a random
        reference frame other than it (when the entry has another)."""
        entry_index, truth = self.truths[position % len(self.truths)]
        refs = self.references[entry_index]
        others = refs[refs != truth]
        pool = others if len(others) else refs
        return GeneratorPair(entry_index, int(pool[int(rng.integers(len(pool)))]), truth)


def validation_pairs(entries: list[CacheEntry], frames_per_entry: int) -> list[GeneratorPair]:
    """Fixed self-reenactment pairs of held-out entries: the neutral reference frame drives up to
    `frames_per_entry` evenly spaced ground-truth frames."""
    pairs = []
    for i, entry in enumerate(entries):
        candidates = omega_candidates(entry)
        reference = entry.reference if entry.reference in candidates else None
        if reference is None or len(candidates) < 2:
            continue
        truths = candidates[candidates != reference]
        picks = np.unique(
            np.linspace(0, len(truths) - 1, min(frames_per_entry, len(truths))).round().astype(int)
        )
        pairs += [GeneratorPair(i, reference, int(truths[k])) for k in picks]
    return pairs
