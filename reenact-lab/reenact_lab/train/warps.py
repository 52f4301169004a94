"""Precomputed training-free warps for the warp-guided generator (and the validation baseline).

`WarpRenderer.set_target` solves a thin-plate spline per reference frame (~0.3 s on a CPU core)
while `render` is cheap (~8 ms at 256), so warps are made once per (entry, reference frame): the
reference crop warped to every candidate frame's landmarks. When the folder is writable they are
saved as `<entry>_s<size>_r<ref>_<key>.npy` (uint8, numpy only) in `warps/` beside the cache, or
in `train.warp_dir` (on a lent GPU, a folder that carrying the cache up again leaves alone), and
read back memory-mapped: training reads only the frames it draws, so the warps need disk, not
memory (the shipped recipe's 4 reference frames over the shared clips are about 13 GB, 8 about
26 GB). Warps that cannot be saved stay in memory. The key digests the entry's source stamp and
the warp renderer's code, so a changed clip or renderer never reuses stale warps.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from reenact.errors import InputError
from reenact_lab import get_logger
from reenact_lab.train.cache import CacheEntry

log = get_logger(__name__)


def _renderer_digest() -> str:
    import reenact.render.warp as warp_module

    digest = hashlib.sha1()
    for path in sorted(Path(warp_module.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def render_warps(
    crop: np.ndarray, landmarks: np.ndarray, reference: int, frames: np.ndarray, size: int
) -> np.ndarray:
    """(N,S,S,3) uint8: crop[reference] warped to landmarks[j] for j in `frames` (others 0).

    crop: (N,S,S,3) uint8; landmarks: (N,478,3) crop pixels at side `size`.
    """
    from reenact.render.warp import WarpRenderer

    renderer = WarpRenderer(size=size)
    renderer.set_target(crop[reference], landmarks[reference])
    out = np.zeros((len(crop), size, size, 3), np.uint8)
    for j in frames:
        renderer.render(landmarks[j], out=out[j])
    return out


class WarpBank:
    """Warps of each entry's reference frames to its candidate frames, at crop side `size`.

    entries / crops / landmarks: as for GeneratorDataset; references[i]: entry i's reference
    frames; frames[i]: the frames to warp to. workers: threads (numpy and cv2 release the GIL).
    folder: where the warps are kept (one folder per cache); None: `warps/` beside each entry.
    """

    def __init__(
        self,
        entries: list[CacheEntry],
        crops: list[np.ndarray],
        landmarks: list[np.ndarray],
        *,
        references: list[np.ndarray],
        frames: list[np.ndarray],
        size: int,
        workers: int = 1,
        progress: bool = False,
        folder: str | Path | None = None,
    ) -> None:
        from tqdm import tqdm

        self.size = size
        self._folder = Path(folder) if folder else None
        if self._folder is not None and self._folder.exists() and not self._folder.is_dir():
            raise InputError(f"train.warp_dir: {self._folder} is a file, not a folder")
        self._digest = _renderer_digest()
        jobs = [(i, int(r)) for i, refs in enumerate(references) for r in refs]
        self._warps: dict[tuple[int, int], np.ndarray] = {}

        def make(job: tuple[int, int]) -> tuple[tuple[int, int], np.ndarray]:
            i, ref = job
            path = self._path(entries[i], ref)
            shape = (len(crops[i]), size, size, 3)
            warps = _load(path, shape)
            if warps is None:  # made, saved and read back memory-mapped (the made copy let go)
                made = render_warps(crops[i], landmarks[i], ref, frames[i], size)
                mapped = _load(path, shape) if _save(path, made) else None
                warps = made if mapped is None else mapped
            return job, warps

        with (
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
            tqdm(total=len(jobs), desc="warps", unit="ref", disable=not progress) as bar,
        ):
            for job, warps in pool.map(make, jobs):
                self._warps[job] = warps
                bar.update(1)

    def _path(self, entry: CacheEntry, reference: int) -> Path | None:
        if not entry.source_stamp:
            return None
        key = hashlib.sha1(f"{entry.source_stamp}:{self._digest}".encode()).hexdigest()[:10]
        folder = self._folder or entry.folder / "warps"
        return folder / f"{entry.name}_s{self.size}_r{reference}_{key}.npy"

    def get(self, entry: int, reference: int, truth: int) -> np.ndarray:
        """(S,S,3) uint8, a writable copy: entry's reference frame warped to frame `truth`'s
        landmarks."""
        return np.array(self._warps[(entry, reference)][truth])

    @property
    def resident_bytes(self) -> int:
        """Bytes of warps held in memory (not memory-mapped from their saved files)."""
        return sum(w.nbytes for w in self._warps.values() if not isinstance(w, np.memmap))


def _load(path: Path | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The saved warps at `path`, memory-mapped read-only; None where missing or not as made."""
    if path is None or not path.is_file():
        return None
    try:
        warps = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return warps if warps.shape == shape and warps.dtype == np.uint8 else None


def _save(path: Path | None, warps: np.ndarray) -> bool:
    """Write `warps` to `path` whole (a temporary name, then a rename); False where it cannot."""
    if path is None:
        return False
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.save(f, warps)
        os.replace(tmp, path)
        prefix = path.name.rsplit("_", 1)[0] + "_"
        for stale in path.parent.glob(f"{prefix}*.npy"):  # same entry/size/ref, older renderer
            if stale != path and len(stale.name) == len(path.name):
                stale.unlink(missing_ok=True)
        return True
    except OSError as exc:
        log.warning("warps not saved at %s, kept in memory (%s)", path, exc)
        return False
    finally:
        with contextlib.suppress(OSError):  # also where the folder is not one (NotADirectory)
            tmp.unlink(missing_ok=True)
