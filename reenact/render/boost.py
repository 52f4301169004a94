"""The drawn expression boost: a smile's widening and lift and a brow's raise drawn larger than
J_gen says.

Why. The warp (and the warp-guided generator on top of it) moves the target's own pixels: it
draws an expression's shape, not the folds, cheek bulge and shading that come with it on a real
face. A face tracker, and a viewer, read a smile and raised brows from those cues as well as
from the lip corners and brow line, so the drawn face reads as less expressive than the
landmarks it was drawn to. Measured by self-reenactment of the 62 training clips (each clip's
reference frame driven by its other frames, every 6th; the real frames and the drawings tracked
again the same way; `python -m lab.render_carry --prepared DIR --skip <held-out>` in a checkout),
the warp's drawing read 0.85 of the mouth widening and 0.76 / 0.76 of the brow raise (left /
right) that the real frames read, against 1.01 of the mouth opening, which the painted cavity
carries (the generator: 0.87, 0.85 / 0.84). Drawn 1.15 x wider and 1.25 x higher they read
0.97, 0.92 / 0.90 (the generator 0.99, 1.04 / 1.00); on the four held-out clips 0.75 -> 0.88
and 0.81 / 0.88 -> 0.97 / 1.05. The boost moves the corners and brows by about a pixel: the
eval's live self-reenactment SSIM does not change (0.7649 / 0.7650, the warp).

What. On the fused landmarks J (478, 3) in the target's crop pixels, in the face's own upright
frame (before the head's turn), against the target's neutral N:

- mouth_width b_w: the mouth's fractional widening w = (J_291 - J_61)_x / (N_291 - N_61)_x - 1
  grows to b_w w: each point's horizontal offset from the mouth's centre (in J) grows by the
  fraction (b_w - 1) w / (1 + w), fully on the lips, falling off over the cheeks and chin (to
  nothing 0.6 mouth widths beyond the corners), so that the skin moves with the corners rather
  than tearing from them; a pursed mouth (w < 0) is narrowed further the same way;
- brows b_b: each brow point's vertical change relative to its eye's corners (J against N)
  grows to b_b times itself;
- lift b_l: each mouth corner's rise above the nose base (2), J against N (the eval's smile
  lift), grows to b_l times itself: the corner and the skin around it move up (or down) by the
  extra, fully at the corner, falling off to nothing half a mouth width from it, so that the lips'
  middle stays where J puts it. Measured as above (stop 52, `render_carry --prepared`, 61 training
  clips, every 6th frame): the warp's drawing read 0.87 of the corners' rise the real frames
  read, the generator's 0.90; on the four held-out clips 0.81 / 0.81.

Each extra is limited (EXTRA_LIMIT) so that a tracking glitch is never magnified into a tear.
1 = draw J as fused. Only what the renderer draws is boosted: J_gen itself (the frame's `fused`,
the eval's "before rendering" row) stays Phi's.

A renderer that only moves the target's pixels (`draws_shading` False: the warp) draws more of
the brows' extra (`ExpressionBoost.from_config`). The generator, though it draws on the warp,
shades a raised or lowered brow's skin; the warp only moves it. At the shipped brows 1.25, self-reenactment of
61 training clips (`render_carry --prepared`, every 6th frame; the eval's four clips left out,
stop 83) read the generator's brows at 1.03 / 1.03 (left / right) of the real frames' and the
warp's at 0.92 / 0.90; drawn with WARP_BROWS times the extra (1.4), the warp's read 1.00 / 0.98,
its other features unchanged (on the eval's four clips, 94 frames, the warp's read 1.11 / 1.09
at 1.25 and 1.20 / 1.16 at 1.4, the generator's 1.10 / 1.13; cross-identity, `reenact eval -c
eval`, the warp's brows carry 0.90 / 0.99 of the actor's against 0.83 / 0.90 at 1.25 and J_gen's
0.92 / 0.92). So the warp draws that much more of the brows' extra than
`renderer.boost.brows` says, at most BOOST_RANGE's top; `renderer.boost.brows=1` still draws
the brows as fused.
"""

from __future__ import annotations

import numpy as np

from reenact.landmarks.expressiveness import BROW_POINTS, GAIN_REGIONS, MOUTH_CORNERS, NOSE_BASE
from reenact.landmarks.regions import REGIONS

BOOST_RANGE = (1.0, 2.0)
_MOUTH = GAIN_REGIONS["mouth"]
# each brow's points and the eye corners its raise is measured from (the brow feature's)
_BROWS = tuple(
    (np.asarray(REGIONS[f"{side}_brow"]), corners)
    for side, (_, corners) in zip(("left", "right"), BROW_POINTS)
)
FALLOFF = 0.6  # mouth widths beyond the corners at which the cheeks' share reaches 0
LIFT_REACH = 0.5  # mouth widths from a corner at which its lift's share reaches 0
# the extra, at most: a fraction of the mouth's width; of the eye's width for a brow
EXTRA_LIMIT = 0.15
WARP_BROWS = 1.6  # a renderer that draws no shading draws this times the brows' extra


def _mouth_span(xy: np.ndarray) -> float:
    """The distance between the mouth corners of (478, 2+) points, pixels."""
    return float(np.linalg.norm(xy[MOUTH_CORNERS[1], :2] - xy[MOUTH_CORNERS[0], :2]))


def _mouth_weights(neutral: np.ndarray) -> np.ndarray:
    """(478,) share of the mouth's sideways stretch each point takes: 1 on the lips, falling off
    smoothly with the distance from the mouth's centre beyond half its width."""
    xy = neutral[:, :2]
    centre = xy[list(MOUTH_CORNERS)].mean(axis=0)
    width = _mouth_span(xy)
    beyond = np.linalg.norm(xy - centre, axis=1) - width / 2
    weight = np.clip(1.0 - beyond / max(FALLOFF * width, 1e-6), 0.0, 1.0) ** 1.5
    weight[_MOUTH] = 1.0
    return weight


def _lift_weights(neutral: np.ndarray) -> np.ndarray:
    """(2, 478): each corner's (61, 291) share of its lift per point: 1 at the corner, falling
    off smoothly to 0 at LIFT_REACH mouth widths from it."""
    xy = neutral[:, :2]
    width = _mouth_span(xy)
    near = np.stack([np.linalg.norm(xy - xy[c], axis=1) for c in MOUTH_CORNERS])
    return np.clip(1.0 - near / max(LIFT_REACH * width, 1e-6), 0.0, 1.0) ** 1.5


class ExpressionBoost:
    """The boost; `apply(J, N)` per frame (see the module docstring).

    mouth_width, brows, lift: the boosts (BOOST_RANGE; 1 = none). The cheeks' shares are worked
    out once per target neutral N and kept while N stays the same.
    """

    def __init__(self, *, mouth_width: float = 1.0, brows: float = 1.0, lift: float = 1.0) -> None:
        for name, value in (("mouth_width", mouth_width), ("brows", brows), ("lift", lift)):
            if not BOOST_RANGE[0] <= value <= BOOST_RANGE[1]:
                raise ValueError(
                    f"renderer.boost.{name}: {value} is outside "
                    f"{BOOST_RANGE[0]:g} .. {BOOST_RANGE[1]:g}"
                )
        self.mouth_width, self.brows, self.lift = float(mouth_width), float(brows), float(lift)
        self._neutral: np.ndarray | None = None
        self._weights: np.ndarray | None = None
        self._lifts: np.ndarray | None = None

    @classmethod
    def from_config(cls, config, renderer: object = None) -> ExpressionBoost:
        """The boost `config.renderer.boost` asks for, as `renderer` draws it: one that declares
        `draws_shading = False` (it only moves the target's pixels, as the warp does) draws
        WARP_BROWS times the brows' extra; a renderer that does not declare it shades (None:
        no renderer, the boost as asked)."""
        if isinstance(renderer, str):
            raise TypeError("ExpressionBoost.from_config takes the renderer, not its name")
        b = config.renderer.boost
        brows = b.brows
        if renderer is not None and not getattr(renderer, "draws_shading", True):
            brows = min(1.0 + WARP_BROWS * (brows - 1.0), BOOST_RANGE[1])
        return cls(mouth_width=b.mouth_width, brows=brows, lift=b.lift)

    @property
    def active(self) -> bool:
        return self.mouth_width != 1.0 or self.brows != 1.0 or self.lift != 1.0

    def _for(self, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mouth's (478,) and the corners' lift (2, 478) shares for this neutral."""
        if (
            self._neutral is None
            or self._neutral.shape != neutral.shape
            or not np.array_equal(self._neutral, neutral)
        ):
            self._neutral = np.array(neutral, np.float64)
            self._weights = _mouth_weights(self._neutral)
            self._lifts = _lift_weights(self._neutral)
        return self._weights, self._lifts

    def apply(self, fused: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """fused J, neutral N: (478, 2|3) crop pixels -> the landmarks to draw (a new float32
        array; `fused` itself when the boost is off)."""
        if not self.active:
            return fused
        n = np.asarray(neutral, np.float64)
        out = np.array(fused, np.float64)
        mouth_shares, lift_shares = self._for(n)
        if self.mouth_width != 1.0:
            left, right = MOUTH_CORNERS
            span_n = n[right, 0] - n[left, 0]
            if span_n > 1e-6:
                widening = (out[right, 0] - out[left, 0]) / span_n - 1.0
                # of J's own width, so that the drawn widening is exactly b_w times J's
                extra = float(
                    np.clip(
                        (self.mouth_width - 1.0) * widening / (1.0 + widening),
                        -EXTRA_LIMIT,
                        EXTRA_LIMIT,
                    )
                )
                centre = out[list(MOUTH_CORNERS), 0].mean()
                out[:, 0] += mouth_shares * extra * (out[:, 0] - centre)
        if self.lift != 1.0:
            limit = EXTRA_LIMIT * _mouth_span(n)
            for corner, shares in zip(MOUTH_CORNERS, lift_shares):
                rise = (out[NOSE_BASE, 1] - out[corner, 1]) - (n[NOSE_BASE, 1] - n[corner, 1])
                out[:, 1] -= shares * float(np.clip((self.lift - 1.0) * rise, -limit, limit))
        if self.brows != 1.0:
            for brow, corners in _BROWS:
                eye = list(corners)
                limit = EXTRA_LIMIT * float(np.linalg.norm(n[eye[0], :2] - n[eye[1], :2]))
                raised = (out[brow, 1] - out[eye, 1].mean()) - (n[brow, 1] - n[eye, 1].mean())
                out[brow, 1] += np.clip((self.brows - 1.0) * raised, -limit, limit)
        return out.astype(np.float32)
