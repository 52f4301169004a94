"""Expression presets: an expression stored as landmark deviations from a neutral face.

A preset file (`NAME.npz`, loaded with `allow_pickle=False`) holds, in *normalised aligned*
units (the aligned crop's eyes are level; a point p of a crop of side S is stored as
`(p - (0.5 S, 0.39 S, 0)) / (0.25 S)`, i.e. relative to the eyes' midpoint in inter-ocular
distances, z too):

    neutral    (478,3) float32  the recorded face's neutral
    deviation  (478,3) float32  expression - neutral
    mask       (478,)  float32  per-point weight in [0, 1] (1 everywhere = the whole face)
    meta       0-d str          JSON: name, source (where it was recorded), class, regions, format

Transfer to any face is the training-free transfer's (`reenact.fusion.transfer`): the
deviation is resized per region by the ratio of the target's and the recorded face's region
sizes, so a preset recorded on a wide mouth smiles as wide, relative to a small mouth.

Shipped presets live in `reenact/assets/presets/`; the user's in `presets.folder` (default: the
presets folder of `reenact paths`, the same whatever folder reenact starts from), which win on
equal names.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.errors import InputError
from reenact.landmarks.align import CANONICAL_EYE_Y
from reenact.paths import chosen_folder, presets_dir

FORMAT = "reenact.preset/1"
NUM_POINTS = 478
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "presets"
REGION_NAMES = ("mouth", "eyes", "brows", "nose", "jaw")
# user region words -> the transfer's regions (reenact.fusion.transfer.region_field)
_REGION_PARTS = {
    "mouth": ("mouth",),
    "eyes": ("left_eye", "right_eye"),
    "brows": ("left_brow", "right_brow"),
    "nose": ("nose",),
    "jaw": ("rest",),
}


def _centre(size: int) -> np.ndarray:
    return np.array([0.5 * size, CANONICAL_EYE_Y * size, 0.0], dtype=np.float64)


def normalise(landmarks_crop: np.ndarray, size: int) -> np.ndarray:
    """(478,3) aligned-crop pixels of a crop of side `size` -> (478,3) float32 normalised."""
    lm = np.asarray(landmarks_crop, dtype=np.float64)
    return ((lm - _centre(size)) / (0.25 * size)).astype(np.float32)


def denormalise(points: np.ndarray, size: int) -> np.ndarray:
    """(478,3) normalised -> (478,3) float32 aligned-crop pixels of a crop of side `size`."""
    return (np.asarray(points, np.float64) * (0.25 * size) + _centre(size)).astype(np.float32)


def region_mask(regions: tuple[str, ...] | list[str]) -> np.ndarray:
    """(478,) float32 in [0,1]: 1 on the named regions (REGION_NAMES), fading smoothly to 0 over
    the rest of the mesh. No regions = the whole face (all ones)."""
    if not regions:
        return np.ones(NUM_POINTS, np.float32)
    unknown = [r for r in regions if r not in _REGION_PARTS]
    if unknown:
        raise InputError(f"preset regions: unknown {unknown}; valid: {', '.join(REGION_NAMES)}")
    from reenact.fusion.transfer import region_field

    values = {part: 1.0 for r in regions for part in _REGION_PARTS[r]}
    return np.clip(region_field(values), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Preset:
    """One expression preset (arrays in normalised aligned units, see the module docstring)."""

    name: str
    neutral: np.ndarray  # (478,3) float32
    deviation: np.ndarray  # (478,3) float32
    mask: np.ndarray  # (478,) float32 in [0,1]
    source: str = ""  # where it was recorded, e.g. "stills 01-13 happy (mean)"
    expression_class: str = ""  # e.g. "smile"; names the pixel-regression model that fits
    regions: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)  # frames used, scores, ...

    def landmarks(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(neutral, expression) as (478,3) float32 aligned-crop pixels at crop side `size`."""
        return denormalise(self.neutral, size), denormalise(self.neutral + self.deviation, size)

    def delta_for(self, target_neutral: np.ndarray, size: int) -> np.ndarray:
        """The preset's deviation carried onto a target: (478,3) float32 crop pixels to add to
        the target's neutral `target_neutral` (478,3 crop pixels), before the mask."""
        from reenact.fusion.transfer import TrainingFreeFusion

        neutral, expression = self.landmarks(size)
        fused = TrainingFreeFusion().fuse(expression, neutral, target_neutral, 1.0)
        return (fused - np.asarray(target_neutral, np.float32)).astype(np.float32)


def make_preset(
    name: str,
    neutral_crop: np.ndarray,
    expression_crop: np.ndarray,
    size: int,
    *,
    source: str,
    expression_class: str = "",
    regions: tuple[str, ...] = (),
    extra: dict | None = None,
) -> Preset:
    """A preset from a neutral and an expression face, both (478,3) aligned-crop pixels."""
    check_name(name)
    neutral = normalise(neutral_crop, size)
    deviation = normalise(expression_crop, size) - neutral
    if not (np.isfinite(neutral).all() and np.isfinite(deviation).all()):
        raise InputError(f"preset {name}: landmarks are not finite; record again")
    return Preset(
        name,
        neutral,
        deviation.astype(np.float32),
        region_mask(regions),
        source,
        expression_class,
        tuple(regions),
        dict(extra or {}),
    )


def check_name(name: str) -> str:
    """A preset name: letters, digits, '-' and '_' (it becomes a file name and an action)."""
    if not name or not all(c.isalnum() or c in "-_" for c in name) or len(name) > 40:
        raise InputError(f"preset name '{name}': use 1-40 letters, digits, '-' or '_'")
    return name


def save_preset(preset: Preset, folder: str | Path) -> Path:
    """Write `folder/NAME.npz` atomically; returns its path."""
    meta = {
        "format": FORMAT,
        "name": preset.name,
        "source": preset.source,
        "class": preset.expression_class,
        "regions": list(preset.regions),
        **preset.extra,
    }
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        neutral=preset.neutral.astype(np.float32),
        deviation=preset.deviation.astype(np.float32),
        mask=preset.mask.astype(np.float32),
        meta=np.array(json.dumps(meta)),
    )
    return write_atomic(Path(folder) / f"{preset.name}.npz", buffer.getvalue())


def load_preset(path: str | Path) -> Preset:
    """Read one preset file; InputError naming the file when it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("neutral", "deviation", "mask", "meta")}
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a reenact preset ({exc}); record it again") from None
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != FORMAT:
        raise InputError(f"{path}: preset format {meta.get('format')!r}, expected {FORMAT}")
    shapes = {k: arrays[k].shape for k in ("neutral", "deviation", "mask")}
    if shapes != {"neutral": (NUM_POINTS, 3), "deviation": (NUM_POINTS, 3), "mask": (NUM_POINTS,)}:
        raise InputError(f"{path}: preset arrays have shapes {shapes}; record it again")
    known = {"format", "name", "source", "class", "regions"}
    return Preset(
        meta.get("name", path.stem),
        arrays["neutral"].astype(np.float32),
        arrays["deviation"].astype(np.float32),
        np.clip(arrays["mask"], 0, 1).astype(np.float32),
        meta.get("source", ""),
        meta.get("class", ""),
        tuple(meta.get("regions", ())),
        {k: v for k, v in meta.items() if k not in known},
    )


def user_presets_folder(configured: str) -> Path:
    """The user's presets folder: `presets.folder`, else the data folder's presets/."""
    return chosen_folder(configured, presets_dir())


def preset_files(user_folder: str | Path = "") -> dict[str, Path]:
    """Every available preset by name: shipped ones, then the user's folder (which wins)."""
    found: dict[str, Path] = {}
    for folder in (SHIPPED_DIR, Path(user_folder) if user_folder else None):
        if folder is not None and folder.is_dir():
            for path in sorted(folder.glob("*.npz")):
                found[path.stem] = path
    return found


def load_library(user_folder: str | Path = "") -> dict[str, Preset]:
    """Every available preset, loaded (see `preset_files`)."""
    return {name: load_preset(path) for name, path in preset_files(user_folder).items()}
