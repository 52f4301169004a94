"""Does the background stay put? The output frame against the unchanged target picture, outside
the head.

The head's reach (`head_reach`): the zone the head-motion stage moves
(`reenact.pipeline.head_region.HeadRegion`: an ellipse over face and hair and the neck below the
chin, in the target's canonical crop units; taken without the person mask, so wider than what
moves), grown by REACH_MARGIN x the crop side (one inter-ocular distance: the room the head-motion
box itself leaves for the bounded roll, shift and scale). Every other pixel is background: the
rendered face is pasted inside the zone, and the head moves within the reach, so a pipeline that
keeps the background leaves those pixels exactly as the target had them.

`background_change`: mean absolute difference over the background pixels and the colour channels,
in 8-bit levels (1/255 units: 2.0 = 2/255), of one output frame against the target picture. ~0
when the background stays; a frame shifted by a few pixels, a global colour change or a head
that moves beyond its reach raise it. On a portrait whose head fills the frame few pixels are
left (the eval reports the fraction as `background_fraction`): the measure then looks at the
frame's corners only.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.pipeline.head_region import HeadRegion

REACH_MARGIN = 0.25  # x crop side (= 1 IOD): as `head_region`'s own motion margin


def head_reach(target) -> np.ndarray:
    """(H,W) bool: True on the background, False within the head's reach (see the module).

    target: a `reenact.pipeline.target.PreparedTarget` (frame, alignment, landmarks_crop).
    """
    frame = target.frame
    h, w = frame.shape[:2]
    region = HeadRegion(frame, target.alignment, target.landmarks_crop, segment=False)
    zone = np.zeros((h, w), np.uint8)
    if region.box is None:
        return zone == 0
    x0, y0, x1, y1 = region.box
    zone[y0:y1, x0:x1] = region.alpha > 0
    margin = max(1, round(REACH_MARGIN * target.alignment.size / target.alignment.scale))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2)
    return cv2.dilate(zone, kernel) == 0


def background_change(
    output: np.ndarray, target_frame: np.ndarray, background: np.ndarray
) -> float:
    """Mean |output - target| over the `background` pixels, 8-bit levels (0..255).

    output, target_frame: (H,W,3) uint8 of one shape; background: (H,W) bool (`head_reach`).
    NaN when there is no background pixel.
    """
    if output.shape != target_frame.shape:
        raise ValueError(f"background_change: output {output.shape} vs target {target_frame.shape}")
    if not background.any():
        return float("nan")
    diff = cv2.absdiff(output, target_frame)
    return float(np.mean(cv2.mean(diff, mask=background.astype(np.uint8))[:3]))
