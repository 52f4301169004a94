"""The panel's target gallery: the targets folder as thumbnails, and targets added by upload.

The folder's personal avatars (`.avatar`, `reenact.avatar`) are listed beside its pictures with
their validation score; an avatar is never uploaded (the panel takes pictures only).

An upload is checked like any target, before anything is written: its size in bytes, its size in
pixels (from the header, before decoding), decoded only by the project's image reader
(`reenact.imageio`), exactly one face found by the tracker. Then it is re-encoded as PNG and
written atomically into the targets folder under a sanitised, unique name: never anywhere else.
Uploads are taken one at a time (another at the same time is refused as busy), the same bytes
again select the target they made, and the gallery holds at most `panel.gallery_max_targets`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from pathlib import Path

import cv2

from reenact.avatar import is_avatar_path, score_line
from reenact.config import Config, replace
from reenact.errors import InputError
from reenact.imageio import ImageTooLarge, decode_image, image_size, save_image
from reenact.paths import chosen_folder, targets_dir
from reenact.pipeline.target import PreparedTarget, TargetSet, list_targets, prepare_target_image

THUMB_SIDE = 160


class UploadError(InputError):
    """An upload refused, with the HTTP status that says why (400, 409, 413 or 503)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def targets_folder(config: Config) -> Path:
    """`stream.targets_dir`, else the data folder's targets/ (where uploads go): the same gallery
    whatever folder reenact was started from."""
    return chosen_folder(config.stream.targets_dir, targets_dir())


class Gallery:
    """The targets the panel can switch between; the first is the one in use at start.

    Thread-safe: uploads are added from the server's threads, switches happen on the loop's.
    """

    def __init__(self, first: PreparedTarget, config: Config) -> None:
        self.config = config
        self.folder = targets_folder(config)
        paths = _existing_targets(self.folder, configured=bool(config.stream.targets_dir))
        self.set = TargetSet(first, paths, config)
        self._thumbs: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._upload_lock = threading.Lock()
        self._uploaded: dict[str, int] = {}  # sha256 of an upload's bytes -> its index

    def __len__(self) -> int:
        return len(self.set)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) every target frame has."""
        frame = self.set.targets[0].frame
        return frame.shape[1], frame.shape[0]

    def items(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "index": i,
                    "name": t.name,
                    "current": i == self.set.index,
                    # a personal avatar (its own generator): the page badges it, with its score
                    **({"avatar": score_line(t.avatar.manifest)} if t.avatar else {}),
                }
                for i, t in enumerate(self.set.targets)
            ]

    def step(self, steps: int) -> PreparedTarget:
        with self._lock:
            return self.set.step(steps)

    def select(self, index: int) -> PreparedTarget:
        with self._lock:
            self.set.index = index % len(self.set)
            return self.set.targets[self.set.index]

    def label(self) -> str:
        with self._lock:
            return f"target {self.set.index + 1}/{len(self.set)}: {self.set.targets[self.set.index].name}"

    def thumbnail(self, index: int) -> bytes:
        """JPEG, longer side THUMB_SIDE; IndexError for a bad index."""
        with self._lock:
            if index in self._thumbs:
                return self._thumbs[index]
            frame = self.set.targets[index].frame
        h, w = frame.shape[:2]
        s = THUMB_SIDE / max(h, w)
        small = cv2.resize(
            frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
        data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))[1].tobytes()
        with self._lock:
            self._thumbs[index] = data
        return data

    def add_upload(self, data: bytes, filename: str) -> int:
        """Check, save and prepare an uploaded picture; its gallery index. UploadError if refused.

        One upload at a time, from the size checks to the prepared target (a second one at the
        same time is refused as busy, 503): decoding is the costly step, and two at once held
        two full-size images. The same bytes again select the target they made before.
        """
        if is_avatar_path(filename) or data[:4] == b"PK\x03\x04":  # a zip, as avatars are
            raise UploadError(
                f"{filename}: avatars are not uploaded through the panel; copy the .avatar "
                f"file into the targets folder ({self.folder}) and start reenact again"
            )
        if not self._upload_lock.acquire(blocking=False):
            raise UploadError(
                f"{filename}: another upload is being prepared; send it again "
                "when that one is done",
                503,
            )
        try:
            digest = hashlib.sha256(data).hexdigest()
            with self._lock:
                if digest in self._uploaded:
                    return self._uploaded[digest]
            self._check_upload(data, filename)
            index = self._prepare_upload(data, filename)
            with self._lock:
                self._uploaded[digest] = index
            return index
        finally:
            self._upload_lock.release()

    def _check_upload(self, data: bytes, filename: str) -> None:
        """The gallery's room, the size in bytes and in pixels (header only): UploadError."""
        panel = self.config.panel
        if len(self) >= panel.gallery_max_targets:
            raise UploadError(
                f"{filename}: the gallery is full ({len(self)} targets; the limit "
                f"is {panel.gallery_max_targets}, panel.gallery_max_targets)",
                409,
            )
        max_bytes = int(panel.upload_max_mb * 1e6)
        if len(data) > max_bytes:
            raise UploadError(
                f"{filename}: too large ({len(data) / 1e6:.1f} MB; the limit is "
                f"{panel.upload_max_mb:g} MB, panel.upload_max_mb)",
                413,
            )
        try:
            size = image_size(data, filename)
        except InputError as exc:  # a decompression bomb by its header alone
            raise UploadError(f"{filename}: too large ({_reason(exc)})", 413) from None
        if size is not None and size[0] * size[1] > panel.upload_max_megapixels * 1e6:
            raise UploadError(
                f"{filename}: too large ({size[0]}x{size[1]} pixels; the limit is "
                f"{panel.upload_max_megapixels:g} Mpx, "
                "panel.upload_max_megapixels)",
                413,
            )

    def _prepare_upload(self, data: bytes, filename: str) -> int:
        """Decode, prepare (one face), save: the new target's index."""
        config = replace(self.config, tracker={"multiple_faces": "error"})
        try:
            image = decode_image(
                data,
                name=filename,
                alpha=config.compose.background != "picture",
                max_side=max(config.tracker.max_image_side, 4096),
            )
        except ImageTooLarge as exc:  # too costly to decode, known from its header
            raise UploadError(f"{filename}: too large ({_reason(exc)})", 413) from None
        except InputError as exc:
            raise UploadError(f"{filename}: not an image ({_reason(exc)})") from None
        target = prepare_target_image(
            safe_stem(filename), image, config, frame_size=self.size, source_name=filename
        )
        path = self._save(image, safe_stem(filename))
        target = dataclasses.replace(target, name=path.name)
        with self._lock:
            self.set.targets.append(target)
            return len(self.set.targets) - 1

    def _save(self, image, stem: str) -> Path:
        folder = self.folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.png"
        n = 2
        while path.exists():
            path = folder / f"{stem}-{n}.png"
            n += 1
        if path.resolve().parent != folder:  # belt and braces: safe_stem has no separators
            raise UploadError(f"{stem}: not a valid file name")
        return save_image(path, image)


def _existing_targets(folder: Path, *, configured: bool) -> list[str]:
    """The folder's pictures; an empty folder is fine (targets get dropped on the panel), a
    configured folder that does not exist is an error."""
    if not folder.is_dir():
        if configured:
            list_targets(str(folder))  # raises: targets folder not found
        return []
    try:
        return list_targets(str(folder))
    except InputError:
        return []


# Windows opens a device, not a file, for these names whatever the extension (CON.png too)
_DEVICE_NAMES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])", re.IGNORECASE)


def safe_stem(filename: str) -> str:
    """A file name stem with only letters, digits, '-' and '_' (no path, no dots), <= 60 chars,
    never a Windows device name (`con.txt`, `COM1.png`, `nul .jpg` give `_con`, `_COM1`,
    `_nul`)."""
    stem = Path(filename.replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "target"
    return f"_{stem}" if _DEVICE_NAMES.fullmatch(stem) else stem


def _reason(exc: InputError) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text
