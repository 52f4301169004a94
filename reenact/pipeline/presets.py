"""Presets mixed into the live expression, per frame, between fusion and render.

    add:      J = J_gen + w(t) * m * D_t
    replace:  J = J_gen + w(t) * m * ((L_t + D_t) - J_gen)

with J_gen the fused landmarks, L_t the target's neutral, D_t the preset's deviation carried onto
the target (`Preset.delta_for`), m the preset's per-point mask and w(t) in [0,1] its envelope:
it rises from 0 to 1 over `presets.blend_s` seconds of stream time after a press and falls back
over the same time after a release (smoothstep, so it starts and ends without a jerk). Several
presets may be on at once; they are applied in the order they were pressed.

Optionally (`presets.pixel_rr`), the rendered crop is blended with the pixel-regression model's
output of the target for the preset's class (`reenact.render.pixel_rr`), by w(t) inside the face.
"""

from __future__ import annotations

import numpy as np

from reenact.errors import InputError
from reenact.fusion.presets import Preset
from reenact.ramps import smoothstep

MODES = ("add", "replace")


class PresetMixer:
    """Holds which presets are on, their envelopes, and mixes them into fused landmarks.

    library: presets by name; keys: preset names for hotkeys 1..9 (slot i = keys[i-1]);
    blend_s: rise / fall time in seconds (0 = instant); mode: "add" or "replace"; size: crop side.
    """

    def __init__(
        self,
        library: dict[str, Preset],
        *,
        keys: tuple[str, ...] = (),
        blend_s: float = 0.15,
        mode: str = "add",
        size: int = 256,
        crop_models: dict | None = None,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"presets.mode: '{mode}' is not one of {', '.join(MODES)}")
        self.library = dict(library)
        self.keys = tuple(keys)
        self.blend_s = max(0.0, float(blend_s))
        self.mode = mode
        self.size = int(size)
        self._on: dict[str, bool] = {}  # pressed (True) or released (False) and still fading
        self._level: dict[str, float] = {}
        self._last_t: float | None = None
        self._deltas: dict[str, tuple[bytes, np.ndarray]] = {}
        self.crop_models = dict(crop_models or {})  # class -> PixelRRModel (presets.pixel_rr)
        self._mask: tuple[bytes, np.ndarray] | None = None

    @classmethod
    def from_config(cls, config) -> PresetMixer:
        """Every shipped and user preset (`presets.folder`), set up from `config.presets`."""
        from reenact.fusion.presets import load_library, user_presets_folder

        p = config.presets
        models = None
        if p.pixel_rr:
            from reenact.render.pixel_rr import load_pixel_rr, model_paths

            paths = model_paths(p.pixel_rr, config.renderer.size)
            if not paths:
                raise InputError(
                    f"presets.pixel_rr: no pixel-rr models in {p.pixel_rr}; run "
                    "`reenact train pixel-rr` or set presets.pixel_rr=shipped"
                )
            models = {c: load_pixel_rr(path) for c, path in paths.items()}
        return cls(
            load_library(user_presets_folder(p.folder)),
            keys=p.keys,
            blend_s=p.blend_s,
            mode=p.mode,
            size=config.renderer.size,
            crop_models=models,
        )

    # ------------------------------------------------------------------ controls (main thread)

    def _check(self, name: str) -> str:
        if name not in self.library:
            valid = ", ".join(sorted(self.library)) or "(none)"
            raise ValueError(f"unknown preset '{name}'; available: {valid}")
        return name

    def slot(self, index: int) -> str | None:
        """The preset on hotkey `index` (1-based), or None when the slot is empty / unknown."""
        if 1 <= index <= len(self.keys) and self.keys[index - 1] in self.library:
            return self.keys[index - 1]
        return None

    def press(self, name: str) -> None:
        """Start blending `name` in (held until `release`)."""
        self._check(name)
        if not self._on:
            self._last_t = None  # the envelope starts at the next frame, whenever that is
        self._on[name] = True
        self._level.setdefault(name, 0.0)

    def release(self, name: str) -> None:
        """Start blending `name` out."""
        if self._check(name) in self._on:
            self._on[name] = False

    def toggle(self, name: str) -> bool:
        """Press when off (or fading out), release when on; returns True when now on."""
        if self._on.get(self._check(name)):
            self.release(name)
            return False
        self.press(name)
        return True

    def release_all(self) -> None:
        for name in self._on:
            self._on[name] = False

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"presets mode '{mode}' is not one of {', '.join(MODES)}")
        self.mode = mode

    @property
    def active(self) -> bool:
        """True while any preset is on or still fading out."""
        return bool(self._on)

    def weights(self) -> dict[str, float]:
        """Current envelope w in [0,1] of every preset that is on or fading."""
        return {name: float(smoothstep(self._level[name])) for name in self._on}

    def status(self) -> dict:
        return {
            "available": sorted(self.library),
            "keys": list(self.keys),
            "mode": self.mode,
            "on": [n for n, on in self._on.items() if on],
            "weights": {n: round(w, 3) for n, w in self.weights().items()},
        }

    # ------------------------------------------------------------------ per frame

    def advance(self, t_s: float) -> None:
        """Move every envelope to stream time `t_s` (seconds; going back counts as no time)."""
        dt = 0.0 if self._last_t is None else min(1.0, max(0.0, t_s - self._last_t))
        self._last_t = t_s
        step = 1.0 if self.blend_s <= 0 else dt / self.blend_s
        for name, on in list(self._on.items()):
            level = self._level[name] + (step if on else -step)
            self._level[name] = min(1.0, max(0.0, level))
            if not on and self._level[name] <= 0.0:
                del self._on[name], self._level[name]

    def _delta(self, name: str, target_neutral: np.ndarray) -> np.ndarray:
        key = target_neutral.tobytes()
        cached = self._deltas.get(name)
        if cached is None or cached[0] != key:
            delta = self.library[name].delta_for(target_neutral, self.size)
            cached = (key, delta)
            self._deltas[name] = cached
        return cached[1]

    def apply(self, fused: np.ndarray, target_neutral: np.ndarray, t_s: float) -> np.ndarray:
        """fused (478,3) crop pixels, target_neutral (478,3) crop pixels, t_s stream seconds ->
        (478,3) float32 with every active preset mixed in (a new array; `fused` is unchanged)."""
        self.advance(t_s)
        if not self._on:
            return fused
        out = np.array(fused, dtype=np.float32)
        target_neutral = np.asarray(target_neutral, dtype=np.float32)
        for name, weight in self.weights().items():
            if weight <= 0.0:
                continue
            delta = self._delta(name, target_neutral)
            m = (weight * self.library[name].mask)[:, None]
            if self.mode == "add":
                out += m * delta
            else:
                out += m * (target_neutral + delta - out)
        return out

    def blend_crop(
        self, crop: np.ndarray, target_crop: np.ndarray, target_neutral: np.ndarray
    ) -> np.ndarray:
        """With `presets.pixel_rr`: the rendered crop (S,S,3) uint8 blended, by each active
        preset's envelope inside the target's face mask, with the pixel-regression model of the
        preset's class applied to the target's crop. Unchanged without models or presets."""
        if not self.crop_models or not self._on:
            return crop
        from reenact.pipeline.composite import face_mask

        key = np.asarray(target_neutral).tobytes()
        if self._mask is None or self._mask[0] != key:
            self._mask = (key, face_mask(target_neutral, crop.shape[0])[..., None])
        out = None
        for name, weight in self.weights().items():
            model = self.crop_models.get(self.library[name].expression_class)
            if model is None or weight <= 0.0:
                continue
            if out is None:
                out = crop.astype(np.float32)
            alpha = weight * self._mask[1]
            out += alpha * (model.apply(target_crop).astype(np.float32) - out)
        return crop if out is None else (out + 0.5).astype(np.uint8)
