"""A scripted expression track: smile, mouth open, blink, brows up and wink as landmark deviations.

Used by `reenact demo` (no camera needed) and by tests. Deviations are built on a face's own
aligned neutral landmarks (478, 3) in crop pixels, so they fit any face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reenact.landmarks.align import eye_centres

# MediaPipe face-mesh indices (image-left eye = the person's right eye).
MOUTH_CORNERS = (61, 291)
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
EYES = {
    "left": {
        "upper": (246, 161, 160, 159, 158, 157, 173),
        "lower": (7, 163, 144, 145, 153, 154, 155),
        "iris": (468, 469, 470, 471, 472),
    },
    "right": {
        "upper": (466, 388, 387, 386, 385, 384, 398),
        "lower": (249, 390, 373, 374, 380, 381, 382),
        "iris": (473, 474, 475, 476, 477),
    },
}
BROWS = {
    "left": (70, 63, 105, 66, 107, 46, 53, 52, 65, 55),
    "right": (300, 293, 334, 296, 336, 276, 283, 282, 295, 285),
}


def _iod(neutral: np.ndarray) -> float:
    left, right = eye_centres(neutral)
    return float(np.linalg.norm(right - left))


def mouth_open(neutral: np.ndarray, amount: float) -> np.ndarray:
    """The jaw drops by `amount` x inter-ocular distance; the upper lip stays. (478,3) deviation.

    The lower lip follows the jaw fully at its centre and not at all at the mouth corners; the
    chin and jaw below follow with a falloff towards the sides of the face.
    """
    dev = np.zeros_like(neutral)
    drop = amount * _iod(neutral)
    corners = neutral[list(MOUTH_CORNERS), :2]
    centre_x = corners[:, 0].mean()
    lip_y = neutral[[UPPER_INNER_LIP, LOWER_INNER_LIP], 1].mean()
    half_mouth = abs(corners[1, 0] - corners[0, 0]) / 2
    x, y = neutral[:, 0], neutral[:, 1]
    lateral = np.abs(x - centre_x)
    on_lip = np.clip(1.0 - (lateral / (half_mouth * 1.02)) ** 2, 0.0, 1.0)
    jaw = np.exp(-((lateral / (half_mouth * 2.2)) ** 2))
    depth = np.clip((y - lip_y) / (0.5 * half_mouth), 0.0, 1.0)  # 0 at the lip line, 1 below
    weight = np.where(lateral < half_mouth, np.maximum(on_lip, depth * jaw), depth * jaw)
    below = y > lip_y
    below[UPPER_INNER_LIP] = False
    dev[below, 1] = drop * weight[below]
    return dev


def smile(neutral: np.ndarray, amount: float) -> np.ndarray:
    """Mouth corners move out and up, cheeks rise a little. (478,3) deviation."""
    dev = np.zeros_like(neutral)
    iod = _iod(neutral)
    left, right = neutral[MOUTH_CORNERS[0], :2], neutral[MOUTH_CORNERS[1], :2]
    centre = (left + right) / 2
    half = float(np.linalg.norm(right - left)) / 2
    offset = neutral[:, :2] - centre
    reach = np.exp(-((np.abs(offset[:, 1]) / (0.9 * half)) ** 2))
    side = np.clip(offset[:, 0] / half, -1.4, 1.4)
    dev[:, 0] = amount * 0.22 * iod * side * reach
    dev[:, 1] = -amount * 0.12 * iod * np.abs(side) ** 2 * reach
    return dev


def close_eye(neutral: np.ndarray, side: str, amount: float) -> np.ndarray:
    """The upper lid of one eye ('left'/'right' in the image) comes down to the lower lid."""
    dev = np.zeros_like(neutral)
    eye = EYES[side]
    upper, lower = np.array(eye["upper"]), np.array(eye["lower"])
    lid_line = neutral[lower, 1].mean() * 0.8 + neutral[upper, 1].mean() * 0.2
    dev[upper, 1] = amount * (lid_line - neutral[upper, 1])
    dev[lower, 1] = amount * (lid_line - neutral[lower, 1]) * 0.5
    iris = np.array(eye["iris"])
    dev[iris, 1] = amount * (lid_line - neutral[iris, 1]) * 0.6
    return dev


def brows_up(neutral: np.ndarray, amount: float) -> np.ndarray:
    """Both brows rise by `amount` x 0.15 inter-ocular distance."""
    dev = np.zeros_like(neutral)
    lift = amount * 0.15 * _iod(neutral)
    for idx in BROWS.values():
        dev[np.array(idx), 1] = -lift
    return dev


@dataclass(frozen=True)
class Segment:
    """One expression held between ramps: `start_s` .. `start_s + length_s`, peak `amount`."""

    name: str
    start_s: float
    length_s: float
    amount: float = 1.0

    def weight(self, t: float) -> float:
        x = (t - self.start_s) / self.length_s
        if not 0.0 <= x <= 1.0:
            return 0.0
        return float(np.sin(np.pi * x) ** 2) * self.amount


DEMO_SCRIPT = (
    Segment("smile", 0.5, 1.6),
    Segment("mouth_open", 2.0, 1.6, 0.45),
    Segment("blink", 3.7, 0.45),
    Segment("brows_up", 4.3, 1.5),
    Segment("wink", 5.9, 0.9),
    Segment("smile", 7.0, 1.6, 0.8),
    Segment("mouth_open", 7.2, 1.2, 0.35),
)
DEMO_DURATION_S = 8.8

EXPRESSIONS = {
    "smile": smile,
    "mouth_open": mouth_open,
    "blink": lambda n, a: close_eye(n, "left", a) + close_eye(n, "right", a),
    "wink": lambda n, a: close_eye(n, "left", a),
    "brows_up": brows_up,
}


def scripted_landmarks(neutral: np.ndarray, t_s: float, script=DEMO_SCRIPT) -> np.ndarray:
    """The scripted face at time `t_s`: neutral (478,3) plus every active expression."""
    out = neutral.astype(np.float32, copy=True)
    for segment in script:
        w = segment.weight(t_s)
        if w > 0:
            out += EXPRESSIONS[segment.name](neutral, w).astype(np.float32)
    return out


def peak_times(script=DEMO_SCRIPT) -> list[tuple[str, float]]:
    """(label, time) at the peak of each segment, for contact sheets."""
    return [(s.name.replace("_", " "), s.start_s + s.length_s / 2) for s in script]
