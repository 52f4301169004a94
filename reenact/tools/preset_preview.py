"""A preset shown on a target still: neutral | preset fired, side by side, as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import replace
from reenact.render import build_renderer, moves_face


def render_preset(preset, target, renderer, size: int) -> np.ndarray:
    """The target's full frame with `preset` fully on: (H,W,3) uint8 RGB.

    target: a PreparedTarget; renderer: any registered renderer (set_target / render). The
    preset fires from the target's neutral (`PreparedTarget.neutral`), as in the live loop."""
    renderer.set_target(target.crop, target.landmarks_crop)
    neutral = np.asarray(target.neutral(), np.float32)
    fused = neutral + preset.mask[:, None] * preset.delta_for(neutral, size)
    return target.compositor.paste(renderer.render(fused), fused if moves_face(renderer) else None)


def preset_strip(preset, target_path: str, config, renderer_name: str, out: Path) -> Path:
    """Write `out`: the target as it is, then with `preset` fired (warp or a named renderer)."""
    from reenact.imageio import save_image
    from reenact.pipeline.target import prepare_target

    target = prepare_target(target_path, config)
    size = config.renderer.size
    renderer = build_renderer(replace(config, renderer={"kind": renderer_name}))
    fired = render_preset(preset, target, renderer, size)
    return save_image(out, np.concatenate([target.frame, fired], axis=1))
