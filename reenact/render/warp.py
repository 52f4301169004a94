"""The training-free renderer: a dense piecewise-affine warp of the target's own crop.

The displacement `fused - target` of the target's landmarks is spread over the crop linearly
within the triangles of the target's face mesh (eye and mouth holes closed; a ring of fixed
anchors around the face and the crop border hold the background still), see
`reenact.render.field`. The triangle and weights of each sample of a coarse grid over the face
depend only on the target and are found in `set_target`; a frame costs a 3-term gather for the
forward field, a few Newton steps on the coarse grid to invert it, an upsample and one
`cv2.remap` over the face box.

Features a warp cannot show are its corrections (`reenact.render.corrections`), run in one loop
over the list `warp_corrections` builds: the lips mapped band by band and the eyeballs kept at
their own scale override the backward map (`geometry`); the irises, the lid skin that closing
lids cover and an opened mouth's cavity are painted over the warped image (`overlay`).

Why not a thin-plate spline: its per-frame field is a dense (G*G, N) matmul, and its smooth
interpolation folds and overshoots between close landmarks with opposite motions (a closing
lid, an O-shaped mouth); the piecewise-linear field costs a gather and moves each triangle
exactly as its corners say.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable

import cv2
import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.tracker import NUM_LANDMARKS
from reenact.profiling import laps
from reenact.render import register_renderer
from reenact.render.corrections.apply import bend, paint
from reenact.render.corrections.base import Correction, Layer
from reenact.render.corrections.build import warp_corrections
from reenact.render.eyes import uncross_lids
from reenact.render.field import NUM_MESH, MeshField, face_field, finite_depth, identity_map
from reenact.render.field_memo import moved_back


GRID, ITERATIONS = 64, 3  # field samples per side of the face box; Newton steps inverting it


def validate_landmarks(landmarks: np.ndarray, name: str) -> np.ndarray:
    """(478,2|3) finite landmarks -> (478,2) float32 xy; anything else raises InputError."""
    lm = np.asarray(landmarks)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS or lm.shape[1] not in (2, 3):
        raise InputError(f"{name}: expected (478,3) landmarks, got shape {lm.shape}")
    xy = np.ascontiguousarray(lm[:, :2], dtype=np.float32)
    if not np.isfinite(xy).all():
        raise InputError(f"{name}: landmarks contain NaN or inf; re-track the face")
    return xy


def with_depth(xy: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(478,2) `xy` with the z of (478,2|3) `landmarks` beside it where they have a finite one
    (a field over them then follows the surface a turned picture shows: `face_triangulation`)."""
    z = finite_depth(landmarks)
    return xy if z is None else np.column_stack([xy, z])


def validate_crop(crop: np.ndarray, size: int) -> np.ndarray:
    """A (size,size,3) uint8 target crop as an array; anything else raises InputError."""
    crop = np.asarray(crop)
    if crop.shape != (size, size, 3) or crop.dtype != np.uint8:
        raise InputError(
            f"target crop: expected ({size},{size},3) uint8 for renderer.size={size}, "
            f"got {crop.shape} {crop.dtype}"
        )
    return crop


def field_map(
    field: MeshField,
    target_xy: np.ndarray,
    fused_xy: np.ndarray,
    iterations: int,
    identity: np.ndarray,
    out: np.ndarray,
    depth: np.ndarray | None = None,
    *,
    shared: bool = True,
    box: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The move of `target_xy` onto `fused_xy` ((478,2) float32 crop px) inverted over `field`'s
    box: (the view of `out` (S,S,2) float32 there, set to source pixel per output pixel; the
    box). identity: (S,S,2) each pixel's own x, y; depth, shared: as `moved_back`'s; box: (x0,
    y0, x1, y1) crop px, with `shared` False: only the pixels there are set (the same values),
    from the grid samples they read."""
    disp = fused_xy[:NUM_MESH] - target_xy[:NUM_MESH]
    window = None if box is None or shared else _grid_window(field, box)
    # shared with the detail layer, which inverts the same move (`field_memo`)
    back = moved_back(field, disp, iterations, depth, shared=shared, window=window)
    x0, y0, x1, y1 = field.roi
    up = cv2.resize(back, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    roi_map = out[y0:y1, x0:x1]
    if window is None:
        np.add(identity[y0:y1, x0:x1], up, out=roi_map)
        return roi_map, field.roi
    bx0, by0 = max(box[0], x0), max(box[1], y0)
    bx1, by1 = max(min(box[2], x1), bx0), max(min(box[3], y1), by0)
    np.add(
        identity[by0:by1, bx0:bx1],
        up[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0],
        out=out[by0:by1, bx0:bx1],
    )
    return roi_map, field.roi


def _grid_window(field: MeshField, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The grid samples (gx0, gy0, gx1, gy1) that the field's upsampled map reads (bilinear,
    as `cv2.resize` samples) at the crop pixels of `box` (x0, y0, x1, y1), with one to spare."""
    x0, y0, _, _ = field.roi
    scale, g = field.to_grid_scale, field.grid
    lo = np.floor((np.array(box[:2]) - (x0, y0) + 0.5) * scale - 0.5).astype(int) - 1
    hi = np.floor((np.array(box[2:]) - 1 - (x0, y0) + 0.5) * scale - 0.5).astype(int) + 3
    (gx0, gy0), (gx1, gy1) = np.clip(lo, 0, g), np.clip(hi, 0, g)
    return int(gx0), int(gy0), int(gx1), int(gy1)


class PreparedTargets:
    """What a warp worked out for each target it was set to (the field, each correction's state
    after `prepare`), kept while the caller keeps the target's crop: a moving target's frames
    come round again each loop, and a switch goes back to a picture. At most `limit` targets
    (a target video's frames, `stream.target_max_frames`, and a few pictures)."""

    def __init__(self, limit: int = 320) -> None:
        self.limit = limit
        self._kept: dict[int, tuple] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def find(self, crop: np.ndarray, xy: np.ndarray) -> tuple[MeshField, list[dict]] | None:
        """(field, each correction's state) for this very crop with these landmarks, or None."""
        found = self._kept.get(id(crop))
        if found is None or found[0]() is not crop or found[1] != _fingerprint(crop, xy):
            return None
        return found[2], found[3]

    def keep(
        self, crop: np.ndarray, xy: np.ndarray, field: MeshField, corrections: list[Correction]
    ) -> None:
        if len(self._kept) >= self.limit:
            return
        kept, key = self._kept, id(crop)
        gone = weakref.ref(crop, lambda _ref: kept.pop(key, None))  # dropped with its crop
        kept[key] = (gone, _fingerprint(crop, xy), field, [held(vars(c)) for c in corrections])


def held(state: dict) -> dict:
    """A correction's attributes as they are, the corrections it holds (a learned one's painted
    fallback) copied with theirs: a later `prepare` on the holder rebinds the copies' attributes,
    not these."""
    return {name: _held(value) for name, value in state.items()}


def _held(value):
    if isinstance(value, Correction):
        copied = copy.copy(value)
        vars(copied).update(held(vars(value)))
        return copied
    if isinstance(value, tuple) and any(isinstance(v, Correction) for v in value):
        return tuple(_held(v) for v in value)
    return value


def _fingerprint(crop: np.ndarray, xy: np.ndarray) -> bytes:
    """The landmarks and a sparse sample of the crop: a buffer refilled with another picture
    is not taken for the one prepared."""
    return xy.tobytes() + np.ascontiguousarray(crop[::8, ::8]).tobytes()


class WarpRenderer:
    """Warp the target crop so its landmarks land on the fused ones (the training-free Omega).

    size: crop side (256 or 512). grid: coarse field samples per side of the face box (G).
    iterations: Newton steps inverting the field. fill_mouth: paint an opened mouth's inside.
    lip_bands: map the lips band by band (`reenact.render.lip_bands`), so a mouth closing over a
    gaping picture keeps each lip whole instead of folding the mesh over its cavity.
    keep_eyes: lids slide over the eyeballs and are painted as skin with a lash line where they
    cover them; the irises keep their shape and sit where the fused iris points say
    (`reenact.render.irises`), in eye openings of any height.
    drawn: "painted" or "learned" (`renderer.corrections`: the mouth drawn by a network);
    quantize: `renderer.quantize`, for a learned correction's network.
    """

    name = "warp"
    shifts_colours = False  # every pixel comes from the target crop
    draws_shading = False  # it moves the target's pixels: no fold or shade comes with a move

    def __init__(
        self,
        *,
        size: int = 256,
        grid: int = GRID,
        iterations: int = ITERATIONS,
        fill_mouth: bool = True,
        keep_eyes: bool = True,
        lip_bands: bool = True,
        drawn: str = "painted",
        quantize: str = "auto",
        shared: bool = True,
    ) -> None:
        if size < 64:
            raise InputError(f"renderer.size: {size} is too small for the warp renderer (>= 64)")
        self.size = int(size)
        self.grid = int(grid)
        self.iterations = int(iterations)
        # its inversions shared with the detail layer's (`field_memo`); False for a warp of
        # another picture, whose entries would only push the target's out
        self.shared = shared
        self.corrections: list[Correction] = warp_corrections(
            self.size,
            fill_mouth=fill_mouth,
            keep_eyes=keep_eyes,
            lip_bands=lip_bands,
            drawn=drawn,
            quantize=quantize,
        )
        self._field: MeshField | None = None
        self._target: np.ndarray | None = None
        self._target_xy: np.ndarray | None = None
        self.identity = identity_map(self.size)
        self._map = self.identity.copy()
        self.target_version = 0  # counts set_target calls: what was worked out for a target
        self._prepared = PreparedTargets()
        # the layers of the last render a generator keeps (`Correction.kept`: an open mouth)
        self.kept_layers: list[Layer] = []

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8 RGB aligned crop; target_landmarks: (478,2|3) crop pixels."""
        s = self.size
        crop = validate_crop(target_crop, s)
        xy = validate_landmarks(target_landmarks, "target landmarks")
        self._target = np.ascontiguousarray(crop)
        self._target_xy = xy
        self._map = self.identity.copy()
        self.kept_layers = []
        found = self._prepared.find(self._target, xy)
        if found is not None:
            self._field = found[0]
            for correction, state in zip(self.corrections, found[1]):
                vars(correction).update(held(state))
        else:
            self._field = face_field(with_depth(xy, target_landmarks), s, grid=self.grid)
            for correction in self.corrections:
                correction.prepare(self._target, xy)
            self._prepared.keep(self._target, xy, self._field, self.corrections)
        self.target_version += 1

    @property
    def field(self) -> MeshField | None:
        """The target's field model (`reenact.render.field`); None before `set_target`."""
        return self._field

    @property
    def target(self) -> np.ndarray | None:
        """The target crop (S,S,3) uint8 the warp reads; None before `set_target`."""
        return self._target

    @property
    def target_xy(self) -> np.ndarray | None:
        """The target's (478,2) float32 crop landmarks; None before `set_target`."""
        return self._target_xy

    def correction(self, name: str) -> Correction | None:
        """The correction called `name` in this warp's list (None: not run)."""
        return next((c for c in self.corrections if c.name == name), None)

    def follow(self, fused_landmarks: np.ndarray) -> np.ndarray:
        """The (478,2) float32 landmarks the warp follows: fused ones with no lid or lip crossed
        and a nearly shut eye shut (a new array)."""
        fused = validate_landmarks(fused_landmarks, "fused landmarks").copy()
        uncross_lids(fused)
        for correction in self.corrections:
            correction.settle(fused)
        return fused

    def backward_map(
        self,
        fused_xy: np.ndarray,
        depth: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """The remap field over the face box: ((h,w,2) float32 source pixel per output pixel, box).

        fused_xy: (478,2) float32 crop pixels; depth: (478,) their z (None = unknown: a fold
        shows whichever layer the inversion finds). The returned array is a view of an internal
        buffer, valid until the next call.
        """
        lap = laps("warp")
        depth = None if depth is None else depth[:NUM_MESH]
        roi_map, roi = field_map(
            self._field,
            self._target_xy,
            fused_xy,
            self.iterations,
            self.identity,
            self._map,
            depth,
            shared=self.shared,
        )
        lap("field")
        for correction in self.corrections:
            if correction.reshapes:
                bend(self._map, self.identity, correction.geometry(fused_xy))
                lap(correction.name)
        return roi_map, roi

    def render(self, fused_landmarks: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """fused_landmarks: (478,2|3) crop pixels -> (S,S,3) uint8 RGB, the warped target.

        out: optional C-contiguous (S,S,3) uint8 buffer written in place and returned;
        otherwise a new array is returned.
        """
        out, rest = self._render(fused_landmarks, out, copied=False)
        self.kept_layers += rest()
        return out

    def render_ahead(
        self, fused_landmarks: np.ndarray, *, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, Callable[[], list[Layer]]]:
        """`render` in two steps: (out, rest). out is drawn up to the first correction that
        reads the image (a learned one); rest() paints that one and those after it over out, in
        place, and returns the layers of theirs a generator keeps (`kept_layers` holds those of
        the corrections before). rest draws with copies of those corrections as they were for
        this target, so it may run on another thread after the next `set_target`."""
        return self._render(fused_landmarks, out, copied=True)

    def _render(
        self, fused_landmarks: np.ndarray, out: np.ndarray | None, *, copied: bool
    ) -> tuple[np.ndarray, Callable[[], list[Layer]]]:
        """`render_ahead`; copied: rest draws with copies of the corrections (else with them)."""
        if self._field is None or self._target is None:
            raise RuntimeError("WarpRenderer.render called before set_target")
        lap = laps("warp")
        fused = self.follow(fused_landmarks)
        if out is None:
            out = self._target.copy()
        else:
            np.copyto(out, self._target)
        lap("follow")
        roi_map, (x0, y0, x1, y1) = self.backward_map(fused, finite_depth(fused_landmarks))
        lap.skip()  # the map's steps keep their own laps
        cv2.remap(
            self._target,
            roi_map,
            None,
            cv2.INTER_LINEAR,
            dst=out[y0:y1, x0:x1],
            borderMode=cv2.BORDER_REFLECT,
        )
        lap("remap")
        painters = [c for c in self.corrections if c.paints]
        first = next((i for i, c in enumerate(painters) if c.reads_image), len(painters))
        self.kept_layers = _paint_with(painters[:first], fused, out, lap)
        later = [_held(c) if copied else c for c in painters[first:]]

        def rest() -> list[Layer]:
            return _paint_with(later, fused, out, laps("warp")) if later else []

        return out, rest


def _paint_with(
    corrections: list[Correction], fused: np.ndarray, out: np.ndarray, lap
) -> list[Layer]:
    """Paint each correction's layers over `out` (S,S,3) uint8 in order, for the (478,2)
    landmarks `fused`; the layers a generator keeps (`Correction.kept`)."""
    kept: list[Layer] = []
    for correction in corrections:
        layers = correction.overlay_on(fused, out)
        paint(out, layers)
        if correction.kept:
            kept += layers
        lap(correction.name)
    return kept


@register_renderer("warp")
def build_warp(config: Config) -> WarpRenderer:
    """`renderer.kind=warp`: the training-free warp at `renderer.size`."""
    r = config.renderer
    return WarpRenderer(size=r.size, drawn=r.corrections, quantize=r.quantize)
