"""Whether a turned head moves each pixel with the surface the picture shows:
`python -m lab.turned_layers PORTRAIT [PORTRAIT ...]`.

A turned picture's face mesh overlaps itself (MediaPipe places the far cheek, hidden behind the
nose, on the nose's own pixels). Each portrait's face at its own landmarks is turned as the live
loop turns a head (`HeadPose.turn`, by `--turn PITCH,YAW`, default four turns of 16 and 12
degrees), and the warp's forward field (`reenact.render.field.face_field`) is compared, at every
grid sample on the face, with the move of the nearest camera-facing triangle that holds it
(found by brute force over the whole mesh). A sample further than `OFF_PX` from it moves with
another layer: a tear in the drawing. Printed per portrait and turn, for the field made with the
picture's z (as the renderers make it) and without it (the mesh's fixed order).

A portrait that cannot be read, or shows no face, is skipped with a line on stderr; if every
portrait is, that is the error (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from lab import each_readable, parse_turn
from reenact.config.schema import TrackerConfig
from reenact.errors import InputError
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import TRIANGLES
from reenact.landmarks.tracker import detect_target_face
from reenact.pipeline.head_motion import HeadPose, turn_centre
from reenact.render.field import NUM_MESH, face_field
from reenact.render.mesh_search import barycentric, signed_areas

SIZE, GRID = 256, 64  # the warp's crop and field grid
OFF_PX = 1.0  # a sample this far from the shown surface's move is on another layer
TURNS = ((0.0, 16.0), (0.0, -16.0), (12.0, 0.0), (-12.0, 0.0))  # (pitch, yaw) degrees


def crop_landmarks(path: Path) -> np.ndarray:
    """(478,3) float32 crop pixels of a portrait's face, found as a target's is."""
    image = cv2.imread(str(path))
    if image is None:
        raise InputError(f"{path}: not a readable image")
    landmarks = detect_target_face(
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB), TrackerConfig(), source_name=str(path)
    )
    return np.asarray(compute_alignment(landmarks, SIZE).landmarks_to_crop(landmarks), np.float32)


def shown_move(xy: np.ndarray, depth: np.ndarray, disp: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per point of `at` (N,2): the move `disp` (468,2) interpolated over the nearest (mean z)
    face triangle that faces the camera in the picture `xy` (468,2) and holds it; NaN where
    none does."""
    area = signed_areas(xy, TRIANGLES)
    facing = TRIANGLES[area * np.sign(area.sum()) > 0]
    z = depth[facing].mean(axis=1)
    out = np.full((len(at), 2), np.nan)
    found = np.zeros(len(at), bool)
    for k in np.argsort(z):
        w = barycentric(xy, facing, np.full(len(at), k), at)
        holds = (w >= -1e-9).all(axis=1) & ~found
        out[holds] = (w[holds, :, None] * disp[facing[k]][None]).sum(axis=1)
        found |= holds
    return out


def turn_move(landmarks: np.ndarray, turn: tuple[float, float]) -> np.ndarray:
    """(468,2) float32: how far each mesh point of (478,3) crop landmarks moves when the head is
    turned by (pitch, yaw) degrees as the live loop turns it."""
    turned = HeadPose(pitch=float(turn[0]), yaw=float(turn[1])).turn(
        landmarks, turn_centre(landmarks)
    )
    return np.asarray(turned[:NUM_MESH, :2] - landmarks[:NUM_MESH, :2], np.float32)


def samples_off(
    landmarks: np.ndarray, turn: tuple[float, float], with_depth: bool = True
) -> tuple[int, int, float]:
    """(samples off the shown surface's move by more than OFF_PX, samples on the face, the
    largest distance off in px) for the field of a picture's (478,3) crop landmarks, made with
    or without their z, under the head turn (pitch, yaw) degrees."""
    field = face_field(landmarks if with_depth else landmarks[:, :2], SIZE, grid=GRID)
    disp = turn_move(landmarks, turn)
    got = field.forward(disp).reshape(-1, 2)
    want = shown_move(
        landmarks[:NUM_MESH, :2].astype(np.float64),
        landmarks[:NUM_MESH, 2].astype(np.float64),
        disp,
        field.points.reshape(-1, 2).astype(np.float64),
    )
    on_face = np.isfinite(want[:, 0])
    off = np.abs(got[on_face] - want[on_face]).max(axis=1)
    return int((off > OFF_PX).sum()), int(on_face.sum()), float(off.max(initial=0.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("portraits", nargs="+", type=Path)
    parser.add_argument(
        "--turn",
        action="append",
        default=[],
        help="PITCH,YAW degrees (repeatable; default: 0,16 0,-16 12,0 -12,0)",
    )
    args = parser.parse_args()
    turns = [parse_turn(text) for text in args.turn] or list(TURNS)
    print(
        f"{'portrait':24s} {'turn':>11s} {'samples':>7s} {'off, z':>7s} {'max px':>7s} "
        f"{'off, no z':>9s} {'max px':>7s}"
    )
    totals = np.zeros(3, int)
    for path, landmarks in each_readable(args.portraits, crop_landmarks, "turned_layers"):
        for turn in turns:
            off, total, worst = samples_off(landmarks, turn)
            blind, _, blind_worst = samples_off(landmarks, turn, with_depth=False)
            totals += (total, off, blind)
            print(
                f"{path.name:24s} {turn[0]:+5.0f},{turn[1]:+5.0f} {total:7d} {off:7d} "
                f"{worst:7.1f} {blind:9d} {blind_worst:7.1f}"
            )
    print(f"{'all':24s} {'':>11s} {totals[0]:7d} {totals[1]:7d} {'':>7s} {totals[2]:9d}")
    return 0


if __name__ == "__main__":
    from lab import run_tool

    run_tool(main, "turned_layers")
