"""The one contract every warp correction keeps: what a warp cannot draw, said in two forms.

A correction is worked out once per target (`prepare`) and then per frame from the landmarks
the warp follows, `xy` (478,2) float32 crop pixels:

- `geometry(xy) -> [MapOverride]`: where the warp's backward map reads elsewhere (an eyeball
  kept at its own scale, the lips mapped band by band). The map there becomes
  `map + alpha (identity - shift - map)`: 1 takes the correction's reading, 0 keeps the warp's;
- `overlay(xy) -> [Layer]`: what is painted over the warped image (irises, lid skin, an opened
  mouth's cavity), `image + alpha (rgb - image)`.

Both are lists of boxes, so the numpy warp, the CUDA planes and a generator's paste-over all
take them through `reenact.render.corrections.apply`, and none of them needs to know which
correction made a box. A learned correction (a network that draws a mouth or an eye) keeps the
same contract: it returns Layers.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in crop pixels (x1, y1 exclusive)


class Layer(NamedTuple):
    """Pixels painted over the warp. rgb: (h,w,3) uint8 for the box (None: the warp's own
    render there, which a generator on the warp pastes back over its output); alpha: (h,w)
    float32 in [0,1]."""

    box: Box
    rgb: np.ndarray | None
    alpha: np.ndarray


class MapOverride(NamedTuple):
    """Where the warp's backward map reads elsewhere: in the box the map becomes
    map + alpha (identity - shift - map). alpha: (h,w) float32 in [0,1]; shift: (2,) float32,
    one offset for the box (an eyeball moved as a whole), or (h,w,2) per pixel (x, y)."""

    box: Box
    alpha: np.ndarray
    shift: np.ndarray


class Correction:
    """The base of every correction (module doc). Subclasses override what they draw and
    declare it, so the callers skip what a correction never returns.

    name: its step name (`reenact bench --profile` times it as `warp.<name>`); reshapes: its
    `geometry` returns overrides; paints: its `overlay` returns layers; kept: a generator on the
    warp keeps the warp's pixels under this correction's layers (the network would wash them
    out).
    """

    name: ClassVar[str] = "correction"
    reshapes: ClassVar[bool] = False
    paints: ClassVar[bool] = False
    kept: ClassVar[bool] = False
    # reads_image: its layers depend on the warp drawn so far (a learned correction), which the
    # numpy warp hands it through `overlay_on`; the CUDA planes, filled before the device warps,
    # still call `overlay`
    reads_image: ClassVar[bool] = False

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """Once per target. target_crop: (S,S,3) uint8 RGB; target_landmarks: (478,2|3) crop
        pixels of the target's own face."""

    def geometry(self, xy: np.ndarray) -> list[MapOverride]:
        """The map overrides for this frame's (478,2) landmarks; [] changes nothing."""
        return []

    def overlay(self, xy: np.ndarray) -> list[Layer]:
        """The layers painted for this frame's (478,2) landmarks; [] paints nothing."""
        return []

    def settle(self, xy: np.ndarray) -> None:
        """Per frame, before `geometry`: move the (478,2) landmarks the warp follows, in place
        (the eye keeper shuts a nearly closed eye); by default nothing."""

    def overlay_on(self, xy: np.ndarray, image: np.ndarray) -> list[Layer]:
        """`overlay` for a warp that has drawn `image` (S,S,3) uint8 so far (read only);
        corrections that declare `reads_image` override it."""
        return self.overlay(xy)
