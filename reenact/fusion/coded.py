"""Phi as an expression-code autoencoder: the actor's expression is encoded as a few numbers and
decoded onto the target's face, with what the code does not explain passed through, damped.

    J_gen = L_t + intensity * (S_t (Dec(Enc1(d)) + beta * (d' - Dec(Enc1(d)))) + s * pose)

- d: the actor's deviation from their neutral N_s with the head pose undone (`undo_pose`), and
  d' the same deviation resized per region onto a mean face (`TrainingFreeFusion.point_scales`
  N_s -> mean face): every face's expression in one geometry.
- Enc1: the code. The six expression features of `reenact.landmarks.expressiveness.relative`
  (mouth opening and width, each lid gap, each brow height, over their region's size); in
  weights fitted with `--lift` (metadata `lift`: 1) also a smile's lift (`expressiveness.lift`,
  the mouth corners' rise above the nose base over the mouth's width); and the coordinates of d'
  on `k` principal directions of what the features leave unexplained.
- Dec: linear, code -> deviation on the mean face. Fitted so that a code decodes to the mean
  deviation of the people who made it: the features decode to their own values (a smile
  keeps its width, an open mouth its opening, a blink its lids; to first order, the features
  being distances), but in the *average* person's way, not the actor's.
- beta: how much of the actor's own way (d' minus its decoding) passes through. Across people
  that part is mostly the actor's idiosyncrasy and raises the error against how the target would
  really make the expression; on the actor's own face it is real. beta is the smallest value
  whose self-reenactment on validation clips is no worse than the training-free transfer's.
- Enc2 / S_t: the target's geometry, as the per-region size ratios mean face -> L_t.
- pose: the rigid head motion that was undone, passed on as the training-free transfer does (the
  live loop's head motion has already removed it, in every `head.motion` mode; a caller
  that passes the actor's landmarks as tracked gets their pose back on the target).

A neutral actor leaves the target exactly at L_t. The parts that depend only on the neutrals are
computed once per pair; a frame costs a rigid fit, six distances and three small products.
Weights: `reenact/models/fusion.safetensors` (arch `fusion_code`), written by `python -m
reenact_lab.train.fusion_code`; see the model card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.engine.arrays import load_arrays
from reenact.errors import WeightsError
from reenact.fusion.memo import NeutralMemo
from reenact.fusion.target_neutral import to_pixels
from reenact.fusion.transfer import INTENSITY_RANGE, TrainingFreeFusion, check_landmarks
from reenact.landmarks.expressiveness import FEATURES, corner_height, features, region_sizes
from reenact.landmarks.head_pose import RigidReference
from reenact.landmarks.tracker import NUM_LANDMARKS

ARCH = "fusion_code"
NUM_FEATURES = len(FEATURES)
_MOUTH = FEATURES.index("mouth_width")


@dataclass(frozen=True)
class _Neutrals:
    """What depends only on the two neutrals: point scales actor -> mean face, mean face ->
    target and actor -> target ((478,2) each), the actor neutral's features and region sizes
    ((6,) each, as `expressiveness.relative` divides by them), its mouth corners' height
    (as `expressiveness.lift` reads it) and the reference side of its rigid fit."""

    to_mean: np.ndarray
    to_target: np.ndarray
    direct: np.ndarray
    features: np.ndarray
    sizes: np.ndarray
    corners: float
    rigid: RigidReference


def scale_deviation(deviation: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(..., 478, 3) deviations times (478,2) per-point x, y scales; z goes with x, as in the
    training-free transfer."""
    out = np.array(deviation, np.float64)
    out[..., :2] *= scales
    out[..., 2] *= scales[..., 0]
    return out


class CodeFusion:
    """`fuse(source, source_neutral, target_neutral, intensity) -> (478,3)`, see the module doc.

    arrays (unit crop coordinates, as `reenact_lab.train.fusion_code.fit` writes them): "mean_face"
    (478,3), "decoder" (c + k, 1434): rows decode the c named features (the six, then with
    `lift` the smile's lift), then the k coordinates; those k rows are orthonormal, the
    directions the coordinates are also read on (`directions`). beta: share of the unexplained
    part passed through; size: the aligned crop side the landmarks are in.
    """

    name = "network"

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        *,
        beta: float,
        size: int,
        lift: bool = False,
        weights: Path | None = None,
    ) -> None:
        self.size = int(size)
        self.beta = float(beta)
        self.lift = bool(lift)
        self.codes = NUM_FEATURES + int(self.lift)  # the named features' decoder rows
        self.weights = weights
        self.mean_face = to_pixels(arrays["mean_face"], self.size)
        unit = np.asarray(arrays["decoder"], np.float64)
        if unit.ndim != 2 or unit.shape[0] < self.codes or unit.shape[1] != NUM_LANDMARKS * 3:
            raise WeightsError(
                f"{weights or 'fusion code'}: decoder of shape {unit.shape}, "
                f"expected ({self.codes} + k, {NUM_LANDMARKS * 3})"
            )
        self.directions = unit[self.codes :]  # read in unit coordinates (decode: px * 2 / size)
        self.decoder = unit * (self.size / 2.0)  # decodes to pixels of this crop size
        self.free = TrainingFreeFusion()
        self._neutrals = NeutralMemo(self._read_neutrals)  # computed once per pair

    @classmethod
    def from_weights(cls, path: Path, config: Config) -> CodeFusion:
        tensors, meta = load_arrays(path, dtype=np.float32)
        try:
            arrays = {k: tensors[k] for k in ("mean_face", "decoder")}
            beta = float(meta["beta"])
            lift = int(meta.get("lift", 0))  # weights of before 2026-11-25 decode six features
        except (KeyError, ValueError) as exc:
            raise WeightsError(f"{path}: incomplete {ARCH} weights ({exc})") from None
        return cls(
            arrays, beta=beta, size=config.renderer.size, lift=bool(lift), weights=Path(path)
        )

    def _read_neutrals(self, source_neutral: np.ndarray, target_neutral: np.ndarray) -> _Neutrals:
        """The `_Neutrals` of this pair (`_neutrals` keeps them while both stay the same)."""
        point_scales = self.free.point_scales
        return _Neutrals(
            point_scales(source_neutral, self.mean_face),
            point_scales(self.mean_face, target_neutral),
            point_scales(source_neutral, target_neutral),
            features(source_neutral),
            region_sizes(source_neutral),
            float(corner_height(source_neutral)),
            RigidReference(source_neutral),
        )

    def decode(
        self, expression: np.ndarray, source_neutral: np.ndarray, neutrals: _Neutrals
    ) -> np.ndarray:
        """(478,3) pixels on the mean face: the decoded code of a pose-free `expression` of the
        actor whose neutral is `source_neutral`, plus beta of what the code leaves out."""
        deviation = scale_deviation(expression - source_neutral, neutrals.to_mean).reshape(-1)
        code = (features(expression) - neutrals.features) / neutrals.sizes  # = relative()
        if self.lift:  # = expressiveness.lift()
            rise = (corner_height(expression) - neutrals.corners) / neutrals.sizes[_MOUTH]
            code = np.append(code, rise)
        # elementwise products and sums, not BLAS: a multi-threaded BLAS call on vectors this
        # small costs more in thread hand-off than the arithmetic (see fusion.residual)
        explained = np.einsum("c,cf->f", code, self.decoder[: self.codes], optimize=False)
        rest = deviation - explained
        coords = np.einsum("kf,f->k", self.directions, rest, optimize=False) * (2.0 / self.size)
        kept = np.einsum("k,kf->f", coords, self.decoder[self.codes :], optimize=False)
        return (explained + kept + self.beta * (rest - kept)).reshape(NUM_LANDMARKS, 3)

    def fuse(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
        intensity: float = 1.0,
    ) -> np.ndarray:
        """All (478,3) aligned-crop pixels; returns J_gen (478,3) float32. intensity is clamped
        to [0, 1.5], as the training-free transfer does."""
        src = check_landmarks(source, "source landmarks")
        src_n = check_landmarks(source_neutral, "source neutral landmarks")
        tgt_n = check_landmarks(target_neutral, "target neutral landmarks")
        neutrals = self._neutrals(src_n, tgt_n)
        expression = neutrals.rigid.undo(src)[0]
        moved = scale_deviation(
            self.decode(expression, src_n, neutrals), neutrals.to_target
        ) + scale_deviation(src - expression, neutrals.direct)
        amount = float(np.clip(intensity, *INTENSITY_RANGE))
        return (tgt_n + amount * moved).astype(np.float32)
