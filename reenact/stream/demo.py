"""`reenact demo`: a scripted expression track drives the target; a video and a contact sheet.

No camera needed: the "actor" is `reenact.landmarks.scripted` applied to the target's own neutral
face, so the same fuse -> render -> composite path as live use runs on every frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from reenact.config import Config
from reenact.pipeline.factory import build_fuser, build_renderer
from reenact.imageio import save_image
from reenact.landmarks.scripted import DEMO_DURATION_S, peak_times, scripted_landmarks
from reenact.pipeline.reenactor import Reenactor
from reenact.stream.session import open_sink, output_dir
from reenact.pipeline.target import prepare_target
from reenact.pipeline.timing import StageTimer

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


def run_demo(config: Config) -> tuple[Path, Path]:
    """Render the scripted demo into the configured sink; returns (video, contact sheet) paths."""
    timer = StageTimer()
    target = prepare_target(config.stream.target, config)
    fuser, renderer = build_fuser(config), build_renderer(config)
    reenactor = Reenactor(config=config, target=target, fuser=fuser, renderer=renderer, timer=timer)
    reenactor.calibrator.set(target.landmarks_crop)
    wanted: dict[int, str] = {}
    for label, t in peak_times():
        i = round(t * DEMO_FPS)
        wanted[i] = f"{wanted[i]} + {label}" if i in wanted else label
    sheet = [("target", target.frame)]
    height, width = target.frame.shape[:2]
    total = round(DEMO_DURATION_S * DEMO_FPS)
    from tqdm import tqdm

    try:
        with open_sink(config, width=width, height=height, fps=DEMO_FPS) as sink:
            for i in tqdm(range(total), unit="frame", desc="demo", file=sys.stderr, leave=False):
                source = scripted_landmarks(target.landmarks_crop, i / DEMO_FPS)
                output = reenactor.render_landmarks(source)
                with timer.stage("sink"):
                    sink.write(output)
                timer.frame_done()
                if i in wanted:
                    sheet.append((wanted[i], output.copy()))
    finally:
        reenactor.close()
    folder = output_dir(config)
    video = Path(config.sink.path)
    sheet_path = video.with_suffix(".png") if config.sink.kind == "file" else folder / "demo.png"
    landmarks = target.alignment.landmarks_to_image(target.landmarks_crop)
    save_image(sheet_path, contact_sheet(sheet, box=face_box(landmarks, target.frame.shape)))
    from reenact.config import dump_config

    dump_config(config, folder / f"{video.stem}.config.yaml")
    from reenact.pipeline.factory import describe

    print(f"renderer: {describe(renderer)}; fuser: {describe(fuser)}", file=sys.stderr)
    print(timer.table(), file=sys.stderr)
    return video, sheet_path
