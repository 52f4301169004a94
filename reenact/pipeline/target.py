"""The target: its frame, its face's alignment, aligned crop and neutral landmarks, ready to drive."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reenact.avatar import AVATAR_SUFFIX, Avatar, is_avatar_path, read_avatar
from reenact.config import Config
from reenact.errors import InputError
from reenact.landmarks.align import Alignment, compute_alignment
from reenact.landmarks.open_mouth import mouth_opening, retrack_open_mouth
from reenact.landmarks.tracker import detect_target_face
from reenact.pipeline.background import avatar_mask
from reenact.pipeline.blend import compositor_options
from reenact.pipeline.composite import Compositor
from reenact.render import avatar_bank_parts, face_bank
from reenact.video import is_video, read_frame

log = logging.getLogger(__name__)

BUILTIN_TARGET = "astronaut"
MIN_TARGET_SIDE = 32  # px; smaller pictures cannot hold a face the tracker can find


@dataclass
class PreparedTarget:
    """A target face ready for rendering.

    frame: (H, W, 3) uint8 RGB, the full target picture (even sides).
    crop: (S, S, 3) uint8, the aligned face crop; landmarks_crop: (478, 3) in crop pixels.
    neutral_crop: (478, 3) the still target's estimated neutral (`fusion.target_neutral`; None =
    none: not estimated, or the picture taken as neutral); expression_removed: how far it is
    from the picture's landmarks (mean point move, inter-ocular distances; 0 = none);
    estimated: whether the estimate has been made (a video target's frames are never
    estimated: each frame's own face is what plays). mask: (H, W) uint8, the avatar's coverage
    of `frame` (`reenact.pipeline.background.avatar_mask`), made only when compose.background
    is not "picture"; None = the whole frame. avatar: the personal avatar this target came
    from (`reenact.avatar`: its picture is `frame`, its neutral `neutral_crop`, and the
    generator renderer runs its own network), or None.
    """

    name: str
    frame: np.ndarray
    alignment: Alignment
    crop: np.ndarray
    landmarks_crop: np.ndarray
    compositor: Compositor
    neutral_crop: np.ndarray | None = None
    expression_removed: float = 0.0
    estimated: bool = False
    mask: np.ndarray | None = None
    avatar: Avatar | None = None

    def neutral(self, estimated: bool = True) -> np.ndarray:
        """(478, 3) crop pixels: L_t of the fusion: the estimate when `estimated` and there is
        one, else the picture's landmarks."""
        return self.neutral_crop if estimated and self.neutral_crop is not None \
            else self.landmarks_crop

    def estimate_neutral(self, config: Config) -> None:
        """Make the estimate now if it has not been made (`target_neutral`); a target switched
        to `fusion.target_neutral=estimated` live gets it on first use."""
        if not self.estimated:
            self.neutral_crop, self.expression_removed = target_neutral(
                self.crop, self.landmarks_crop, config)
            self.estimated = True
            if self.expression_removed:
                log.info("%s: its expression taken out of the neutral (%.3f inter-ocular "
                         "distances; fusion.target_neutral=picture keeps it)", self.name,
                         self.expression_removed)


def builtin_target_image() -> np.ndarray:
    """The public-domain astronaut portrait (Eileen Collins, NASA; scikit-image's
    `data.astronaut()`, the same pixels) shipped in reenact/assets, (512, 512, 3) uint8."""
    picture = cv2.imread(str(Path(__file__).resolve().parents[1] / "assets" / "astronaut.png"))
    return np.ascontiguousarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))


def load_target_image(path: str, config: Config) -> tuple[str, np.ndarray]:
    """The target picture named by `path` ('' or 'astronaut' = built in), as RGB uint8 (RGBA
    when it has alpha and compose.background keeps it: not "picture")."""
    if not path or path == BUILTIN_TARGET:
        return BUILTIN_TARGET, builtin_target_image()
    if is_avatar_path(path):  # an avatar's own picture
        return Path(path).name, read_avatar(path).picture
    from reenact.imageio import load_image

    if not Path(path).exists():
        raise InputError(f"{path}: target image not found")
    if is_video(path):
        return Path(path).name, read_frame(path, config.stream.target_frame)
    return Path(path).name, load_image(path, max_side=max(config.tracker.max_image_side, 4096),
                                       alpha=config.compose.background != "picture")


def fit_frame(image: np.ndarray, max_side: int) -> np.ndarray:
    """Scale down so the longer side is at most `max_side`, then crop to even sides (H.264)."""
    h, w = image.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        image = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    return np.ascontiguousarray(image[: h - h % 2, : w - w % 2])


def cover_frame(image: np.ndarray, landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale `image` to cover (width, height) and cut that window around the face."""
    width, height = size
    h, w = image.shape[:2]
    s = max(width / w, height / h)
    scaled = cv2.resize(image, (max(width, round(w * s)), max(height, round(h * s))),
                        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    cx, cy = landmarks[:, :2].mean(0) * s
    x0 = int(np.clip(cx - width / 2, 0, scaled.shape[1] - width))
    y0 = int(np.clip(cy - height / 2, 0, scaled.shape[0] - height))
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def _track_target(frame: np.ndarray, config: Config, source_name: str) -> np.ndarray:
    """The target picture's face, (478,3) float32 frame pixels; a mouth open wider than the face
    mesh draws is re-tracked (`reenact.landmarks.open_mouth`)."""
    frame = np.ascontiguousarray(frame[:, :, :3])  # an RGBA target's colour
    face = detect_target_face(frame, config.tracker, source_name=source_name)
    return retrack_open_mouth(frame, face, config.tracker)


def prepare_target(
    path: str, config: Config, *, frame_size: tuple[int, int] | None = None
) -> PreparedTarget:
    """Load, detect the face (one clear error if none), align and build its compositor.

    frame_size: (width, height) the target frame must have (switching targets live keeps the
    sink's size): the picture is scaled to cover it and cut around the face.
    """
    if is_avatar_path(path):
        avatar = read_avatar(path)
        if avatar.crop_size != config.renderer.size:
            log.warning("%s: made at renderer.size %d: at %d its own generator cannot run "
                        "(its picture and neutral are used)", path, avatar.crop_size,
                        config.renderer.size)
        elif avatar_bank_parts(config):
            face_bank.prepare(avatar)  # here, up front: not on the frame that switches to it
        return prepare_target_image(avatar.name, avatar.picture, config, frame_size=frame_size,
                                    source_name=path, avatar=avatar)
    name, image = load_target_image(path, config)
    return prepare_target_image(name, image, config, frame_size=frame_size, source_name=path or name)


def prepare_target_image(
    name: str, image: np.ndarray, config: Config, *, frame_size: tuple[int, int] | None = None,
    source_name: str = "", avatar: Avatar | None = None,
) -> PreparedTarget:
    """`prepare_target` for a picture already decoded: (H, W, 3) uint8 RGB, or (H, W, 4) RGBA
    whose alpha becomes the avatar's mask. avatar: the personal avatar `image` is the picture
    of (its prepared neutral is taken instead of estimating one)."""
    frame = fit_frame(image, config.stream.max_output_side)
    source_name = source_name or name
    if min(frame.shape[:2]) < MIN_TARGET_SIDE:
        raise InputError(
            f"{source_name}: the target picture is {image.shape[1]}x{image.shape[0]} px, too "
            f"small to hold a face; use one at least {MIN_TARGET_SIDE} px on each side"
        )
    landmarks = _track_target(frame, config, source_name)
    if frame_size is not None and frame.shape[1::-1] != tuple(frame_size):
        frame = cover_frame(frame, landmarks, frame_size)
        landmarks = _track_target(frame, config, source_name)
    frame, alpha = (np.ascontiguousarray(frame[:, :, :3]), frame[:, :, 3]) \
        if frame.shape[2] == 4 else (frame, None)
    size = config.renderer.size
    alignment = compute_alignment(landmarks, size)
    crop = alignment.crop_image(frame)
    landmarks_crop = alignment.landmarks_to_crop(landmarks).astype(np.float32)
    compositor = Compositor(
        target_frame=frame, alignment=alignment, target_landmarks_crop=landmarks_crop,
        **compositor_options(config),
    )
    target = PreparedTarget(name, frame, alignment, crop, landmarks_crop, compositor,
                            mask=_mask(frame, landmarks, alpha, config, source_name),
                            avatar=avatar)
    if avatar is not None and avatar.neutral is not None:
        _use_avatar_neutral(target, avatar.neutral, avatar.crop_size)
    if config.fusion.target_neutral == "estimated":
        target.estimate_neutral(config)
    return target


def _use_avatar_neutral(target: PreparedTarget, neutral: np.ndarray, crop_size: int) -> None:
    """The avatar's prepared neutral as the target's estimate (made when the avatar was, from
    its own video: better than one estimated from the picture alone), scaled to this crop."""
    from reenact.landmarks.expressiveness import inter_ocular

    neutral = neutral * np.float32(target.crop.shape[0] / crop_size)
    iod = max(float(inter_ocular(target.landmarks_crop)), 1e-6)
    moved = np.linalg.norm(neutral[:, :2] - target.landmarks_crop[:, :2], axis=1).mean() / iod
    target.neutral_crop, target.expression_removed = neutral, float(moved)
    target.estimated = True


def _mask(frame: np.ndarray, landmarks: np.ndarray, alpha: np.ndarray | None, config: Config,
          source_name: str) -> np.ndarray | None:
    """The avatar's mask of the target frame, when compose.background needs one."""
    if config.compose.background == "picture":
        return None
    mask = avatar_mask(frame, landmarks, alpha)
    if mask is None:
        log.warning("%s: no person found in the target picture and it has no alpha: its "
                    "whole picture is kept as the avatar", source_name)
    return mask


def list_targets(folder: str) -> list[str]:
    """Image files and personal avatars (`.avatar`) of a folder of targets, sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder}: targets folder not found")
    exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", AVATAR_SUFFIX}
    files = sorted(str(p) for p in root.iterdir() if p.suffix.lower() in exts and p.is_file())
    if not files:
        raise InputError(f"{folder}: no images in the targets folder")
    return files


class TargetSet:
    """Several targets, prepared up front (no hitch when switching live), all of one frame size.

    The first is the one already in use; `step(+1 / -1)` moves through the rest in name order.
    A picture that cannot be a target (no face, several, too small, unreadable) is left out
    with one line naming it (`skipped`: {path: why}); InputError only when none of `paths` is
    usable, they come from `stream.targets_dir` and no `stream.target` was given: the folder
    was to be the targets, and the built-in portrait alone is not what was asked for.
    """

    def __init__(self, first: PreparedTarget, paths: list[str], config: Config) -> None:
        size = (first.frame.shape[1], first.frame.shape[0])
        self.targets = [first]
        self.skipped: dict[str, str] = {}
        wanted = [p for p in paths if Path(p).name != first.name]
        for path in wanted:
            try:
                self.targets.append(prepare_target(path, config, frame_size=size))
            except InputError as exc:
                self.skipped[path] = str(exc)
                log.warning("targets folder: skipped %s", exc)
        if wanted and len(self.skipped) == len(wanted) and config.stream.targets_dir \
                and not config.stream.target:
            raise InputError(f"{config.stream.targets_dir}: no picture in the targets folder "
                             f"has a usable face ({len(wanted)} tried); add one, or give a "
                             "target (--target)")
        self.index = 0

    def step(self, step: int) -> PreparedTarget:
        self.index = (self.index + step) % len(self.targets)
        return self.targets[self.index]

    def __len__(self) -> int:
        return len(self.targets)


def target_neutral(crop: np.ndarray, landmarks_crop: np.ndarray,
                   config: Config) -> tuple[np.ndarray | None, float]:
    """A still target's neutral L_t (`reenact.fusion.target_neutral`): (the estimate, or None to
    keep the picture's landmarks; the expression taken out: mean point move from the picture,
    inter-ocular distances).

    The estimate from the expression bases, with a mouth it leaves open wide (a yawn or a shout
    the bases do not span, or could not trust) closed to lips parted at rest
    (`close_open_mouth`). A candidate is kept only if the warp, driven to it, shows it: the
    rendered crop re-tracked has its mouth open at most `SHOWN_OPEN_MARGIN` more than it asks.
    Where the bases' mouth cannot be drawn (a gape whose estimate bends the lips into a shape
    the warp leaves open, fewer since the warp drew the lips band by band,
    `reenact.render.lip_bands`), the estimate with the
    picture's own mouth and jaw, the jaw raised, is tried next; where neither shows, the
    picture's landmarks stay.
    One or two warp renders and static tracks of the crop, once per target.
    """
    from reenact.fusion.target_neutral import (
        SHOWN_OPEN_MARGIN,
        close_open_mouth,
        shipped,
    )
    from reenact.landmarks.expressiveness import inter_ocular
    from reenact.landmarks.tracker import FaceTracker
    from reenact.render.warp import WarpRenderer

    picture = np.asarray(landmarks_crop, np.float32)
    estimate, removed = shipped().estimate(picture, crop.shape[0])
    candidates = [close_open_mouth(estimate)]
    if removed:  # the rest of the face as estimated, the mouth and jaw the picture's
        held = close_open_mouth(shipped().estimate(picture, crop.shape[0], mouth=False)[0])
        if not np.array_equal(held, candidates[0]):
            candidates.append(held)
    iod = max(float(inter_ocular(picture)), 1e-6)
    moved = [float(np.linalg.norm(c[:, :2] - picture[:, :2], axis=1).mean()) / iod
             for c in candidates]
    if not any(moved):
        return None, 0.0
    warp = WarpRenderer(size=crop.shape[0])
    warp.set_target(crop, picture)
    with FaceTracker(config.tracker, static=True) as tracker:
        for neutral, change in zip(candidates, moved):
            if change == 0.0:
                continue
            shown = tracker.track_one(np.ascontiguousarray(warp.render(neutral)))
            if shown is not None \
                    and mouth_opening(shown) <= mouth_opening(neutral) + SHOWN_OPEN_MARGIN:
                return neutral, change
    return None, 0.0
