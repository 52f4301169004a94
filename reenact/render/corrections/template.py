"""A template for a new correction: copy this file, rename the class, fill in the three methods.

A correction fixes what the warp cannot draw (`reenact.render.corrections.base`). It may bend
the warp's backward map (`geometry`), paint over the warped image (`overlay`), or both; the
warp, the CUDA warp's planes and a generator's paste-over then take what it returns through
`reenact.render.corrections.apply`, so it never touches an image, a map or a plane itself.

To add one:

1. Copy this file to `reenact/render/<your_name>.py` (or into this package) and rename
   `TemplateCorrection`; set `name` (the step `reenact bench --profile` times as
   `warp.<name>`) and declare what it returns: `reshapes` (geometry), `paints` (overlay), and
   `kept` when a generator on the warp should keep the warp's pixels under its layers.
2. `prepare`: everything that depends only on the target (cut-outs, colours, a network's
   target encoding). It runs once per target, never per frame.
3. `geometry` / `overlay`: per frame, from the landmarks the warp follows. Return boxes as
   small as the change: every pixel outside them is the warp's own, and the CUDA planes upload
   only the boxes.
4. Add it to `reenact.render.corrections.build.warp_corrections` where it applies: the map's
   overrides apply in list order, each over the last, and so do the layers.
5. Capture goldens for it (`python -m tests.golden.make_goldens`, a change the commit names)
   and give it a test that fails when it draws the wrong thing.

A learned correction (a small network that draws a mouth's inside or an eye) is the same
class: `prepare` loads its weights (safetensors) and encodes the target, `overlay` crops the
box around the landmarks, runs the network and returns its output and a feathered alpha as one
`Layer`. Keep the network call inside `overlay` so the warp's per-step timings show its cost.
"""

from __future__ import annotations

import numpy as np

from reenact.render.corrections.base import Correction, Layer, MapOverride


class TemplateCorrection(Correction):
    """A correction that changes nothing: what each method receives and must return.

    size: the crop side in pixels; write every length as `x * self.unit` (pixels at 256) so the
    correction draws the same at 256 and 512.
    """

    name = "template"
    reshapes = False  # True: `geometry` returns overrides
    paints = False  # True: `overlay` returns layers
    kept = False  # True: a generator on the warp keeps the warp's pixels under the layers

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self._target_xy: np.ndarray | None = None

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """Once per target. target_crop: (S,S,3) uint8 RGB, the picture the warp moves;
        target_landmarks: (478,2|3) its landmarks in crop pixels. Keep what the frames need:
        the frames' landmarks are compared with these."""
        self._target_xy = np.asarray(target_landmarks, np.float32)[:, :2].copy()

    def settle(self, xy: np.ndarray) -> None:
        """Per frame, first: move the (478,2) landmarks the warp follows in place, when this
        correction changes what the others see (the eye keeper shuts a nearly closed eye)."""

    def geometry(self, xy: np.ndarray) -> list[MapOverride]:
        """Per frame, before the warp resamples. xy: (478,2) float32, the landmarks the warp
        follows. Return [] or MapOverride(box (x0,y0,x1,y1) ints inside the crop, alpha (h,w)
        float32 in [0,1], shift (2,) or (h,w,2) float32): in the box the map becomes
        map + alpha (identity - shift - map), i.e. alpha 1 reads the target at pixel - shift."""
        return []

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        """Per frame, after the warp resampled. xy: as `geometry`. Return [] or Layer(box
        (x0,y0,x1,y1), rgb (h,w,3) uint8, alpha (h,w) float32 in [0,1]): the image there
        becomes image + alpha (rgb - image). rgb None means the warp's own pixels (only a
        generator's paste-over uses that)."""
        return []
