"""Regenerate the corrections' golden outputs: `python -m tests.golden.make_goldens`.

Never run by the tests: the goldens hold what the corrections drew when they were captured, and
`tests/unit/test_corrections_golden.py` checks that the code still draws it. Rerun only when a
correction is meant to draw differently, and say so in the commit. Each portrait is tracked by
the real face mesh and aligned as a target is; its crop, landmarks and driven frames are stored
with the outputs, so the test needs no tracker.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import detect_target_face
from tests.conftest import media_root
from tests.golden.corrections import HERE, MOVE_NAMES, PORTRAITS, SIZE, moves, outputs, store


def aligned(path) -> tuple[np.ndarray, np.ndarray]:
    """(crop (S,S,3) uint8, landmarks (478,3) float32 crop pixels) of a portrait's face."""
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    landmarks = detect_target_face(image, TrackerConfig(), source_name=str(path))
    alignment = compute_alignment(landmarks, SIZE)
    crop = np.ascontiguousarray(alignment.crop_image(image))
    return crop, np.asarray(alignment.landmarks_to_crop(landmarks), np.float32)


def main() -> int:
    for kind, file in PORTRAITS.items():
        crop, landmarks = aligned(media_root() / "portraits" / file)
        driven = moves(landmarks)
        frames = {name: driven[name] for name in MOVE_NAMES}
        result = outputs(crop, landmarks, frames)
        inputs = {"crop": crop, "landmarks": landmarks, "frames": np.stack(list(frames.values()))}
        path = HERE / f"{kind}.npz"
        store(path, inputs, result)
        print(f"{path.name}: {file}, {len(frames)} moves, {path.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
