"""Landmark-only training data for the residual Phi (`reenact_lab.nn.fusion_residual`).

Reads the per-clip `.npz` files of `reenact_lab.train.landmark_cache` (aligned 256-crop pixels) and
groups them by *person*, since some people appear in several clips (the splits file's
`identity_groups`, `reenact_lab.train.splits`). Each
person gets a neutral: for a clip, the per-point median of its least expressive tenth of frames
(`reenact.landmarks.expressiveness.expressiveness`); for a labelled-stills subject, the median
of their neutral stills. Three kinds of pairs (all in unit crop coordinates,
`reenact_lab.train.pairs.unit_landmarks`):

    labelled  stills: person A with expression e drives person B's neutral; J_o = B with e
    matched   clips: a frame of person A drives person B's neutral; J_o = B's frame whose
              expression features (over each face's region sizes) are nearest to A's
    unpaired  any frame of A drives B's neutral; no J_o (cycle and adversarial terms only)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reenact.errors import InputError
from reenact.landmarks.expressiveness import expressiveness, relative
from reenact_lab.train.pairs import unit_landmarks
from reenact_lab.train.splits import FusionSplits, read_splits

SIZE = 256
KINDS = ("labelled", "matched", "unpaired")
NEUTRAL_CONDITIONS = ("normal", "noglasses", "centerlight")
STILL_LABELS = ("normal", "happy", "sad", "sleepy", "surprised", "wink")
NEUTRAL_FRACTION = 0.1
MATCH_MAX = 0.05  # largest mean feature distance (region-size units) of a matched pair


@dataclass
class Person:
    """One person's frames (F,478,3) unit coordinates, neutral (478,3), and per frame the
    expression features over the region sizes (F,6); labels for labelled stills ("" else);
    stills: whether they are a labelled-stills subject (else a clip person)."""

    name: str
    frames: np.ndarray
    neutral: np.ndarray
    scaled: np.ndarray
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, str))
    stills: bool = False


def _person(name: str, frames_px: np.ndarray, neutral_px: np.ndarray, labels=None) -> Person:
    return Person(
        name,
        unit_landmarks(frames_px, SIZE),
        unit_landmarks(neutral_px, SIZE),
        relative(frames_px, neutral_px),
        np.asarray(labels if labels is not None else [""] * len(frames_px)),
        stills=labels is not None,
    )


def clip_neutral(frames_px: np.ndarray) -> np.ndarray:
    """(F,478,3) pixels of one person -> (478,3): median of the least expressive tenth."""
    score = expressiveness(frames_px)
    keep = np.argsort(score)[: max(5, int(NEUTRAL_FRACTION * len(frames_px)))]
    return np.median(frames_px[keep], axis=0).astype(np.float32)


def _stills_people(path: Path, subjects: set[str] | None, prefix: str) -> list[Person]:
    with np.load(path, allow_pickle=False) as data:
        landmarks, names = data["landmarks"], data["names"]
    people = []
    by_subject: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if np.isfinite(landmarks[i]).all():
            by_subject.setdefault(str(name).split("_")[0], []).append(i)
    for subject, rows in sorted(by_subject.items()):
        ident = f"{prefix}{subject}"
        if subjects is not None and ident not in subjects:
            continue
        conditions = [str(names[i]).split("_", 1)[1].rsplit(".", 1)[0] for i in rows]
        neutral_rows = [i for i, c in zip(rows, conditions) if c in NEUTRAL_CONDITIONS]
        keep = [(i, c) for i, c in zip(rows, conditions) if c in STILL_LABELS]
        if not neutral_rows or not keep:
            continue
        neutral = np.median(landmarks[neutral_rows], axis=0).astype(np.float32)
        people.append(
            _person(ident, landmarks[[i for i, _ in keep]], neutral, [c for _, c in keep])
        )
    return people


def _landmark_files(cache: str | Path) -> list[Path]:
    """A landmark cache's `.npz` files in name order; InputError naming the folder if none."""
    folder = Path(cache)
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise InputError(
            f"{folder}: no landmark files; run python -m reenact_lab.train.landmark_cache first"
        )
    return files


def cache_digest(cache: str | Path) -> str:
    """A fingerprint of a landmark cache's contents: 16 hex digits of SHA-256 over each `.npz`
    file's name and its arrays (names, dtypes, shapes and values), in name order.

    Phi's fit follows the tracking closely: the same command re-tracking the same media on
    another day moved the mean face by up to 0.017 of a unit and the chosen beta from 0.7 to 0.75
    (stop 53). The weights record the digest (`cache_digest` in their metadata), so a refit or a
    score can tell whether it sees the landmarks the file was fitted on. The arrays are hashed, not
    the files' bytes, so the same landmarks stored otherwise (compressed, another numpy's zip
    layout) keep their digest."""
    digest = hashlib.sha256()
    for path in _landmark_files(cache):
        digest.update(path.name.encode() + b"\0")
        with np.load(path, allow_pickle=False) as data:
            for key in sorted(data.files):
                value = np.ascontiguousarray(data[key])
                digest.update(f"{key}:{value.dtype.str}:{value.shape}".encode() + b"\0")
                digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def load_people(
    cache: str | Path, *, include=None, exclude=(), splits: FusionSplits | None = None
) -> list[Person]:
    """Every person in a landmark cache folder (`<clip>.npz`, and the splits' `stills_entry`
    for the labelled stills).

    include: person names to keep (None = all); exclude: person names to drop; splits: who is
    whom (default: `configs/splits/fusion.yaml`)."""
    splits = splits or read_splits()
    files = _landmark_files(cache)
    wanted = None if include is None else set(include)
    clips: dict[str, list[np.ndarray]] = {}
    people: list[Person] = []
    for path in files:
        if path.stem == splits.stills_entry:
            people += [
                p
                for p in _stills_people(path, wanted, splits.stills_prefix)
                if p.name not in exclude
            ]
            continue
        person = splits.identity_of(path.stem)
        if person in exclude or (wanted is not None and person not in wanted):
            continue
        with np.load(path, allow_pickle=False) as data:
            lm = data["landmarks"]
        clips.setdefault(person, []).append(lm[np.isfinite(lm).all(axis=(1, 2))])
    for person, parts in sorted(clips.items()):
        frames = np.concatenate(parts)
        if len(frames) >= 20:
            people.append(_person(person, frames, clip_neutral(frames)))
    return people


def numbered_pairs(people: list[Person]) -> list[tuple[Person, int, Person, int]]:
    """Every (A, A's still, B, B's still) of two labelled-stills people with the same label,
    A != B."""
    stills = [p for p in people if p.stills]
    pairs = []
    for a in stills:
        for b in stills:
            if a is b:
                continue
            for i, label in enumerate(a.labels):
                pairs += [(a, i, b, j) for j in np.flatnonzero(b.labels == label)]
    return pairs


class PairSampler:
    """Batches of Phi's pairs, as numpy arrays of unit coordinates (see the module docstring)."""

    def __init__(self, people: list[Person], mix: tuple[float, float, float], seed: int) -> None:
        self.people = people
        self.clips = [p for p in people if not p.stills]
        self.labelled = numbered_pairs(people)
        weights = np.array(mix, float) * [bool(self.labelled), len(self.clips) >= 2, 1.0]
        if weights.sum() <= 0 or len(people) < 2:
            raise InputError("fusion training needs two or more people")
        self.weights = weights / weights.sum()
        self.rng = np.random.default_rng(seed)

    def _other(self, pool: list[Person], person: Person) -> Person:
        while True:
            other = pool[int(self.rng.integers(len(pool)))]
            if other is not person:
                return other

    def _pair(self, kind: str):
        rng = self.rng
        if kind == "labelled":
            a, i, b, j = self.labelled[int(rng.integers(len(self.labelled)))]
            return a.frames[i], a.neutral, b.neutral, b.frames[j], (a.name, b.name)
        pool = self.clips if kind == "matched" else self.people
        a = pool[int(rng.integers(len(pool)))]
        i = int(rng.integers(len(a.frames)))
        b = self._other(pool, a)
        if kind == "matched":
            distance = np.abs(b.scaled - a.scaled[i]).mean(axis=1)
            j = int(np.argmin(distance))
            if distance[j] <= MATCH_MAX:
                return a.frames[i], a.neutral, b.neutral, b.frames[j], (a.name, b.name)
        return a.frames[i], a.neutral, b.neutral, None, (a.name, b.name)

    def batch(self, size: int) -> dict[str, np.ndarray]:
        """source, source_neutral, target, real: (size,478,3) float32; paired (size,) 0/1;
        people: (size,2) the source's and the target's names."""
        kinds = self.rng.choice(len(KINDS), size=size, p=self.weights)
        rows = [self._pair(KINDS[k]) for k in kinds]
        real = [r[3] if r[3] is not None else np.zeros_like(r[0]) for r in rows]
        return {
            "source": np.stack([r[0] for r in rows]),
            "source_neutral": np.stack([r[1] for r in rows]),
            "target": np.stack([r[2] for r in rows]),
            "real": np.stack(real),
            "paired": np.array([r[3] is not None for r in rows], np.float32),
            "people": np.array([r[4] for r in rows]),
        }
