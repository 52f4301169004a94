"""Training-free expression transfer: the actor's deviation from neutral, resized per region.

    J_gen = L_t + intensity * s(p) * (L_s - N_s)

with L_t the target's neutral landmarks, L_s the actor's current and N_s the actor's neutral
landmarks, all in aligned-crop pixels (eyes level at fixed places, so both faces already have
about the same scale). s(p) is a per-point, per-axis (x, y) scale: in each facial region the
ratio of the two faces' sizes there, so that a target with a twice-as-wide mouth smiles twice as
wide and a target with narrower eyes still closes them exactly:

    mouth        mouth width (outer corners), both axes
    each eye     eye width (corner to corner) in x, lid gap in y (irises go with their eye)
    each brow    eye width in x, brow-to-upper-lid distance in y
    nose         nostril width in x, bridge-to-tip length in y
    rest / jaw   face width (cheek to cheek) in x, face height (forehead to chin) in y

Points of the mesh outside these regions (cheeks, forehead, the rings around the eyes) get a
scale interpolated harmonically over the mesh graph between the regions and the face oval, so the
scale changes smoothly across region borders. It has the same `fuse` interface as the landmark
fusion network (`J_gen = L_t + Phi(L_s, L_t)`), which can replace it.
"""

from __future__ import annotations

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.fusion import register_fuser
from reenact.fusion.harmonic import HarmonicBlend
from reenact.fusion.memo import NeutralMemo
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import NUM_LANDMARKS

INTENSITY_RANGE = (0.0, 1.5)
SCALE_RANGE = (0.4, 2.5)  # per-region size ratios are clamped to this

_MOUTH = np.unique(np.r_[REGIONS["lips_outer"], REGIONS["lips_inner"]])
# per eye: ring (16, corners at 0 and 8), iris (5)
_EYES = {
    "right": (REGIONS["right_eye"], REGIONS["right_iris"], REGIONS["right_brow"]),
    "left": (REGIONS["left_eye"], REGIONS["left_iris"], REGIONS["left_brow"]),
}
_MOUTH_CORNERS = (61, 291)
_CHEEKS = (234, 454)
_FOREHEAD, _CHIN = 10, 152
_NOSE_BRIDGE, _NOSE_TIP = 168, 4
_NOSTRILS = (98, 327)


def _dist(lm: np.ndarray, a: int, b: int) -> float:
    return float(np.hypot(*(lm[a, :2] - lm[b, :2])))


def _lid_gap(lm: np.ndarray, ring: np.ndarray) -> float:
    """Mean vertical gap between an eye's 7 upper and 7 lower lid points (pixels, >= 0)."""
    return float(np.clip(lm[ring[15:8:-1], 1] - lm[ring[1:8], 1], 0.0, None).mean())


def _brow_height(lm: np.ndarray, ring: np.ndarray, brow: np.ndarray) -> float:
    """Vertical distance from the brow's points to the eye's upper lid (pixels)."""
    return float(lm[ring[1:8], 1].mean() - lm[brow, 1].mean())


def region_sizes(lm: np.ndarray) -> dict[str, tuple[float, float]]:
    """Size of each region of one face (x extent, y extent), in pixels. lm: (478,2|3)."""
    sizes = {
        "mouth": (_dist(lm, *_MOUTH_CORNERS),) * 2,
        "nose": (_dist(lm, *_NOSTRILS), _dist(lm, _NOSE_BRIDGE, _NOSE_TIP)),
        "rest": (_dist(lm, *_CHEEKS), _dist(lm, _FOREHEAD, _CHIN)),
    }
    for side, (ring, _iris, brow) in _EYES.items():
        width = _dist(lm, ring[0], ring[8])
        sizes[f"{side}_eye"] = (width, _lid_gap(lm, ring))
        sizes[f"{side}_brow"] = (width, _brow_height(lm, ring, brow))
    return sizes


def _region_members() -> dict[str, np.ndarray]:
    members = {"mouth": _MOUTH, "nose": REGIONS["nose"], "rest": REGIONS["face_oval"]}
    for side, (ring, iris, brow) in _EYES.items():
        members[f"{side}_eye"] = np.r_[ring, iris]
        members[f"{side}_brow"] = brow
    return members


_BLEND: HarmonicBlend | None = None


def _blend() -> HarmonicBlend:
    global _BLEND  # built on first use, never at import
    if _BLEND is None:
        _BLEND = HarmonicBlend(_region_members())
    return _BLEND


def check_landmarks(landmarks: np.ndarray, name: str) -> np.ndarray:
    """(478,2|3) finite float32 landmarks, or InputError naming `name`."""
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS or lm.shape[1] not in (2, 3):
        raise InputError(f"{name}: expected (478,3) aligned landmarks, got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise InputError(f"{name}: landmarks contain NaN or inf; re-track or recalibrate")
    return lm


class TrainingFreeFusion:
    """J_gen = L_t + intensity * s(p) * (L_s - N_s), with s from per-region size ratios.

    scale_range: clamp of each region's size ratio (target / actor).
    """

    name = "training_free"

    def __init__(self, *, scale_range: tuple[float, float] = SCALE_RANGE) -> None:
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self._scales = NeutralMemo(self.point_scales)  # the neutrals rarely change

    def point_scales(self, source_neutral: np.ndarray, target_neutral: np.ndarray) -> np.ndarray:
        """(478,2) float64 per-point (x, y) scale of the actor's deviation onto the target."""
        blend = _blend()
        src = region_sizes(source_neutral)
        tgt = region_sizes(target_neutral)
        ratios = np.array(
            [[t / s if s > 1e-6 else 1.0 for t, s in zip(tgt[n], src[n])] for n in blend.names]
        )
        return blend.values(np.clip(ratios, *self.scale_range))

    def fuse(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
        intensity: float = 1.0,
    ) -> np.ndarray:
        """The target's landmarks with the actor's expression.

        source, source_neutral, target_neutral: (478,3) aligned-crop pixels (z in the same pixel
        scale). intensity: 0 = the target's neutral, 1 = as performed, 1.5 = exaggerated; values
        outside [0, 1.5] are clamped. Returns (478,3) float32 aligned-crop pixels.
        """
        src = check_landmarks(source, "source landmarks")
        src_n = check_landmarks(source_neutral, "source neutral landmarks")
        tgt_n = check_landmarks(target_neutral, "target neutral landmarks")
        if not (src.shape == src_n.shape == tgt_n.shape):
            raise InputError(
                f"landmarks: shapes differ (source {src.shape}, source neutral {src_n.shape}, "
                f"target neutral {tgt_n.shape}); pass (478,3) for all three"
            )
        if not np.isfinite(intensity):
            raise InputError(f"stream.intensity: {intensity} is not a number; use 0 .. 1.5")
        amount = float(np.clip(intensity, *INTENSITY_RANGE))
        scales = self._scales(src_n, tgt_n)
        deviation = (src - src_n).astype(np.float64)
        deviation[:, :2] *= scales
        if deviation.shape[1] > 2:
            deviation[:, 2] *= scales[:, 0]
        return (tgt_n + amount * deviation).astype(np.float32)


@register_fuser("training_free")
def build_training_free(config: Config) -> TrainingFreeFusion:
    """`fusion.kind=training_free`: needs no weights."""
    return TrainingFreeFusion()


def region_field(values: dict[str, float]) -> np.ndarray:
    """One value per region spread smoothly over the mesh (the same harmonic blend as the
    scales). values: by region name (mouth, nose, rest, left_eye, right_eye, left_brow,
    right_brow); missing regions get 0. Returns (478,) float64."""
    blend = _blend()
    unknown = set(values) - set(blend.names)
    if unknown:
        raise InputError(f"regions: unknown {sorted(unknown)}; valid: {', '.join(blend.names)}")
    per_region = np.array([[values.get(n, 0.0)] * 2 for n in blend.names], dtype=np.float64)
    return blend.values(per_region)[:, 0]
