"""Time MediaPipe's face mesh settings on this machine: `python -m lab.tracking_bench`.

Every setting gets its own video-mode `FaceMesh`, and each frame of a real clip goes through all
of them in turn (interleaved, so a busy machine slows them alike). Prints, per setting, the
median and p99 wall milliseconds of `process`, the median CPU milliseconds (all threads), the
frames with a face, and the largest landmark difference from the first setting (pixels).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from reenact.landmarks.wire import landmarks_array

SETTINGS = {  # name: (FaceMesh keyword arguments, static mode)
    "4 faces": ({"max_num_faces": 4}, False),
    "1 face": ({"max_num_faces": 1}, False),
    "1 face, no iris refinement": ({"max_num_faces": 1, "refine_landmarks": False}, False),
    "1 face, confidences 0.3": (
        {"max_num_faces": 1, "min_detection_confidence": 0.3, "min_tracking_confidence": 0.3},
        False,
    ),
    "1 face, confidences 0.8": (
        {"max_num_faces": 1, "min_detection_confidence": 0.8, "min_tracking_confidence": 0.8},
        False,
    ),
    "1 face, static mode": ({"max_num_faces": 1}, True),
}


def _mesh(kwargs: dict, static: bool):
    from reenact.landmarks.native_stderr import quiet_stderr
    from reenact.landmarks.tracker import mediapipe_solutions

    with quiet_stderr():
        return mediapipe_solutions().face_mesh.FaceMesh(
            static_image_mode=static, **{"refine_landmarks": True, **kwargs}
        )


def run(clip: Path, frames: int) -> list[str]:
    from reenact.video import read_frames

    images = list(read_frames(clip, frames))
    meshes = {name: _mesh(*setting) for name, setting in SETTINGS.items()}
    wall = {name: [] for name in meshes}
    cpu = {name: [] for name in meshes}
    found = {name: [] for name in meshes}
    for image in images:
        for name, mesh in meshes.items():
            start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
            result = mesh.process(image)
            wall[name].append((time.perf_counter_ns() - start) / 1e6)
            cpu[name].append((time.process_time_ns() - start_cpu) / 1e6)
            faces = result.multi_face_landmarks
            found[name].append(
                landmarks_array(faces[0], image.shape[1], image.shape[0])[:468] if faces else None
            )
    first = next(iter(meshes))
    lines = [
        f"{'setting':30s} {'wall median/p99 ms':>20s} {'CPU ms':>7s} {'faces':>6s} "
        f"{'max px vs ' + first:>18s}"
    ]
    for name in meshes:
        diffs = [
            np.abs(a[:, :2] - b[:, :2]).max()
            for a, b in zip(found[name], found[first])
            if a is not None and b is not None
        ]
        lines.append(
            f"{name:30s} {np.median(wall[name]):9.2f} / {np.percentile(wall[name], 99):7.2f}"
            f" {np.median(cpu[name]):7.2f} {sum(f is not None for f in found[name]):6d}"
            f" {max(diffs, default=float('nan')):18.2f}"
        )
        meshes[name].close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.tracking_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--clip", type=Path, required=True, help="a real clip with one face")
    parser.add_argument("--frames", type=int, default=150, help="frames (default 150)")
    args = parser.parse_args(argv)
    print("\n".join(run(args.clip, args.frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
