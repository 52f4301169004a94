"""Torch datasets of the two modules, keyed by (epoch, index) (see `reenact_lab.train.sampler`).

Every sample's randomness (which pair, whether flipped) comes from a generator seeded by
(seed, epoch, index), so a step's batch is the same in one process or several, and after resume.

FusionDataset item (Phi), landmarks in unit crop coordinates (x, y in [-1,1]):
    source L_s, target L_t, real J_o: (478,3) float32 (real is zeros when unpaired);
    paired: () float32 1/0; kind: () int64 index into FUSION_KINDS.
GeneratorDataset item (Omega), images (C,S,S) float32 in [-1,1]:
    target P_t (3), condition (1, the landmark image of the ground truth's aligned landmarks),
    real I_o (3) and, for the warp-guided variant, warped (3: the training-free warp of P_t to
    I_o's landmarks); landmarks (478,2) float32: I_o's aligned landmarks in crop pixels (for the
    local eye / mouth discriminators). P_t may come from another clip of the same person
    (`reenact_lab.train.pair_sampling`); colour / scale augmentation (`reenact_lab.train.augment`) is
    drawn once per sample and applied to all of it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from reenact.landmarks.landmark_image import draw_landmark_image
from reenact_lab.train.augment import (
    NO_AUGMENT,
    Augment,
    augment_image,
    augment_landmarks,
    draw_augment,
    flip_image,
)
from reenact_lab.train.cache import CacheEntry
from reenact.landmarks.flip import MIRROR_PERMUTATION, flip_landmarks
from reenact_lab.train.pairs import FUSION_KINDS, FusionPairs, GeneratorPair, GeneratorPairs
from reenact_lab.train.sampler import Key

_UNIT_MIRROR = np.array([-1.0, 1.0, 1.0], dtype=np.float32)  # x -> -x in unit coordinates


def sample_rng(seed: int, key: Key) -> np.random.Generator:
    """The generator of one sample's randomness."""
    epoch, index = key
    return np.random.default_rng([int(seed), int(epoch), int(index)])


def flip_unit(landmarks: np.ndarray) -> np.ndarray:
    """(478,3) unit crop coordinates of the mirrored face (indices permuted, x negated)."""
    return landmarks[MIRROR_PERMUTATION] * _UNIT_MIRROR


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(S,S,3) or (S,S) uint8 -> (3|1,S,S) float32 in [-1,1]."""
    t = torch.from_numpy(np.ascontiguousarray(image))
    t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
    return t.float().mul_(1.0 / 127.5).sub_(1.0)


def tensor_to_image(t: torch.Tensor) -> np.ndarray:
    """(3|1,S,S) float in [-1,1] -> (S,S,3) uint8 (a single channel is repeated)."""
    x = t.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    x = x.repeat(3, 1, 1) if x.shape[0] == 1 else x
    return np.ascontiguousarray(x.permute(1, 2, 0).numpy())


class FusionDataset(Dataset):
    """Phi's pairs (see `reenact_lab.train.pairs`), flipped left-right with probability 1/2."""

    def __init__(self, pairs: FusionPairs, *, seed: int, flip: bool, length: int = 0) -> None:
        self.pairs, self.seed, self.flip = pairs, seed, flip
        self.length = length or max(1, len(pairs.frames))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, key)
        pair = self.pairs.sample(rng)
        source, target = pair.source, pair.target
        real = pair.real if pair.real is not None else np.zeros_like(source)
        if self.flip and rng.random() < 0.5:
            source, target, real = flip_unit(source), flip_unit(target), flip_unit(real)
        return {
            "source": torch.from_numpy(np.ascontiguousarray(source, np.float32)),
            "target": torch.from_numpy(np.ascontiguousarray(target, np.float32)),
            "real": torch.from_numpy(np.ascontiguousarray(real, np.float32)),
            "paired": torch.tensor(float(pair.real is not None)),
            "kind": torch.tensor(FUSION_KINDS.index(pair.kind)),
        }


def resize_entry(entry: CacheEntry, size: int) -> tuple[np.ndarray, np.ndarray]:
    """An entry's crops and landmarks at crop side `size`: ((N,S,S,3) uint8, (N,478,3) float32)."""
    import cv2

    crops = entry.load_crops()
    if entry.size == size:
        return crops, entry.landmarks
    interp = cv2.INTER_AREA if size < entry.size else cv2.INTER_CUBIC
    resized = np.stack([cv2.resize(c, (size, size), interpolation=interp) for c in crops])
    return resized, entry.landmarks * np.float32(size / entry.size)


class GeneratorDataset(Dataset):
    """Omega's self-reenactment samples at crop side `size`.

    entries: the cache entries; crops / landmarks: theirs at `size` (see `resize_entry`);
    warps: a `WarpBank` for the warp-guided variant, else None.
    """

    def __init__(
        self,
        entries: list[CacheEntry],
        crops: list[np.ndarray],
        landmarks: list[np.ndarray],
        pairs: GeneratorPairs,
        *,
        size: int,
        seed: int,
        flip: bool,
        warps=None,
        augment_colour: float = 0.0,
        augment_scale: float = 0.0,
    ) -> None:
        self.entries, self.crops, self.landmarks = entries, crops, landmarks
        self.pairs, self.size, self.seed, self.flip, self.warps = pairs, size, seed, flip, warps
        self.augment_colour, self.augment_scale = augment_colour, augment_scale

    def __len__(self) -> int:
        return len(self.pairs.truths)

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, key)
        pair = self.pairs.sample(rng, key[1])
        flipped = self.flip and rng.random() < 0.5
        aug = draw_augment(
            rng, colour=self.augment_colour, scale=self.augment_scale, size=self.size
        )
        return self.item(pair, flipped=flipped, aug=aug)

    def item(
        self, pair: GeneratorPair, *, flipped: bool = False, aug: Augment = NO_AUGMENT
    ) -> dict[str, torch.Tensor]:
        """The sample of one (entry, reference, truth) pair, optionally mirrored and augmented."""
        target = self.crops[pair.appearance_entry][pair.reference]
        real = self.crops[pair.entry][pair.truth]
        truth_landmarks = self.landmarks[pair.entry][pair.truth]
        warped = None
        if self.warps and pair.reference_entry < 0:
            warped = self.warps.get(pair.entry, pair.reference, pair.truth)
        if flipped:
            target, real = flip_image(target), flip_image(real)
            truth_landmarks = flip_landmarks(truth_landmarks, self.size)
            warped = flip_image(warped) if warped is not None else None
        target, real = augment_image(target, aug), augment_image(real, aug)
        truth_landmarks = augment_landmarks(truth_landmarks, aug, self.size)
        warped = augment_image(warped, aug) if warped is not None else None
        sample = {
            "target": image_to_tensor(target),
            "condition": image_to_tensor(draw_landmark_image(truth_landmarks, self.size)),
            "real": image_to_tensor(real),
            "landmarks": torch.from_numpy(np.ascontiguousarray(truth_landmarks[:, :2], np.float32)),
        }
        if warped is not None:
            sample["warped"] = image_to_tensor(warped)
        return sample


def generator_input(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Omega's input: cat(P_t, landmark image[, warp]) -> (B, 4|7, S, S), the layout
    `reenact.render.generator` feeds at run time."""
    parts = [batch["target"], batch["condition"]]
    if "warped" in batch:
        parts.append(batch["warped"])
    return torch.cat(parts, dim=1)
