"""`reenact demo`: a scripted expression track drives the target; a video and a contact sheet.

No camera needed: the "actor" is a scripted landmark source (`ScriptedActor`:
`reenact.landmarks.scripted` applied to the target's own neutral face) that enters the pipeline
through `Reenactor.process`, like a tracked camera frame.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from reenact.config import Config, dump_config, replace
from reenact.fusion import build_fuser
from reenact.imageio import save_image
from reenact.landmarks.scripted import DEMO_DURATION_S, peak_times, scripted_landmarks
from reenact.log import progress_shown
from reenact.pipeline.factory import describe
from reenact.pipeline.outputs import check_outputs
from reenact.pipeline.reenactor import Reenactor, Tracked
from reenact.pipeline.target import prepare_target
from reenact.pipeline.timing import StageTimer
from reenact.render import build_renderer
from reenact.stream.session import open_sink, output_dir

log = logging.getLogger(__name__)

DEMO_FPS = 25.0


def face_box(landmarks_image: np.ndarray, shape: tuple[int, ...], *, margin: float = 1.7):
    """A square (x0, y0, x1, y1) around the face, `margin` x its landmarks' extent, in the frame."""
    lo, hi = landmarks_image[:, :2].min(0), landmarks_image[:, :2].max(0)
    centre, half = (lo + hi) / 2, max(hi - lo) * margin / 2
    h, w = shape[:2]
    half = min(half, w / 2, h / 2)
    cx, cy = np.clip(centre, [half, half], [w - half, h - half])
    return int(cx - half), int(cy - half), int(cx + half), int(cy + half)


def contact_sheet(frames: list[tuple[str, np.ndarray]], *, tile: int = 256, box=None) -> np.ndarray:
    """Labelled tiles (cut to `box` when given) side by side in rows of 4: (H, W, 3) uint8."""
    tiles = []
    for label, image in frames:
        if box is not None:
            x0, y0, x1, y1 = box
            image = image[y0:y1, x0:x1]
        h, w = image.shape[:2]
        s = tile / max(h, w)
        t = np.full((tile + 28, tile, 3), 24, np.uint8)
        small = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        t[: small.shape[0], : small.shape[1]] = small
        cv2.putText(t, label, (6, tile + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (235, 235, 235), 1,
                    cv2.LINE_AA)
        tiles.append(t)
    while len(tiles) % 4:
        tiles.append(np.full_like(tiles[0], 24))
    rows = [np.concatenate(tiles[i : i + 4], axis=1) for i in range(0, len(tiles), 4)]
    return np.concatenate(rows, axis=0)


class ScriptedActor:
    """A landmark source: the scripted expression track played on a neutral face (478,3) in crop
    pixels, one `Tracked` per frame at `fps`, for `DEMO_DURATION_S` seconds."""

    def __init__(self, neutral: np.ndarray, *, fps: float = DEMO_FPS) -> None:
        self.neutral = neutral
        self.fps = fps
        self.frames = round(DEMO_DURATION_S * fps)

    def __iter__(self) -> Iterator[tuple[float, Tracked]]:
        for i in range(self.frames):
            yield i / self.fps, Tracked(scripted_landmarks(self.neutral, i / self.fps))

    def peak_frames(self) -> dict[int, str]:
        """Frame index -> label of the expressions peaking there (the contact sheet's tiles)."""
        wanted: dict[int, str] = {}
        for label, t in peak_times():
            i = round(t * self.fps)
            wanted[i] = f"{wanted[i]} + {label}" if i in wanted else label
        return wanted


def run_demo(config: Config) -> tuple[Path, Path]:
    """Render the scripted demo into the configured sink; returns (video, contact sheet) paths.

    The scripted actor enters the pipeline like a tracked camera frame would; its neutral is the
    target's own, and its landmarks are noise-free (no landmark smoothing)."""
    check_outputs(config)
    timer = StageTimer()
    target = prepare_target(config.stream.target, config)
    actor = ScriptedActor(target.landmarks_crop)
    reenactor = Reenactor(config=replace(config, smoothing={"enabled": False}), target=target,
                          fuser=build_fuser(config), renderer=build_renderer(config),
                          timer=timer, source_neutral=target.landmarks_crop)
    wanted, sheet = actor.peak_frames(), [("target", target.frame)]
    height, width = target.frame.shape[:2]
    from tqdm import tqdm

    try:
        with open_sink(config, width=width, height=height, fps=actor.fps) as sink:
            for i, (t_s, tracked) in enumerate(tqdm(actor, total=actor.frames, unit="frame",
                                                    desc="demo", file=sys.stderr, leave=False,
                                                    disable=not progress_shown())):
                output = reenactor.process(target.frame, t_s, tracked).output
                with timer.stage("sink"):
                    sink.write(output)
                timer.frame_done()
                if i in wanted:
                    sheet.append((wanted[i], output.copy()))
            folder = output_dir(config, sink)
            video = Path(sink.output_path) if sink.output_path else folder / "demo.mp4"
    finally:
        reenactor.close()
    sheet_path = video.with_suffix(".png") if sink.output_path else folder / "demo.png"
    landmarks = target.alignment.landmarks_to_image(target.landmarks_crop)
    save_image(sheet_path, contact_sheet(sheet, box=face_box(landmarks, target.frame.shape)))
    dump_config(config, folder / f"{video.stem}.config.yaml")
    neutral = (f"expression taken out ({target.expression_removed:.3f} IOD)"
               if target.expression_removed else "the picture's own")
    log.info("renderer: %s; fuser: %s; target neutral: %s", describe(reenactor.renderer),
             describe(reenactor.fuser), neutral)
    if log.isEnabledFor(logging.INFO):  # the timings are a status, which -q leaves out
        print(timer.table(), file=sys.stderr)
    return video, sheet_path
