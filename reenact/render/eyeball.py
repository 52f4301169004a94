"""The target's eyes as `reenact.render.irises.IrisPainter` cuts them out once, per target.

`cut_eye` makes, for one eye of the target crop, a `TargetEye`: the eyeball without its iris (the
"sclera plate", its iris disc continued from the visible white around it, `fill_from_white`, and
a "wide plate" with the disc in the bright half's colour, `bright_sclera`), the iris completed
where the lids hid it (`complete_iris`), out as far as the picture's iris visibly reaches
(`iris_reach`), and how much brighter a widening draws the white it uncovers (`open_gain`).
The painter fits these between the fused lids every frame; the module docstring of
`reenact.render.irises` says what each is for and what it measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.head_pose import EYE_RINGS, IRIS_CENTRES, LOWER_LIDS, UPPER_LIDS
from reenact.landmarks.regions import REGIONS
from reenact.render.anchor import LUMA
from reenact.render.paint import edge_band, fill_aa, soft_rgb

_IRIS_RINGS = (REGIONS["right_iris"][1:], REGIONS["left_iris"][1:])


# per eye: the upper and the lower lid, each corner, 7 points, corner
LIDS = tuple((np.r_[ring[0], upper, ring[8]], np.r_[ring[0], lower, ring[8]])
             for ring, upper, lower in zip(EYE_RINGS, UPPER_LIDS, LOWER_LIDS))


def lid_points(xy: np.ndarray, lid: np.ndarray) -> np.ndarray:
    """A lid's 9 points (one of `LIDS`) sorted by x: (2,9) float32 x row, y row."""
    pts = xy[lid, :2]
    return pts[np.argsort(pts[:, 0])].T


# the white a widening uncovers is drawn at least this bright (luma) relative to the skin below
# the eye, brightened by at most OPEN_GAIN_MAX (fully once a column opens
# `reenact.render.irises.WIDE_FULL` wider)
OPEN_WHITE = 0.7
OPEN_GAIN_MAX = 1.8

# how far past the tracked iris radius (pixels at 256) the plate's iris disc is filled and the
# painted iris reaches, at least: the limbus's soft dark edge, which the iris ring's landmarks
# lie inside. Further where the picture's iris visibly reaches further (`iris_reach`): out to the
# first 1-px ring RIM_LEVEL of the way from the iris's edge to the white's brightest ring, at most
# RIM_MAX radii further; not where the white is within RIM_CONTRAST grey levels of the iris
IRIS_RIM = 1.0
RIM_LEVEL, RIM_MAX, RIM_CONTRAST = 0.75, 0.5, 20.0
# how far above the upper lid the picture's lash line is looked for (px at 256): a widening draws
# it again above the raised lid (`reenact.render.irises`)
LASH_MOST = 5.0

def bright_sclera(white: np.ndarray) -> np.ndarray:
    """(n,3) float32 pixels of an eye's visible white -> (3,) its bright half's mean colour.

    In a small or shadowed eye much of the visible white lies under the lid's shadow and the
    lashes; the median of all of it is a grey that, painted where the iris was or above it in a
    wider-open eye, reads as lid skin, not eyeball."""
    if len(white) < 4:
        return np.array([225.0, 220.0, 215.0], np.float32)
    luma = white @ LUMA
    return white[luma >= np.median(luma)].mean(axis=0).astype(np.float32)


def iris_reach(luma: np.ndarray, white: np.ndarray, dist: np.ndarray, radius: float,
               rim: float) -> float:
    """How far from the iris centre the picture's iris visibly reaches (>= `rim`), in pixels.

    luma: (h,w) float32 of the eye's box; white: (h,w) bool, the eye opening less its edge pixel;
    dist: (h,w) distance of each pixel from the tracked iris centre; radius: the tracked iris
    radius. MediaPipe's iris ring often lies inside the iris's dark limbal edge, a few pixels on
    a large or cartoon iris: a disc only `rim` wide left that edge in the plate, and a glance
    showed it as a dark arc round the white where the iris was."""
    def ring(a: float, b: float) -> float:
        sel = white & (dist >= a) & (dist < b)
        return float(luma[sel].mean()) if sel.sum() >= 3 else np.nan

    edge = ring(radius - 2.0, radius)
    steps = np.arange(0.0, RIM_MAX * radius, 1.0)
    means = np.array([ring(rim + j, rim + j + 1.0) for j in steps])
    if np.isnan(edge) or np.all(np.isnan(means)):
        return rim
    brightest = float(np.nanmax(means))
    if brightest - edge < RIM_CONTRAST:
        return rim  # no white brighter than the iris (a dark-eyed animal)
    level = edge + RIM_LEVEL * (brightest - edge)
    return rim + float(steps[np.flatnonzero(means >= level)[0]])


def fill_from_white(box: np.ndarray, known: np.ndarray, disc: np.ndarray, sclera: np.ndarray,
                    unit: float = 1.0) -> np.ndarray:
    """The iris disc's pixels as the white around it continues them: (n,3) float32 for
    box[disc]. box: (h,w,3) float32 RGB; known: (h,w) bool, the visible white the fill may
    come from; sclera: (3,) the fill where too little white shows.

    OpenCV's inpainting (Telea) from the visible white alone: a glance uncovers the white at the
    iris's own height, in its own shade, and on a dark-eyed target (a dog, whose visible "white"
    is dark eye and a rim of fur) the dark eye. A single colour there (the bright half of the
    white, `bright_sclera`) left a pale crescent with an edge where the iris had been, and on a
    dark-eyed target grey bars of fur colour."""
    if known.sum() < 4:
        return np.broadcast_to(sclera, (int(disc.sum()), 3))
    filled = cv2.inpaint(box.astype(np.uint8), (~known).astype(np.uint8), 3.0 * unit,
                         cv2.INPAINT_TELEA)
    return filled[disc].astype(np.float32)


def open_gain(crop: np.ndarray, xy: np.ndarray, ring, sclera: np.ndarray,
              open_white: float) -> float:
    """How much brighter than `sclera` (3,) the white a widening uncovers is drawn (>= 1).

    crop: (S,S,3) uint8; xy: (478,2) its landmarks; ring: one eye's ring (`EYE_RINGS`). The
    skin is the median luma of a patch under the eye (0.3 to 0.6 eye widths below its lowest
    point, the middle half of its width); the white is lifted to `open_white` of it, by at most
    OPEN_GAIN_MAX. In wide-eyed expression stills the eye's brightest part is brighter than in
    the neutral still, and near the cheek's brightness: a raised lid uncovers white the light
    reaches, not the white in its shadow.
    """
    points = xy[ring]
    width = float(points[:, 0].max() - points[:, 0].min())
    x0, x1 = np.percentile(points[:, 0], [25, 75])
    bottom = float(points[:, 1].max())
    y0, y1 = int(bottom + 0.3 * width), int(np.ceil(bottom + 0.6 * width))
    patch = crop[max(y0, 0):max(y1, 0), max(int(x0), 0):max(int(np.ceil(x1)), 0)]
    if patch.size == 0 or open_white <= 0.0:
        return 1.0
    skin = float(np.median(patch.reshape(-1, 3).astype(np.float32) @ LUMA))
    return float(np.clip(open_white * skin / max(float(sclera @ LUMA), 1.0), 1.0, OPEN_GAIN_MAX))


@dataclass(frozen=True)
class TargetEye:
    """One target eye, cut out once: the sclera plate and the completed iris.

    origin: (2,) crop pixel of the plate's top-left; plate: (h,w,3) float32 RGB, the iris disc
    continued from the white around it (`fill_from_white`: what a glance uncovers); wide_plate:
    the same with the disc in the bright half's colour (`bright_sclera`: what a widening
    uncovers above and below the iris, as lit as wide-eyed expression stills show it);
    iris: (n,n,4) float32, RGB and the disc's alpha, centred on the iris centre (its border
    alpha is 0, so one replicated-border resampling serves both);
    width: eye width (corner to corner) in pixels;
    upper, lower: the target's lids as `lid_points` gives them, (2,9) float32;
    open_gain: `open_gain`, the brightening of the white a widening uncovers;
    lash: (9,) float32, how far the picture's lash line reaches above each point of `upper`
    (`edge_band`, at most LASH_MOST).
    """

    origin: np.ndarray
    plate: np.ndarray
    wide_plate: np.ndarray
    iris: np.ndarray
    width: float
    upper: np.ndarray
    lower: np.ndarray
    open_gain: float
    lash: np.ndarray


def cut_eye(crop: np.ndarray, t: np.ndarray, eye: int, *, open_white: float,
            soft: np.ndarray | None = None) -> TargetEye | None:
    """One eye of a target crop (S,S,3) uint8 with landmarks t (478,2) float32, cut out once
    (`TargetEye`); None where its iris or eye is too small to paint. Lengths scale with S / 256;
    open_white: `OPEN_WHITE` (0: a widening stretches the white as it is); soft: `soft_rgb` of
    the crop when the caller has it (both eyes read it)."""
    size = crop.shape[0]
    unit = size / 256.0
    ring = EYE_RINGS[eye]
    centre = t[IRIS_CENTRES[eye]]
    radius = float(np.linalg.norm(t[_IRIS_RINGS[eye]] - centre, axis=1).mean())
    width = float(np.hypot(*(t[ring[8]] - t[ring[0]])))
    if radius < 1.0 or width < 4.0:
        return None
    pad = int(math.ceil(radius)) + 3
    lo = np.floor(np.minimum(t[ring].min(axis=0), centre - radius)).astype(int) - pad
    hi = np.ceil(np.maximum(t[ring].max(axis=0), centre + radius)).astype(int) + pad + 1
    x0, y0 = np.maximum(lo, 0)
    x1, y1 = np.minimum(hi, size)
    box = crop[y0:y1, x0:x1].astype(np.float32)
    opening = np.zeros(box.shape[:2], np.uint8)
    fill_aa(opening, t[ring], (int(x0), int(y0)))
    inside = opening > 127
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dist = np.hypot(xs - centre[0], ys - centre[1])
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rim = iris_reach(box @ LUMA, core, dist, radius, radius + IRIS_RIM * unit)
    disc = dist <= rim
    white = inside & ~disc
    sclera = bright_sclera(box[white])
    # the fill stays inside the opening: over the lid, where the lid hides the iris, it replaced
    # the lash line, which a widening shows (it keeps the rows under the lid at their own scale)
    share = np.where(disc, opening.astype(np.float32) / 255.0, 0.0)[..., None]
    plates = []
    for fill in (fill_from_white(box, core & ~disc, disc, sclera, unit), sclera):
        plate = box.copy()
        plate[disc] = fill
        plate = cv2.GaussianBlur(plate, (0, 0), 0.6 * unit)
        plates.append(box + (plate - box) * share)
    iris, alpha = complete_iris(box, inside, centre - (x0, y0), rim)
    upper = lid_points(t, LIDS[eye][0])
    lash = edge_band(soft_rgb(crop) if soft is None else soft, upper.T, (0.0, -1.0),
                     LASH_MOST * unit)
    return TargetEye(np.array([x0, y0], np.float32), *plates, np.dstack([iris, alpha]), width,
                     upper, lid_points(t, LIDS[eye][1]),
                     open_gain(crop, t, ring, sclera, open_white), lash)


def complete_iris(box: np.ndarray, inside: np.ndarray, centre: np.ndarray,
                  radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The iris as an (n,n,3) patch centred on the iris; alpha: the anti-aliased disc.

    box: (h,w,3) float32 of the eye; inside: (h,w) bool, the eye's opening; centre: the iris
    centre in box pixels; radius: how far the iris reaches. A pixel the lids hide gets the mean
    colour of the visible ones at its distance from the centre (half-pixel rings), taken from the
    iris's sides (within 45 degrees of level; anywhere in the ring where those are hidden; else
    the whole visible iris's): the limbus's dark ring goes on round the hidden top. Filled from
    the point opposite the centre, as before stop 67, a lid-covered top repeated the waterline
    and lower lid below the iris, a pale arc a widening bared and the face mesh read as the lid.
    """
    half = int(math.ceil(radius)) + 1
    n = 2 * half + 1
    m = np.float32([[1, 0, centre[0] - half], [0, 1, centre[1] - half]])
    inv = cv2.invertAffineTransform(m)
    patch = cv2.warpAffine(box, inv, (n, n), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    seen = cv2.warpAffine(inside.astype(np.float32), inv, (n, n),
                          flags=cv2.INTER_LINEAR) > 0.99
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) - half
    dist = np.hypot(xs, ys)
    disc = dist <= radius
    visible = disc & seen
    hidden = disc & ~seen
    if hidden.any():
        mean = patch[visible].mean(axis=0) if visible.any() else np.float32([70, 55, 45])
        rings = np.floor(dist * 2.0).astype(int)
        sides = visible & (np.abs(ys) <= np.abs(xs))
        for ring in np.unique(rings[hidden]):
            here = rings == ring
            source = here & sides if (here & sides).any() else here & visible
            patch[hidden & here] = patch[source].mean(axis=0) if source.any() else mean
    alpha = np.clip(radius + 0.5 - dist, 0.0, 1.0).astype(np.float32)
    return patch, alpha
