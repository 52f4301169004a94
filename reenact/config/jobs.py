"""The pixel regression's section, `pixel_rr`: trained by the lab (`reenact train pixel-rr`)
and read at run time by `renderer.kind=pixel-rr` and `reenact preset`, so the runtime's
`reenact.config.schema.Config` holds it. The lab's own sections, `train` and `eval`, live in
the lab (`reenact_lab.config`) and join the config through `reenact.config.sections`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PixelRRConfig:
    """The per-pixel ridge regression of PAPERS.md section 5 (`reenact train pixel-rr`)."""

    kind: Literal["linear", "gaussian"] = "linear"  # y = w x + b per pixel, or Gaussian kernel
    ridge: float = 0.4  # lambda of the ridge penalty (the paper's 0.4), on pixels in [0, 1]
    centres: int = 8  # gaussian: kernel centres spread over [0, 1]
    holdout: tuple[str, ...] = ("14", "15")  # still subjects never trained on (scored by eval)
    classes: tuple[str, ...] = ("smile", "surprise", "sad", "wink")  # a model for each
    clip_frames: int = 3  # per clip and class: this many best frames by expression features
    min_score: float = 0.12  # ... whose class score (reenact.landmarks.expression) passes this
    out_dir: str = "runs/pixel_rr"  # where the trained models go
    models: str = "shipped"  # renderer.kind=pixel-rr: its models ("shipped" = reenact/models)
    expression: str = "smile"  # ... and the class it draws
