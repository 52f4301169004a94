"""The target's head (face, hair, neck) moved as one piece over a background that stays put.

`HeadRegion(frame, alignment, landmarks_crop)` prepares once per target:

- the head zone, in the target's canonical crop coordinates (so in inter-ocular units): an
  ellipse over the face and the hair around it, and the neck below the chin;
- the person in the frame (MediaPipe selfie segmentation; the whole zone where it finds no one,
  or finds a "person" that does not cover the tracked face: the model is trained on people, and
  on a dog, a llama or a cartoon it marks patches of the face, which then stayed behind while
  the rest of it moved, a torn, see-through face), so that the zone's background is not carried
  along: alpha = zone x person, the zone then widened to the whole head box (fading out before
  its edge), so that long hair beyond the ellipse goes with the head instead of being cut where
  the ellipse ends. The segmenter's mask is coarse (256 px, upsampled) and stops short of the
  hair's loose ends and the dark fringe a soft hair edge leaves on the wall; left out of the
  head and out of the plate's hole, those stayed on the wall when the head moved away, a jagged
  dotted ghost of the old outline beside the new one. So the mask is first matted to the
  picture's edges (`_matte`: OpenCV's guided filter, the frame's grey levels as the guide), which
  takes the wisps and the fringe in, in proportion to how dark they are, and so into the hole,
  where the wall beside them is plain (on a busy one it took pieces of the wall in too);
- how much each pixel follows the head: fully above the chin, fading to nothing over the neck,
  so the shoulders stay and the neck bends; and fully inside the head's ellipse, fading to
  nothing at the zone's reach beyond it, so long hair bends back to the hair that stays instead
  of tearing from it along the zone's edge (the wall showing through the cut); but the
  person's crown, everything of it above the brows (`_crown`), moves whole wherever it reaches
  in the box: hair up there hangs from nothing that stays, and big hair bent back to the
  ellipse's reach was drawn out into streaks; likewise, less and less within `_STAY_BEND` of any
  part of the person that stays (outside the zone: a turban's knot, a shawl, hair the ellipse
  cuts through), so the head bends to it there too;
- a clean plate: the frame with the head inpainted (cv2.inpaint at quarter size), shown where
  the head moves away; above the chin it is filled from the background alone (the wall behind
  the head, not the hair around it) where the box shows enough of it.

`move(image, matrix)` then treats the frame (with the rendered face already pasted) as two
layers, a head P = image - (1 - a) plate (premultiplied) over the plate, resamples the head
layer and its alpha through the head's 2-D similarity `matrix` (frame pixels, weighted per pixel
as above) and lays them over the plate again: out = P' + (1 - a') plate. An unmoved head gives
the frame back exactly (soft hair edges included); outside the head's box, and wherever neither
the old nor the moved head is, the frame is unchanged. Where the box ends at the frame's edge (a
neck and body cut off by the picture), a moved head brings in its edge row repeated, more of the
same body, not the plate; elsewhere the zone has faded out before the box's edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.align import Alignment
from reenact.ramps import smoothstep

# The head zone in canonical crop units (fractions of the crop side; the eyes sit at y 0.39,
# 0.25 apart): an ellipse for face and hair, a band for the neck below the chin.
_HEAD_CENTRE = (0.5, 0.42)
_HEAD_AXES = (0.43, 0.56)
_NECK_HALF_WIDTH = 0.24
_NECK_LENGTH = 0.5  # below the chin, where the zone ends
_FOLLOW_FADE = (0.02, 0.4)  # below the chin: follows fully to the first, not at all from the 2nd
_MOTION_MARGIN = 0.25  # the box grows by this x crop side for the head's largest motion
_HAIR_BEND = 1.0  # the head ellipse's radius from which hair follows less, to none at its reach
_STAY_BEND = 0.12  # crop units: the head follows less within this of the person's staying parts
_MIN_BACKGROUND = 0.05  # the plate is filled from the background alone when the box has this much
_FACE_COVER = 0.95  # the person mask's mean over the face mesh's hull, at least, to be used
_STEP = 8  # the per-pixel move is computed on a grid this many times coarser, then upsampled
# The person mask's matte (`_matte`): the guided filter's radius in inter-ocular distances (the
# reach of the loose hair and fringe it takes in) and its regularisation (grey levels in [0,1],
# squared), chosen where a moved head leaves least of its old outline behind: a wider matte
# moves more of the wall with the head.
_MATTE_RADIUS = 0.1
_MATTE_EPS = 1e-3
# ... only where the wall around is plain: fully where its grey levels' std (within
# _MATTE_WINDOW matte radii, the person and its fringe left out) is below the first, not at all
# above the second. Matted everywhere, the head carried pieces of a busy background with it,
# while a busy wall hides the ghost the matte would remove anyway.
_MATTE_PLAIN = (3.0, 6.0)
_MATTE_WINDOW = 4
# The crown: where the person is above the brows (crop units: none below y _CROWN[0], whole
# above _CROWN[1]; the eyes are at 0.39), it moves with the head whole, out to _CROWN_EDGE IOD
# from the box's edge, instead of only within the head's ellipse and bending back beyond it.
# Big hair (curls, a quiff) reaches past the ellipse, and the bend drew it out into streaks
# along the move and left a smear of it where the head had been; nothing above the brows is
# attached to anything that stays.
_CROWN = (0.33, 0.25)
_CROWN_EDGE = 0.3


def _crop_units(alignment: Alignment, gx: np.ndarray, gy: np.ndarray):
    """(cx, cy): frame pixels (gx, gy) in the target's canonical crop, as fractions of its side."""
    s, m = float(alignment.size), alignment.matrix
    return (m[0, 0] * gx + m[0, 1] * gy + m[0, 2]) / s, (m[1, 0] * gx + m[1, 1] * gy + m[1, 2]) / s


def _ellipse(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """The head ellipse's radius at crop units (cx, cy): 1 on its edge."""
    return np.hypot((cx - _HEAD_CENTRE[0]) / _HEAD_AXES[0], (cy - _HEAD_CENTRE[1]) / _HEAD_AXES[1])


def _neck_band(cx: np.ndarray) -> np.ndarray:
    """The neck band's profile across the crop: 1 within _NECK_HALF_WIDTH of the middle."""
    return smoothstep((_NECK_HALF_WIDTH - np.abs(cx - 0.5)) / 0.06)


def inpaint_quarter(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(h,w,3) or (h,w) uint8 `image` (the head's colour plate, the avatar's mask) with the
    pixels where `hole` (h,w) uint8 > 0 filled from the rest (Telea, at quarter size, upsampled:
    the fill is smooth anyway)."""
    h, w = hole.shape
    sw, sh = max(4, w // 4), max(4, h // 4)
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, (sw, sh), interpolation=cv2.INTER_NEAREST)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)


def _matte(box: np.ndarray, person: np.ndarray, iod: float) -> np.ndarray:
    """(h,w) float32 in [0,1]: the person mask `person` (h,w) matted to the edges of `box`
    (h,w,3) uint8 RGB, the frame's pixels under it, where the wall beside it is plain.

    Within _MATTE_RADIUS x `iod` (frame pixels) of the mask's edge, each pixel's share follows
    its grey level between the person's and the background's (the guided filter's local linear
    model), so loose hair and the dark fringe of a soft edge count as the person as far as they
    are dark (or light) like it. Never less than the mask itself: the same model reads a dark
    feature of the face where it meets a dark background as background (an eye corner against a
    black backdrop), and that piece of the face stayed behind when the head
    rolled. And only as far as the wall around is plain (`_MATTE_PLAIN`: the grey levels' std
    over the wall within _MATTE_WINDOW radii, the person and its fringe left out): on a busy
    background the model takes pieces of it in too (a flag's dark blue beside dark hair, a
    railing behind the neck), which then moved with the head, while the ghost it would remove
    hides in the busy wall anyway."""
    grey = cv2.cvtColor(box, cv2.COLOR_RGB2GRAY).astype(np.float32)
    radius = max(2, int(round(_MATTE_RADIUS * iod)))
    person = np.ascontiguousarray(person, np.float32)
    matted = cv2.ximgproc.guidedFilter(grey * np.float32(1.0 / 255.0), person, radius, _MATTE_EPS)
    added = np.clip(matted - person, 0.0, 1.0)
    outside = cv2.distanceTransform((person <= 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    wall = (outside > 2 * radius).astype(np.float32)  # beyond the person and its fringe
    window = (2 * _MATTE_WINDOW * radius + 1,) * 2
    share = np.maximum(cv2.boxFilter(wall, -1, window), 1e-3)
    mean = cv2.boxFilter(grey * wall, -1, window) / share
    spread = np.sqrt(np.maximum(cv2.boxFilter(grey * grey * wall, -1, window) / share
                                - mean * mean, 0.0))
    added *= smoothstep((_MATTE_PLAIN[1] - spread) / (_MATTE_PLAIN[1] - _MATTE_PLAIN[0]))
    return np.clip(person + added, 0.0, 1.0)


def _crown(cx: np.ndarray, cy: np.ndarray, gx: np.ndarray, gy: np.ndarray,
           box: tuple[int, int, int, int], iod: float) -> np.ndarray:
    """How much of the crown each pixel is, in [0,1]: 1 above _CROWN[1] (crop units, y), none
    below _CROWN[0] (the brows), and fading out within _CROWN_EDGE IOD of the box's edge (so
    nothing is pulled in from beyond it). cx, cy: the pixels (gx, gy) in crop units; iod: frame
    pixels."""
    x0, y0, x1, y1 = box
    edge = np.minimum(np.minimum(gx - x0, x1 - 1 - gx), np.minimum(gy - y0, y1 - 1 - gy))
    rise = (_CROWN[0] - cy) / (_CROWN[0] - _CROWN[1])
    return smoothstep(rise) * smoothstep(edge / (_CROWN_EDGE * iod))


def _face_cover(person: np.ndarray, alignment: Alignment, lm: np.ndarray,
                origin: tuple[int, int]) -> float:
    """The mean of `person` (h,w), a box of the frame at `origin` (x0, y0), over the convex
    hull of the face mesh `lm` (478,2+) in crop pixels: 1 when the mask holds the whole face."""
    framed = alignment.landmarks_to_image(lm)[:, :2] - np.asarray(origin, np.float32)
    hull = np.zeros(person.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(framed).astype(np.int32)), 1)
    inside = hull > 0
    return float(person[inside].mean()) if inside.any() else 0.0


def person_mask(frame: np.ndarray) -> np.ndarray | None:
    """(H,W) float32 in [0,1], the people in an RGB frame (MediaPipe selfie segmentation), or
    None when MediaPipe is missing or finds no one."""
    try:
        from reenact.landmarks.native_stderr import quiet_stderr
        from reenact.landmarks.tracker import mediapipe_solutions

        with quiet_stderr():
            seg = mediapipe_solutions().selfie_segmentation.SelfieSegmentation(model_selection=0)
            try:
                result = seg.process(np.ascontiguousarray(frame))
            finally:
                seg.close()
    except (ImportError, AttributeError, RuntimeError):
        return None
    mask = getattr(result, "segmentation_mask", None)
    if mask is None or float(mask.max()) < 0.5:
        return None
    return np.clip((np.asarray(mask, np.float32) - 0.25) / 0.5, 0.0, 1.0)


class HeadRegion:
    """One target's head, ready to move (see the module docstring).

    frame: (H,W,3) uint8 RGB target frame; alignment: its face's frame <-> crop alignment;
    landmarks_crop: (478,2|3) the face in crop pixels. segment: use the person mask; matte: matte
    it to the picture's edges (`_matte`; False: the segmenter's mask as it comes, which leaves a
    ghost of the old outline where the head moves away). person: the frame's `person_mask`
    when the caller already has it (None: made here, if `segment`).
    """

    def __init__(self, frame: np.ndarray, alignment: Alignment, landmarks_crop: np.ndarray, *,
                 segment: bool = True, matte: bool = True,
                 person: np.ndarray | None = None) -> None:
        h, w = frame.shape[:2]
        s = float(alignment.size)
        lm = np.asarray(landmarks_crop, np.float64)
        self.pivot_crop = lm[152, :2].copy()  # the chin: the neck bends below it
        corners = np.array([[-_HEAD_AXES[0], -_HEAD_AXES[1]], [_HEAD_AXES[0], -_HEAD_AXES[1]],
                            [-_HEAD_AXES[0], 1.0], [_HEAD_AXES[0], 1.0]])
        corners = (corners * (1 + _MOTION_MARGIN) + _HEAD_CENTRE) * s
        corners[2:, 1] = (lm[152, 1] + _NECK_LENGTH * s)
        inv = alignment.inverse
        framed = corners @ inv[:, :2].T + inv[:, 2]
        x0, y0 = np.clip(np.floor(framed.min(axis=0)).astype(int), 0, [w, h])
        x1, y1 = np.clip(np.ceil(framed.max(axis=0)).astype(int) + 1, 0, [w, h])
        self.box = (int(x0), int(y0), int(x1), int(y1))
        self.alignment = alignment
        self.iod = 0.25 * s / alignment.scale
        self.pivot_frame = inv[:, :2] @ self.pivot_crop + inv[:, 2]
        self.eyes_frame = inv[:, :2] @ np.array([0.5 * s, 0.39 * s]) + inv[:, 2]
        self._frame = np.ascontiguousarray(frame).copy()
        self._out = self._frame.copy()
        self.segmented = False
        if x1 - x0 < 2 or y1 - y0 < 2:
            self.box = None
            return
        self._prepare(frame, alignment, lm, segment, matte, person)

    def _prepare(self, frame, alignment: Alignment, lm: np.ndarray, segment: bool,
                 matte: bool, person: np.ndarray | None) -> None:
        x0, y0, x1, y1 = self.box
        s = float(alignment.size)
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        cx, cy = _crop_units(alignment, gx, gy)
        chin = lm[152, 1] / s
        ell = _ellipse(cx, cy)
        head = smoothstep((1.08 - ell) / 0.16)
        neck = (_neck_band(cx) * smoothstep((chin + _NECK_LENGTH - cy) / 0.12)
                * (cy > _HEAD_CENTRE[1]))
        zone = np.maximum(head, neck)
        if not segment:
            person = None
        elif person is None:
            person = person_mask(frame)
        if person is not None:
            person = person[y0:y1, x0:x1]
            if _face_cover(person, alignment, lm, (x0, y0)) < _FACE_COVER:
                person = None  # not this face's person (an animal, a drawing): the whole zone
        self.segmented = person is not None  # False: the whole zone moves (no one, an animal)
        if person is not None and matte:  # the loose hair and the fringe too (see the module)
            person = _matte(frame[y0:y1, x0:x1], person, self.iod)
        if person is not None:  # the person's hair beyond the ellipse goes with the head too
            reach = smoothstep((1.0 + _MOTION_MARGIN - ell) / 0.15)
            reach = np.maximum(reach, _crown(cx, cy, gx, gy, self.box, self.iod))
            zone = np.maximum(zone, reach) * person
        self.alpha = np.ascontiguousarray(zone, dtype=np.float32)
        self._alpha8 = np.round(self.alpha * 255.0).astype(np.uint8)
        staying = None if person is None else (person > 0.5) & (self.alpha < 0.05)
        self._coarse = self._coarse_grid(alignment, lm, x1 - x0, y1 - y0, staying)
        self._map_x = np.empty((y1 - y0, x1 - x0), np.float32)
        self._map_y = np.empty_like(self._map_x)
        self._grid_y, self._grid_x = (v.astype(np.float32) for v in np.mgrid[0:y1 - y0, 0:x1 - x0])
        self._plate = self._clean_plate(frame[y0:y1, x0:x1], self.alpha, person,
                                        smoothstep((cy - chin) / 0.1))
        # the background's share of each pixel, (1 - a) plate, and the head layer of the
        # target frame, frame - (1 - a) plate (premultiplied; int16: it may go negative)
        a3 = cv2.cvtColor(cv2.bitwise_not(self._alpha8), cv2.COLOR_GRAY2RGB)
        self._back = cv2.multiply(self._plate, a3, scale=1.0 / 255.0)
        self._head = cv2.subtract(frame[y0:y1, x0:x1], self._back, dtype=cv2.CV_16S)
        h, w = y1 - y0, x1 - x0  # per-frame buffers of `move`, allocated once per target
        self._fixed = np.empty((h, w, 2), np.int16)
        self._frac = np.empty((h, w), np.uint16)
        self._moved = np.empty((h, w, 3), np.int16)
        self._moved_alpha = np.empty((h, w), np.uint8)
        self._behind = np.empty((h, w, 3), np.uint8)

    @staticmethod
    def _clean_plate(box: np.ndarray, alpha: np.ndarray, person: np.ndarray | None,
                     below_chin: np.ndarray) -> np.ndarray:
        """The box with the head inpainted (at quarter size, upsampled), uint8 (h,w,3).

        person: (h,w) float32 in [0,1], the person mask (None: none found); below_chin: (h,w) float32 in [0,1],
        1 below the chin. Where the box shows enough background (at least _MIN_BACKGROUND of it
        outside the person), the fill above the chin is drawn from the background alone: what
        a moved head uncovers is the wall behind it, not a smear of the hair around the hole.
        Below the chin (behind the neck: collar, hair, shoulders) it is drawn from all around,
        as it always was. The person's pixels outside the head's zone stay as they are."""
        h, w = alpha.shape
        hole = (alpha > 0.02).astype(np.uint8) * 255  # soft edges too: no ghost of the old head
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        hole = cv2.dilate(hole, disk)
        filled = inpaint_quarter(box, hole)
        if person is not None:
            people = cv2.dilate((person > 0.1).astype(np.uint8) * 255, disk)
            if float(np.mean(people == 0)) >= _MIN_BACKGROUND:
                wall = inpaint_quarter(box, cv2.max(hole, people))
                filled = cv2.blendLinear(filled, wall, np.ascontiguousarray(below_chin, np.float32),
                                         np.ascontiguousarray(1.0 - below_chin, np.float32))
        plate = box.copy()
        plate[hole > 0] = filled[hole > 0]
        return plate

    def _coarse_grid(self, alignment: Alignment, lm: np.ndarray, w: int, h: int,
                     staying: np.ndarray | None = None):
        """Sample positions (gx, gy) and follow weights (ch,cw) of a grid _STEP times coarser
        than the box, placed where cv2.resize's bilinear upsampling to (w, h) reads them.
        staying: (h,w) bool, the person's pixels outside the head's zone (None: not known)."""
        x0, y0 = self.box[:2]
        cw, ch = max(2, -(-w // _STEP)), max(2, -(-h // _STEP))
        xs = x0 + (np.arange(cw) + 0.5) * w / cw - 0.5
        ys = y0 + (np.arange(ch) + 0.5) * h / ch - 0.5
        gx, gy = (v.astype(np.float32) for v in np.meshgrid(xs, ys))
        cx, cy = _crop_units(alignment, gx, gy)
        s = float(alignment.size)
        fade = (cy - lm[152, 1] / s - _FOLLOW_FADE[0]) / (_FOLLOW_FADE[1] - _FOLLOW_FADE[0])
        # hair beyond the head's ellipse bends back to the hair that stays (outside the zone)
        # instead of tearing from it; the face, the head's outline and the neck move whole
        outer = 1.0 + _MOTION_MARGIN
        bend = smoothstep((outer - _ellipse(cx, cy)) / (outer - _HAIR_BEND))
        if self.segmented:  # the person's crown moves whole, however far its hair reaches
            bend = np.maximum(bend, _crown(cx, cy, gx, gy, self.box, self.iod))
        follow = smoothstep(1.0 - fade) * np.maximum(bend, _neck_band(cx))
        if staying is not None and staying.any():
            # where the zone meets more of the person that stays (a turban's knot, a shawl, hair
            # the ellipse cuts through), the head bends to it too: moved whole up to that edge,
            # it would open a gap there with the wall's plate showing through
            far = cv2.distanceTransform(np.where(staying, 0, 255).astype(np.uint8),
                                        cv2.DIST_L2, 5)
            rows = np.clip(np.round(gy - y0).astype(int), 0, h - 1)
            cols = np.clip(np.round(gx - x0).astype(int), 0, w - 1)
            reach = _STAY_BEND * s / alignment.scale  # crop units -> frame pixels
            follow = follow * smoothstep(far[rows, cols] / reach)
        return gx, gy, follow.astype(np.float32)

    def _fill_maps(self, inv: np.ndarray) -> None:
        """self._map_x / _map_y (h,w) float32 box coordinates: p + follow (inv p - p); the
        displacement is exact on the coarse grid and bilinear in between (the move is affine,
        the fade slow); an unmoved head has none anywhere."""
        gx, gy, f = self._coarse
        dx = f * ((inv[0, 0] - 1.0) * gx + inv[0, 1] * gy + inv[0, 2])
        dy = f * (inv[1, 0] * gx + (inv[1, 1] - 1.0) * gy + inv[1, 2])
        size = self._map_x.shape[::-1]
        cv2.resize(dx.astype(np.float32), size, dst=self._map_x, interpolation=cv2.INTER_LINEAR)
        cv2.resize(dy.astype(np.float32), size, dst=self._map_y, interpolation=cv2.INTER_LINEAR)
        cv2.add(self._map_x, self._grid_x, dst=self._map_x)
        cv2.add(self._map_y, self._grid_y, dst=self._map_y)

    def matrix_for(self, pose, *, about: str = "chin") -> np.ndarray:
        """The (2,3) frame similarity of a `HeadPose`: roll and scale about the target's chin
        ("chin") or eye midpoint ("eyes"), then the shift in the target's inter-ocular units."""
        pivot = self.pivot_frame if about == "chin" else self.eyes_frame
        return pose.frame_matrix(pivot, self.iod)

    def move(self, image: np.ndarray, matrix: np.ndarray,
             changed: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """image: (H,W,3) uint8, the target frame with the rendered face pasted; matrix: (2,3)
        forward similarity in frame pixels; changed: the box (x0,y0,x1,y1) where `image` may
        differ from the target frame (None = anywhere). Returns (H,W,3) uint8, a buffer owned
        by this object and overwritten by the next call.

        Layers: image = head (premultiplied, P = image - (1 - a) plate) + (1 - a) plate. The
        head layer and its alpha move; out = P' + (1 - a') plate, so an unmoved head gives the
        image back exactly, soft edges (hair) included."""
        if self.box is None:
            return image
        x0, y0, x1, y1 = self.box
        out = self._out
        if out.shape != image.shape:
            raise ValueError(f"HeadRegion.move: frame {image.shape}, expected {out.shape}")
        cx0, cy0, cx1, cy1 = (x0, y0, x1, y1) if changed is None else changed
        cx0, cy0 = max(cx0, x0), max(cy0, y0)
        cx1, cy1 = min(cx1, x1), min(cy1, y1)
        if cx1 > cx0 and cy1 > cy0:  # the head layer where the pasted face changed it
            cv2.subtract(image[cy0:cy1, cx0:cx1], self._back[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0],
                         dst=self._head[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], dtype=cv2.CV_16S)
        self._fill_maps(cv2.invertAffineTransform(np.asarray(matrix, np.float64)))
        fixed, frac = cv2.convertMaps(self._map_x, self._map_y, cv2.CV_16SC2,
                                      dstmap1=self._fixed, dstmap2=self._frac)
        head = cv2.remap(self._head, fixed, frac, cv2.INTER_LINEAR, dst=self._moved,
                         borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.remap(self._alpha8, fixed, frac, cv2.INTER_LINEAR, dst=self._moved_alpha,
                          borderMode=cv2.BORDER_REPLICATE)
        cv2.bitwise_not(alpha, dst=alpha)
        behind = cv2.multiply(self._plate, cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB, dst=self._behind),
                              dst=self._behind, scale=1.0 / 255.0)
        np.copyto(out, image)
        cv2.add(head, behind, dst=out[y0:y1, x0:x1], dtype=cv2.CV_8U)
        return out

    def follow(self, layer: np.ndarray) -> np.ndarray:  # (h,w) of the box, moved as the last `move`
        return cv2.remap(layer, self._fixed, self._frac, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
