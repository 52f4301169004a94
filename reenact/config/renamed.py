"""Keys that moved, old -> new: an old key still loads, with one warning naming the new key.

`stream` held the options of most of the frame's parts until they got sections of their own
(`reenact.config.parts`). A preset, `--set`, the user config and `POST /settings` all read the
old keys through `renamed` through 0.1.x; the table goes in 0.2.0.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

RENAMED: dict[str, str] = {
    "stream.gaze": "eyes.gaze",
    "stream.gaze_gain": "eyes.gaze_gain",
    "stream.gaze_vertical": "eyes.gaze_vertical",
    "stream.lid_follow": "eyes.lid_follow",
    "stream.eyes_linked": "eyes.linked",
    "stream.eye_adapt_frames": "eyes.adapt_frames",
    "stream.head_motion": "head.motion",
    "stream.head_max_deg": "head.max_deg",
    "stream.head_pitch_gain": "head.pitch_gain",
    "stream.head_yaw_gain": "head.yaw_gain",
    "stream.head_jaw_decouple": "head.jaw_decouple",
    "stream.head_max_roll_deg": "head.max_roll_deg",
    "stream.neutral_frames": "calibration.neutral_frames",
    "stream.neutral_window": "calibration.neutral_window",
    "stream.neutral_path": "calibration.neutral_path",
    "stream.recalibrate_after_loss": "calibration.recalibrate_after_loss",
    "stream.brow_adapt_frames": "calibration.brow_adapt_frames",
    "stream.mouth_adapt_frames": "calibration.mouth_adapt_frames",
    "stream.background": "compose.background",
    "stream.background_colour": "compose.background_colour",
    "stream.blend": "compose.blend",
    "stream.colour_match": "compose.colour_match",
    "stream.detail": "compose.detail",
    "stream.creases": "compose.creases",
    "stream.panel": "panel.enabled",
    "stream.control_port": "panel.port",
    "stream.control_port_taken": "panel.port_taken",
    "stream.control_token_file": "panel.token_file",
    "stream.control_token": "panel.token",
    "stream.upload_max_mb": "panel.upload_max_mb",
    "stream.upload_max_megapixels": "panel.upload_max_megapixels",
    "stream.gallery_max_targets": "panel.gallery_max_targets",
    "stream.preview_fps": "panel.preview_fps",
    "stream.preview_height": "panel.preview_height",
    "stream.hotkeys": "hotkeys.enabled",
    "stream.hotkeys_map": "hotkeys.keys",
}


def renamed(dotted: str, where: str = "") -> str:
    """The key `dotted` now is (itself when it did not move); a moved key logs one warning
    naming both, prefixed with `where` (e.g. the file it came from)."""
    new = RENAMED.get(dotted)
    if new is None:
        return dotted
    log.warning("%s%s is now %s (the old key goes in 0.2.0)", where, dotted, new)
    return new
