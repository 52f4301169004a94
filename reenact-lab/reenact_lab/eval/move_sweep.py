"""Drawn moves read back: how much of a move a renderer draws the eval's re-tracker reads.

`reenact eval`'s cross-identity `expression_gain` regresses re-tracked outputs on the driver. A
move the renderer draws but the re-tracker does not read back costs that gain though a viewer
sees it, so the eval also draws known moves on each portrait's face at rest (its own landmarks,
or its estimated neutral where the picture wears an expression), one region at a time (`MOVES`:
both upper lids opened or closed, both brows raised or lowered, the jaw dropped or raised, the
mouth corners pulled apart or together; `moved`), reads each drawing back with the re-tracker
the outputs get (`reenact_lab.eval.cross_reenact.retrack_output`) and compares the change read with
the change asked (`read_moves`). `sweep_moves` is the eval's pass (per portrait and renderer;
report.json `move_sweep`), `SWEEP_GROUPS` its columns: each the least-squares slope through 0
of read on asked over that move's amounts of one sign (1.0: read as drawn), left out (NaN) where
the asked change is under `MIN_ASKED`.

The same functions back the lab's `lab/drawn_moves.py` (any portrait, with turns, and
the drawings written out to look at). A widened eye reads far short of the widening drawn (the
face mesh puts the upper lid at the iris's top, though the drawing bares white above it), a shut
one about as drawn; a round open mouth's corners pulled apart read shorter than a closed one's.

`jaw closing` is the jaw raised from the face at rest (never past the upper lip): n/a on a
portrait whose mouth is shut at rest (nothing to close: the asked change is under `MIN_ASKED`).
It is the drawing's share of the per-direction table's "mouth open ↓" on a portrait whose rest
is the estimate's closing of a gaping picture (`reenact.fusion.target_neutral.close_open_mouth`):
the lips are drawn band by band (`reenact.render.lip_bands`) so that a yawn closed to parted
lips reads back about as drawn: a mesh turned over at the yawn's corners drew its cavity's rim
across the lips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reenact.landmarks.expressiveness import (
    FEATURES,
    MOUTH_CORNERS,
    features,
    inter_ocular,
    relative,
)
from reenact.landmarks.head_pose import EYE_RINGS, LOWER_LIDS, UPPER_LIDS
from reenact.landmarks.jaw import drop_jaw
from reenact.landmarks.regions import REGIONS
from reenact_lab.metrics.expression import relative_features
from reenact.pipeline.head_motion import HeadPose, turn_centre

# each brow's points, and the index of its height in FEATURES (brow_right, brow_left)
_BROWS = ((REGIONS["right_brow"], 5), (REGIONS["left_brow"], 4))
_ARC = np.sin(np.linspace(0.125, 0.875, 7) * np.pi)  # how far each of a lid's 7 points moves
# each move's features (indices into FEATURES) and the amounts tried by default
MOVES = {
    "eyes": ((2, 3), (-0.2, -0.1, 0.1, 0.2)),
    "brows": ((4, 5), (-0.1, 0.1, 0.2)),
    "jaw": ((0,), (-0.1, -0.05, 0.1, 0.2, 0.3)),
    "smile": ((1,), (-0.1, 0.1, 0.2)),
}


def moved(neutral: np.ndarray, move: str, amount: float) -> np.ndarray:
    """`neutral` (478,2|3) crop pixels moved by `move` (module docstring): a new float32 array of
    the same shape."""
    out = np.array(neutral, np.float32, copy=True)
    if move == "eyes":
        for ring, upper, lower in zip(EYE_RINGS, UPPER_LIDS, LOWER_LIDS):
            width = float(np.hypot(*(out[ring[8], :2] - out[ring[0], :2])))
            upper, lower = np.asarray(upper), np.asarray(lower)
            out[upper, 1] = np.minimum(out[upper, 1] - amount * width * _ARC, out[lower, 1])
    elif move == "brows":
        heights = features(out) * inter_ocular(out)  # pixels, the brows' as the feature reads
        for brow, index in _BROWS:
            out[np.asarray(brow), 1] -= amount * float(heights[index])
    elif move == "jaw":
        width = float(np.hypot(*(out[MOUTH_CORNERS[1], :2] - out[MOUTH_CORNERS[0], :2])))
        out = drop_jaw(out, amount * width)
    elif move == "smile":
        xy = out[:, :2]
        left, right = xy[MOUTH_CORNERS[0]], xy[MOUTH_CORNERS[1]]
        half = 0.5 * float(np.hypot(*(right - left)))
        centre = 0.5 * (left + right)
        across = (xy[:, 0] - centre[0]) / half  # -1 at one corner, +1 at the other
        reach = np.clip(np.abs(across), 0.0, 1.0) * np.clip(2.0 - np.abs(across), 0.0, 1.0)
        level = np.exp(-(((xy[:, 1] - centre[1]) / half) ** 2))
        out[:, 0] += amount * half * np.sign(across) * reach * level
    else:
        raise ValueError(f"unknown move {move!r}; one of {', '.join(MOVES)}")
    return out


@dataclass(frozen=True)
class Reading:
    """One drawn move: the mean change of its features asked and read back (NaN: no face)."""

    move: str
    amount: float
    asked: float
    read: float

    @property
    def ratio(self) -> float:
        return self.read / self.asked if abs(self.asked) > 1e-6 else float("nan")


def read_moves(
    renderer,
    reader,
    crop: np.ndarray,
    neutral: np.ndarray,
    moves: dict | None = None,
    drawings: dict | None = None,
    turn: tuple[float, float] = (0.0, 0.0),
    rest: np.ndarray | None = None,
) -> list[Reading]:
    """Draw each move with `renderer` (`set_target(crop, landmarks)`, `render(landmarks)`) and
    read it back with `reader(image) -> (478,3) | None`. crop: (S,S,3) uint8 target crop;
    neutral: (478,3) its landmarks; moves: {move: (feature indices, amounts)} (default `MOVES`);
    drawings: a dict the drawings are put in, by (move, amount), when given; turn: (pitch, yaw)
    degrees the head is drawn turned by (module docstring), read with its pose undone; rest:
    the (478,3) face the moves start from and are read against (None = `neutral`; the eval
    gives the target's rest, `reenact_lab.eval.carried_rows.output_neutral`)."""
    moves = MOVES if moves is None else moves
    picture, neutral = neutral, (neutral if rest is None else np.asarray(rest, np.float32))
    pose, centre = HeadPose(pitch=float(turn[0]), yaw=float(turn[1])), turn_centre(neutral)
    turned = abs(pose.pitch) > 1e-3 or abs(pose.yaw) > 1e-3

    def reading(landmarks: np.ndarray) -> np.ndarray:  # (F,) relative features
        face = np.asarray(landmarks, np.float32)[None]
        return relative_features(face, neutral)[0] if turned else relative(face, neutral)[0]

    renderer.set_target(crop, picture)
    start = reader(np.array(renderer.render(pose.turn(neutral, centre)), copy=True))
    if start is None:
        return []
    base = reading(start)
    out = []
    for move, (indices, amounts) in moves.items():
        for amount in amounts:
            landmarks = moved(neutral, move, amount)
            drawn = np.array(renderer.render(pose.turn(landmarks, centre)), copy=True)
            if drawings is not None:
                drawings[(move, amount)] = drawn
            asked = relative(landmarks[None], neutral)[0]
            found = reader(drawn)
            read = reading(found) - base if found is not None else np.full(len(FEATURES), np.nan)
            idx = list(indices)
            out.append(
                Reading(move, float(amount), float(asked[idx].mean()), float(read[idx].mean()))
            )
    return out


# the eval's columns: (label, move, sign of the amounts)
SWEEP_GROUPS = (
    ("eyes closing", "eyes", -1),
    ("eyes widening", "eyes", 1),
    ("brows lowered", "brows", -1),
    ("brows raised", "brows", 1),
    ("jaw dropping", "jaw", 1),
    ("jaw closing", "jaw", -1),
    ("mouth widening", "smile", 1),
    ("mouth narrowing", "smile", -1),
)
MIN_ASKED = 0.03  # an asked change smaller than this (region sizes) is left out of a group


def group_ratios(readings: list[Reading]) -> dict[str, float]:
    """{label: read over asked} per SWEEP_GROUPS group: the least-squares slope through 0 over
    its readings asked at least MIN_ASKED (NaN: none, or the face not found)."""
    out = {}
    for label, move, sign in SWEEP_GROUPS:
        pairs = [
            (r.asked, r.read)
            for r in readings
            if r.move == move
            and np.sign(r.amount) == sign
            and abs(r.asked) >= MIN_ASKED
            and np.isfinite(r.read)
        ]
        asked = np.array([a for a, _ in pairs])
        out[label] = (
            float(np.dot(asked, [b for _, b in pairs]) / np.dot(asked, asked))
            if pairs
            else float("nan")
        )
    return out


def sweep_moves(target, renderer, config, retracker) -> dict:
    """`MOVES` drawn on `target` (a PreparedTarget) by `renderer` from the face the target
    shows at rest (`output_neutral`: its estimated neutral where the picture wears an
    expression, as the live loop draws it) and read back by `retracker` (a static FaceTracker)
    as the eval reads its outputs: {"groups": `group_ratios`, "moves": [{"move", "amount",
    "asked", "read"}] (NaN where no face was found)}."""
    from reenact_lab.eval.carried_rows import output_neutral
    from reenact_lab.eval.drive import retrack_output

    readings = read_moves(
        renderer,
        lambda image: retrack_output(retracker, image, config),
        target.crop,
        target.landmarks_crop,
        rest=output_neutral(target),
    )
    return {
        "groups": group_ratios(readings),
        "moves": [
            {"move": r.move, "amount": r.amount, "asked": r.asked, "read": r.read} for r in readings
        ],
    }
