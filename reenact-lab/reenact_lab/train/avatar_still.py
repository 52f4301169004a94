"""A one-shot fine-tune on one picture (`reenact avatar train --still`; an experiment).

With no video there is no second frame of the person, so pairs are made from the picture
itself: the picture warped (`WarpRenderer`) to scripted expressions (mouth opened, smile, a lid
closed, brows moved; `reenact.landmarks.scripted`) becomes the appearance P_t, and the network
learns to give back the real picture from the warp of that variant to the picture's own
landmarks: what the warp's round trip loses (texture, lids, lips) on this face.

Validation still needs held-out frames of the person (the clips' tails): the note of
2026-11-27-avatar-training.md says whether this helps there.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.scripted import brows_up, close_eye, mouth_open, smile
from reenact_lab.train.avatar_data import AvatarData
from reenact_lab.train.avatar_pairs import AvatarPairs
from reenact_lab.train.pairs import GeneratorPair

VARIANTS = 32  # scripted expressions of the picture: enough that no two batches repeat much


def scripted_variant(neutral: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(478,3) crop px: the picture's landmarks with a random scripted expression."""
    dev = mouth_open(neutral, float(rng.uniform(0.0, 0.6)))
    dev += smile(neutral, float(rng.uniform(-0.3, 1.0)))
    dev += brows_up(neutral, float(rng.uniform(-0.5, 1.0)))
    if rng.random() < 0.3:
        amount = float(rng.uniform(0.5, 1.0))
        dev += close_eye(neutral, "left", amount) + close_eye(neutral, "right", amount)
    return (neutral + dev).astype(np.float32)


def still_variants(
    crop: np.ndarray, landmarks: np.ndarray, count: int, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """((count+1,S,S,3) uint8, (count+1,478,3)): the picture first, then its warped variants."""
    from reenact.render.warp import WarpRenderer

    renderer = WarpRenderer(size=size)
    renderer.set_target(crop, landmarks)
    marks = [landmarks.astype(np.float32)] + [
        scripted_variant(landmarks, rng) for _ in range(count)
    ]
    crops = [crop] + [renderer.render(m) for m in marks[1:]]
    return np.stack(crops), np.stack(marks)


class StillPairs(AvatarPairs):
    """Training pairs from the picture alone (a warped variant -> the picture); validation
    pairs from the clips' held-out tails, as `AvatarPairs`."""

    def __init__(self, data: AvatarData, *, seed: int = 0, variants: int = VARIANTS) -> None:
        super().__init__(data, seed=seed)
        if data.picture_crop is None or data.picture_landmarks is None:
            raise ValueError("a still fine-tune needs the picture's crop and landmarks")
        crops, marks = still_variants(
            data.picture_crop, data.picture_landmarks, variants, data.size, self.rng
        )
        self.crops.append(crops)  # LazyWarps reads these same lists
        self.landmarks.append(marks)
        self.still = len(self.crops) - 1

    def sample(self) -> GeneratorPair:
        ref = 1 + int(self.rng.integers(len(self.crops[self.still]) - 1))
        return GeneratorPair(self.still, ref, 0)
