"""The selfie segmentation through MediaPipe's Tasks `ImageSegmenter`, for MediaPipe releases
(1.x) that no longer carry the legacy `solutions` or the selfie model.

It stands in for `mediapipe.python.solutions.selfie_segmentation` where
`reenact.pipeline.head_region.person_mask` uses it: `SelfieSegmentation(model_selection=0)` and
a `process()` result with `.segmentation_mask`, (H,W) float32 in [0,1]. The model is the legacy
wheels' general (256x256) selfie model, unmodified, in reenact/assets/selfie_segmentation/: it
carries the Tasks metadata (input normalisation, one confidence mask) already, so the Tasks
segmenter reads it as it is, without a download.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

MODEL = (
    Path(__file__).resolve().parents[1]
    / "assets"
    / "selfie_segmentation"
    / "selfie_segmentation.tflite"
)


class _SelfieSegmentation:
    """`solutions.selfie_segmentation.SelfieSegmentation` on the Tasks ImageSegmenter."""

    def __init__(self, model_selection: int = 0) -> None:
        if model_selection != 0:  # the landscape model is not shipped; nothing here asks for it
            raise ValueError(f"model_selection={model_selection}: only the general model (0)")
        if not MODEL.is_file():
            raise FileNotFoundError(
                f"{MODEL}: the selfie segmentation model is missing (reinstall reenact)"
            )
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        from reenact.landmarks.tasks_closing import closes_with

        self._mp = mp
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(MODEL)),
            running_mode=vision.RunningMode.IMAGE,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        self._segmenter = vision.ImageSegmenter.create_from_options(options)
        self._close = closes_with(self, self._segmenter)

    def process(self, image_rgb: np.ndarray) -> SimpleNamespace:
        """One frame: `.segmentation_mask`, (H,W) float32, how likely each pixel is a person."""
        if self._segmenter is None:
            raise RuntimeError("SelfieSegmentation is closed")
        image = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb)
        )
        result = self._segmenter.segment(image)
        mask = np.array(result.confidence_masks[0].numpy_view(), dtype=np.float32)
        return SimpleNamespace(segmentation_mask=mask.reshape(mask.shape[:2]))

    def close(self) -> None:
        self._segmenter = None
        self._close()


selfie_segmentation = SimpleNamespace(SelfieSegmentation=_SelfieSegmentation)
