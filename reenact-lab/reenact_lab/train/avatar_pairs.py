"""Self-reenactment pairs of one person's clips, for the avatar fine-tune (torch batches).

A pair is (clip, reference row, truth row) from the clip's training rows: the reference is the
appearance P_t (the clip's most neutral frame, or one of REFERENCES - 1 others spread over the
clip), the truth I_o another frame, whose landmark image is the condition. Half the truths are
drawn in proportion to their landmark distance from the reference (far-apart frames: the big
expressions the warp draws worst), half uniformly. Each sample is mirrored with probability 1/2
and colour / scale jittered (`reenact_lab.train.augment`), as `GeneratorDataset.item` does.

Samples are built as `GeneratorDataset.item` builds them, but kept uint8 until a whole batch is
converted at once (per-image tensor conversion cost more than the warp on a loaded CPU).
The warp input is rendered when drawn (`WarpRenderer.render`, ~8 ms at 256) from a renderer per
reference frame: no warp bank on disk, so a prepared folder carries only crops and landmarks.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from reenact.landmarks.landmark_image import draw_landmark_image
from reenact_lab.train.augment import (
    NO_AUGMENT,
    Augment,
    augment_image,
    augment_landmarks,
    draw_augment,
    flip_image,
)
from reenact_lab.train.avatar_data import AvatarData, neutral_row
from reenact.landmarks.flip import flip_landmarks
from reenact_lab.train.pairs import GeneratorPair

REFERENCES = 6  # appearance frames per clip: the neutral one and others spread over the clip
FAR_SHARE = 0.5  # truths drawn by landmark distance from the reference, the rest uniformly
AUGMENT_COLOUR, AUGMENT_SCALE = 0.1, 0.05  # the shipped recipe's jitter (train_generator.yaml)
VAL_FRAMES = 12  # validation truths per clip, evenly spaced over its held-out tail


class LazyWarps:
    """`WarpBank.get` made on demand: a `WarpRenderer` per (clip, reference row) and thread (a
    renderer keeps its buffers between calls, so threads do not share one)."""

    def __init__(self, crops: list[np.ndarray], landmarks: list[np.ndarray], size: int) -> None:
        self.crops, self.landmarks, self.size = crops, landmarks, size
        self._local = threading.local()

    def get(self, entry: int, reference: int, truth: int) -> np.ndarray:
        from reenact.render.warp import WarpRenderer

        renderers = self._local.__dict__.setdefault("renderers", {})
        renderer = renderers.get((entry, reference))
        if renderer is None:
            renderer = WarpRenderer(size=self.size)
            renderer.set_target(self.crops[entry][reference], self.landmarks[entry][reference])
            renderers[(entry, reference)] = renderer
        return renderer.render(self.landmarks[entry][truth])


def reference_rows(landmarks: np.ndarray, train: np.ndarray, count: int) -> np.ndarray:
    """The neutral training row first, then `count - 1` training rows evenly spaced."""
    first = neutral_row(landmarks, train)
    others = train[train != first]
    if count <= 1 or not len(others):
        return np.array([first])
    picks = np.unique(np.linspace(0, len(others) - 1, count - 1).round().astype(int))
    return np.array([first, *others[picks]])


class AvatarPairs:
    """Training and validation pairs of an `AvatarData`, and their batches."""

    def __init__(self, data: AvatarData, *, seed: int = 0, references: int = REFERENCES) -> None:
        self.crops = [c.crops for c in data.clips]
        self.landmarks = [c.landmarks for c in data.clips]
        self.size = data.size
        self.warps = LazyWarps(self.crops, self.landmarks, data.size)
        self.rng = np.random.default_rng(seed)
        self.train = [c.split()[0] for c in data.clips]
        self.refs = [
            reference_rows(c.landmarks, t, references) for c, t in zip(data.clips, self.train)
        ]
        weights = np.array([len(t) for t in self.train], np.float64)
        self.clip_weights = weights / weights.sum()
        self.val = self._validation(data)

    def _validation(self, data: AvatarData) -> list[GeneratorPair]:
        pairs = []
        for i, clip in enumerate(data.clips):
            _, val = clip.split()
            picks = np.unique(np.linspace(0, len(val) - 1, min(VAL_FRAMES, len(val))).round())
            pairs += [GeneratorPair(i, int(self.refs[i][0]), int(val[int(k)])) for k in picks]
        return pairs

    def sample(self) -> GeneratorPair:
        rng = self.rng
        i = int(rng.choice(len(self.train), p=self.clip_weights))
        ref = int(self.refs[i][int(rng.integers(len(self.refs[i])))])
        rows = self.train[i][self.train[i] != ref]
        if not len(rows):
            rows = self.train[i]
        if rng.random() < FAR_SHARE:
            xy = self.landmarks[i][:, :, :2]
            far = np.linalg.norm(xy[rows] - xy[ref], axis=2).mean(axis=1) + 1e-3
            return GeneratorPair(i, ref, int(rng.choice(rows, p=far / far.sum())))
        return GeneratorPair(i, ref, int(rows[int(rng.integers(len(rows)))]))

    def specs(self, size: int) -> list[_Spec]:
        """`size` random samples' draws (pair, mirror, jitter), made on the caller's thread so
        that the run's draws do not depend on how many threads build them."""
        return [
            _Spec(
                self.sample(),
                bool(self.rng.random() < 0.5),
                draw_augment(self.rng, colour=AUGMENT_COLOUR, scale=AUGMENT_SCALE, size=self.size),
            )
            for _ in range(size)
        ]

    def make(self, spec: _Spec) -> dict[str, np.ndarray]:
        """One sample as uint8 images (S,S,3|1) and (478,2) float32 landmarks, mirrored and
        jittered alike (as `GeneratorDataset.item`; converted to tensors a batch at a time)."""
        pair, aug = spec.pair, spec.aug
        images = [
            self.crops[pair.entry][pair.reference],
            self.crops[pair.entry][pair.truth],
            self.warps.get(pair.entry, pair.reference, pair.truth),
        ]
        landmarks = self.landmarks[pair.entry][pair.truth]
        if spec.flipped:
            images = [flip_image(im) for im in images]
            landmarks = flip_landmarks(landmarks, self.size)
        target, real, warped = (augment_image(im, aug) for im in images)
        landmarks = augment_landmarks(landmarks, aug, self.size)
        return {
            "target": target,
            "real": real,
            "warped": warped,
            "condition": draw_landmark_image(landmarks, self.size)[:, :, None],
            "landmarks": np.ascontiguousarray(landmarks[:, :2], np.float32),
        }

    def val_batch(self, pairs: list[GeneratorPair]) -> dict[str, torch.Tensor]:
        return stack([self.make(_Spec(p, False, NO_AUGMENT)) for p in pairs])


@dataclass(frozen=True)
class _Spec:
    pair: GeneratorPair
    flipped: bool
    aug: Augment


def stack(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Samples -> a batch: images (B,C,S,S) float32 in [-1,1] (as `image_to_tensor`, one
    conversion per batch), landmarks (B,478,2)."""
    batch = {}
    for key in items[0]:
        array = torch.from_numpy(np.stack([it[key] for it in items]))
        if key != "landmarks":
            array = array.permute(0, 3, 1, 2).float().mul_(1.0 / 127.5).sub_(1.0)
        batch[key] = array.contiguous()
    return batch


class Batches:
    """Training batches built by `workers` threads one batch ahead of the caller (numpy, cv2
    and the warp release the GIL, so a GPU is not kept waiting by one core)."""

    def __init__(self, pairs: AvatarPairs, batch_size: int, workers: int) -> None:
        self.pairs, self.batch_size = pairs, batch_size
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))
        # the stacking runs beside the training step too: on the caller's thread it held each
        # step up (the dated note avatar-recipe)
        self.stacker = ThreadPoolExecutor(max_workers=1)
        self._next: Future = self._submit()

    def _submit(self) -> Future:
        items = [self.pool.submit(self.pairs.make, s) for s in self.pairs.specs(self.batch_size)]
        return self.stacker.submit(lambda: stack([f.result() for f in items]))

    def next(self) -> dict[str, torch.Tensor]:
        ready, self._next = self._next, self._submit()
        return ready.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.stacker.shutdown(wait=True, cancel_futures=True)
