"""The target's neutral face, estimated from its one picture (`fusion.target_neutral`).

The fusion adds the actor's deviation from *their* neutral to the target's landmarks L_t, so L_t
should be the target's neutral too. A portrait taken mid-expression (an open "O", a grin, raised
brows) used as it is keeps that expression while the actor's face rests and adds theirs on top:
the mouth of a surprised portrait never closes, and a grinning one grins wider when the actor
smiles. `NeutralEstimate` takes the expression out of the picture's landmarks:

    x (the picture's xy, its head pose undone)  =  mean + A a  +  B c  +  noise

A: the principal directions of neutral faces (identity), B: those of expression deviations
(each frame's own head pose undone against its person's neutral), both fitted on tracked people
(the lab's `reenact_lab.train.neutral_basis`; the shipped
`reenact/models/neutral_basis.safetensors` and its model card). a and c are found together
(maximum a posteriori, each direction's spread as its prior); each c_i is then shrunk by the
non-negative garrote, c_i (1 - (tau sd_i / c_i)^2)+: within `tau` spreads of 0 it is 0 (a face
near neutral is left as it is), far out it is nearly kept (an open mouth closes fully, which a
soft threshold would leave ajar). The estimate is x - B c, put back in the
picture's pose. What B does not span (the target's own
face shape, tracking detail) stays. Only x and y change; z is the picture's.

Where the estimate would do harm it is held back, towards the picture's own landmarks:
- the eyes and irises keep the picture's (`reenact.fusion.eyes` already carries openness against
  the target's own lids, and a renderer cannot open lids that are shut in the picture: there is
  no eyeball under them), spread smoothly to the rest as `fusion.gains` spreads its gains;
- the mouth and jaw keep the picture's if the estimate would open the mouth (a picture's closed
  mouth is taken as neutral, whatever the lips' shape);
- the target's preparation (`reenact.pipeline.target.target_neutral`) renders the estimate once
  with the warp and re-tracks it: where the picture's own mouth landmarks are off (a yawn so
  wide that the face mesh puts the lower lip inside the mouth, and `reenact.landmarks.open_mouth`
  did not correct it), or the estimate bends the lips into a shape the warp leaves open, the
  re-tracked mouth stays open (`SHOWN_OPEN_MARGIN`) and that neutral is not used;
- a face the two bases explain badly (an animal, a cartoon, a painting's odd proportions; the
  fit's left-over above `RESID_ON` inter-ocular distances per point, none at all from
  `RESID_OFF`: 99 % of held-out people's frames are below 0.0092) is trusted less, down to not
  at all;
- a change smaller than `MIN_CHANGE` (a face that is neutral but for tracking noise, or its own
  shape read as a trace of an expression) is dropped, and faded in above it.

A mouth the estimate leaves open wide (a yawn or a shout wider than the expression basis spans,
on a face the next point does not trust; or a gape whose estimated shape the warp leaves open)
is closed by the jaw instead (`close_open_mouth`): the lower lip, chin and jaw raised, as far as
the warp draws lips parted at rest, because a target that kept its picture's landmarks had its
mouth gape while the actor's rested.

The renderer still warps the picture from its own landmarks: only the fusion's L_t (and what is
measured from it: the eyes' neutral gaps, the gains' base) is the estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.landmarks.expressiveness import inter_ocular
from reenact.landmarks.head_pose import redo_pose, undo_pose
from reenact.landmarks.jaw import drop_jaw
from reenact.landmarks.open_mouth import mouth_opening
from reenact.landmarks.tracker import NUM_LANDMARKS

BASIS_FILE = Path(__file__).resolve().parents[1] / "models" / "neutral_basis.safetensors"
RESID_ON, RESID_OFF = 0.008, 0.011  # fit left-over (IOD per point) of full / no trust
MIN_CHANGE = (0.008, 0.016)  # IOD: a smaller estimated change is dropped (tracking noise),
# a larger one kept whole, linearly between (calm frames of held-out people lie 0.019 from
# their own neutral, so a change this small is as likely noise as expression)
NOISE = 0.01  # prior spread of what neither basis explains (unit coordinates, per xy value)
UNIT_IOD = 0.5  # the aligned crop's inter-ocular distance in unit coordinates (64 px of 256)
TAU = 0.5  # expression coefficients within this many spreads of 0 are taken as 0


def to_unit(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(..., 478, 3) crop pixels -> float64 unit crop coordinates (x, y in [-1, 1], z alike)."""
    out = np.asarray(landmarks, np.float64) * (2.0 / size)
    out[..., :2] -= 1.0
    return out


def to_pixels(unit: np.ndarray, size: int) -> np.ndarray:
    """The inverse of `to_unit`."""
    out = np.array(unit, np.float64)
    out[..., :2] += 1.0
    return out * (size / 2.0)


class NeutralEstimate:
    """`estimate(landmarks_crop, size) -> (neutral (478,3) float32, change)`; see the module doc.

    arrays: the lab's `fit_basis` output (or the shipped file's, `load`). change: mean point move
    from the picture to the estimate in inter-ocular distances (0 = the picture was taken as
    neutral).
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        *,
        noise: float = NOISE,
        tau: float = TAU,
        trust: tuple[float, float] = (RESID_ON, RESID_OFF),
    ) -> None:
        self.mean = np.asarray(arrays["mean"], np.float64)
        self.expression = np.asarray(arrays["expression"], np.float64)
        self.expression_sd = np.asarray(arrays["expression_sd"], np.float64)
        basis = np.concatenate([arrays["identity"], self.expression], axis=1).astype(np.float64)
        prior = np.r_[
            1.0 / np.asarray(arrays["identity_sd"], np.float64) ** 2, 1.0 / self.expression_sd**2
        ]
        # MAP of [a; c]: (M'M / noise^2 + diag(prior))^-1 M' r / noise^2, solved once
        self._solve = np.linalg.solve(
            basis.T @ basis / noise**2 + np.diag(prior), basis.T / noise**2
        )
        self._basis = basis
        self.tau = tau
        self.trust = trust  # the fit's left-over of full trust, and of none
        self._weights: dict[bool, np.ndarray] = {}

    @classmethod
    def load(cls, path: str | Path = BASIS_FILE, **options) -> NeutralEstimate:
        """From a basis file (safetensors, as `reenact_lab.train.neutral_basis` writes); options
        as the constructor's."""
        from reenact.engine.arrays import load_arrays

        arrays, _ = load_arrays(path, dtype=np.float32)
        return cls(arrays, **options)

    def fit(self, unit_posed: np.ndarray) -> tuple[np.ndarray, float]:
        """(478,3) unit landmarks in the mean's pose -> ((ke,) expression coefficients, shrunk;
        the fit's left-over: root mean square point distance in inter-ocular distances)."""
        r = (unit_posed - self.mean)[:, :2].reshape(-1)
        z = self._solve @ r
        left = float(np.sqrt(2.0 * np.mean((r - self._basis @ z) ** 2)) / UNIT_IOD)
        c = z[-self.expression.shape[1] :]
        room = self.tau * self.expression_sd
        return c * np.maximum(1.0 - (room / np.maximum(np.abs(c), 1e-12)) ** 2, 0.0), left

    def weights(self, mouth: bool) -> np.ndarray:
        """(478,1) how much of the estimate each point takes: eyes 0 (and the mouth and jaw 0
        unless `mouth`), 1 elsewhere, spread over the mesh."""
        if mouth not in self._weights:
            from reenact.fusion.gains import RegionGains

            held = {"eyes": 0.0} if mouth else {"eyes": 0.0, "mouth": 0.0, "jaw": 0.0}
            self._weights[mouth] = RegionGains(held).weights().astype(np.float64)
        return self._weights[mouth]

    def estimate(
        self, landmarks_crop: np.ndarray, size: int, *, mouth: bool = True
    ) -> tuple[np.ndarray, float]:
        """(neutral, change) for a picture's (478,3) crop landmarks; mouth False: the mouth and
        jaw keep the picture's whatever the estimate does there."""
        picture = np.asarray(landmarks_crop, np.float64)
        posed, pose = undo_pose(to_unit(picture, size), self.mean)
        c, left = self.fit(posed)
        full_trust, no_trust = self.trust
        trust = float(np.clip((no_trust - left) / (no_trust - full_trust), 0.0, 1.0))
        if trust == 0.0 or not np.any(c):
            return np.asarray(landmarks_crop, np.float32).copy(), 0.0
        neutral = posed.copy()
        neutral[:, :2] -= (self.expression @ c).reshape(NUM_LANDMARKS, 2)
        full = to_pixels(redo_pose(neutral, pose), size)
        out = picture.copy()
        move = (
            trust
            * self.weights(mouth=mouth and not _opens_mouth(picture, full))
            * (full[:, :2] - picture[:, :2])
        )
        change = float(
            np.linalg.norm(move, axis=1).mean() / max(float(inter_ocular(picture)), 1e-6)
        )
        low, high = MIN_CHANGE
        keep = float(np.clip((change - low) / (high - low), 0.0, 1.0))  # below: tracking noise
        if keep == 0.0:
            return np.asarray(landmarks_crop, np.float32).copy(), 0.0
        out[:, :2] += keep * move
        return out.astype(np.float32), keep * change


SHOWN_OPEN_MARGIN = 0.12  # re-tracked inner-lip gap beyond the estimate's, x mouth width

# A mouth still open after the estimate (a yawn or a shout the bases do not span, or a gape the
# estimate could not trust) is closed by raising the jaw (`close_open_mouth`): from an opening
# (inner-lip gap 13-14 over the mouth's width 61-291) of REST_OPEN[0], fully from REST_OPEN[1],
# a band above talking and resting lips and below a yawn, a shout or a surprised "O".
REST_OPEN = (0.2, 0.35)
# the share of the gap closed: a fifth of it stays, the lips parted at rest, because a whole
# closing tips the lower inner lip over the upper near the corners and folds the mesh's lip
# triangles into dark strokes across the lips.
CLOSE_SHARE = 0.8


def close_open_mouth(neutral: np.ndarray) -> np.ndarray:
    """(478,2|3) crop pixels with the jaw raised (`reenact.landmarks.jaw.drop_jaw`: the lower
    lip, chin and jaw; never the upper lip, the nose or the eyes) by `CLOSE_SHARE` of the inner
    lips' gap, as far as the opening lies within `REST_OPEN` (a new float32 array; the same
    points where the mouth is no more open than REST_OPEN[0])."""
    low, high = REST_OPEN
    share = CLOSE_SHARE * float(np.clip((mouth_opening(neutral) - low) / (high - low), 0.0, 1.0))
    gap = float(neutral[14, 1] - neutral[13, 1])
    if share == 0.0 or gap <= 0.0:  # (drop_jaw would part lips that cross)
        return np.array(neutral, np.float32, copy=True)
    return drop_jaw(neutral, -share * gap)


def _opens_mouth(picture: np.ndarray, estimate: np.ndarray) -> bool:
    """Whether `estimate`'s inner lips (13, 14) are further apart than the picture's by more
    than 2 % of the mouth's width (61 to 291)."""

    def gap(lm):
        return float(np.linalg.norm(lm[13, :2] - lm[14, :2]))

    width = float(np.linalg.norm(picture[61, :2] - picture[291, :2]))
    return gap(estimate) > gap(picture) + 0.02 * width


_SHIPPED: NeutralEstimate | None = None


def shipped() -> NeutralEstimate:
    """The estimate with the shipped basis, loaded once."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = NeutralEstimate.load()
    return _SHIPPED
