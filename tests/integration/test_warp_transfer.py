"""The training-free chain on a real clip: the target's mouth opens and closes with the actor's.

actor clip (PyAV) -> FaceTracker -> align -> NeutralCalibrator -> TrainingFreeFusion ->
WarpRenderer -> Compositor -> FaceTracker again on the OUTPUT frame. The target's measured
mouth opening must follow the actor's (Pearson r > 0.8) over a talking stretch of lp_d13 (its
first frames are a closed, relaxed mouth: the neutral).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.config.schema import TrackerConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import FaceTracker, detect_target_face
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.render.warp import WarpRenderer
from reenact.pipeline.composite import Compositor
from tests.helpers import aligned_actor, mouth_open_ratio

SIZE = 256
CLIP = "lp_d13.mp4"
FRAMES, STEP = 150, 2  # every 2nd of the first 150 frames
NEUTRAL_FRAMES = 5

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def actor(clips_dir: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """The actor's aligned landmarks per used frame (478,3) and their calibrated neutral."""
    aligned, neutral = aligned_actor(
        clips_dir / CLIP, frames=FRAMES, step=STEP, size=SIZE, neutral_frames=NEUTRAL_FRAMES
    )
    openings = [mouth_open_ratio(lm) for lm in aligned]
    assert max(openings) > 0.25 and min(openings) < 0.02  # the clip does open and close
    return aligned, neutral


@pytest.mark.parametrize("portrait", ["lp_s11.jpg", "lp_s12.jpg", "lp_s1.jpg"])
def test_target_mouth_follows_the_actor(actor, portraits_dir: Path, portrait: str):
    aligned, neutral = actor
    image = cv2.cvtColor(cv2.imread(str(portraits_dir / portrait)), cv2.COLOR_BGR2RGB)
    target = detect_target_face(image, TrackerConfig(), source_name=portrait)
    alignment = compute_alignment(target, SIZE)
    target_crop = alignment.crop_image(image)
    target_landmarks = alignment.landmarks_to_crop(target)
    renderer = WarpRenderer(size=SIZE)
    renderer.set_target(target_crop, target_landmarks)
    compositor = Compositor(
        target_frame=image, alignment=alignment, target_landmarks_crop=target_landmarks
    )
    fusion = TrainingFreeFusion()
    actor_open, target_open = [], []
    with FaceTracker(TrackerConfig(), static=True) as tracker:
        for source in aligned:
            fused = fusion.fuse(source, neutral, target_landmarks, 1.0)
            output = compositor.paste(renderer.render(fused))
            found = tracker.track_one(output)
            assert found is not None, f"{portrait}: the rendered face is not found again"
            actor_open.append(mouth_open_ratio(source))
            target_open.append(mouth_open_ratio(found))
    r = float(np.corrcoef(actor_open, target_open)[0, 1])
    print(f"{portrait}: mouth opening Pearson r = {r:.3f} over {len(aligned)} frames")
    assert r > 0.8
    # and it really opens: the widest output opening is well beyond the neutral one
    assert max(target_open) > target_open[0] + 0.15
