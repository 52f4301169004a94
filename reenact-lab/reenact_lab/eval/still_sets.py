"""The posed-expression stills of `reenact eval --stills DIR`: finding each subject's set,
tracking and aligning each still once, and scoring a rendered crop against its truth.

`reenact_lab.eval.stills` runs the protocol over these; `reenact_lab.eval.stills_read` reads the
expressions back and `reenact_lab.eval.stills_report` writes the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.errors import InputError
from reenact_lab.eval.files import REPO_ROOT
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.tracker import detect_target_face
from reenact_lab.metrics.sharpness import sharpness_ratio
from reenact.pipeline.composite import face_mask

NEUTRAL = "normal"
BOOSTED = ("warp", "generator")  # the renderers the live loop draws through renderer.boost
COLUMNS = (
    ("ssim", "SSIM ↑", 3),
    ("ssim_face", "SSIM face ↑", 3),
    ("psnr", "PSNR dB ↑", 2),
    ("haarpsi", "HaarPSI ↑", 3),
    ("ssim_mouth", "SSIM mouth ↑", 3),
    ("sharpness", "sharpness", 2),
)
_NAME = re.compile(
    r"^(?P<subject>[^_]+)_(?P<condition>[A-Za-z]+)\.(png|jpe?g|gif|bmp|pgm)$", re.IGNORECASE
)


@dataclass(frozen=True)
class StillSet:
    """One subject's stills: the neutral one and {condition: path} of its expressions."""

    subject: str
    neutral: Path
    expressions: dict[str, Path]
    skipped: tuple[str, ...]


def resolve_folder(path: str) -> Path:
    """An existing folder, as given or relative to the repository root; else InputError."""
    given = Path(path)
    for candidate in (given, REPO_ROOT / given):
        if candidate.is_dir():
            return candidate
    raise InputError(
        f"{path}: stills folder not found (tried the working directory and {REPO_ROOT})"
    )


def find_stills(folder: Path, subjects: tuple[str, ...]) -> list[StillSet]:
    """The still sets of `subjects` in `folder`; InputError naming what is missing."""
    from reenact_lab.train.sources import label_of

    if not subjects:
        raise InputError("eval.stills_subjects is empty: name the held-out subjects to score")
    by_subject: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if match:
            by_subject.setdefault(match["subject"], {})[match["condition"].lower()] = path
    sets = []
    for subject in subjects:
        stills = by_subject.get(subject)
        if not stills:
            raise InputError(
                f"{folder}: no stills named {subject}_<condition>.png for subject "
                f"{subject} (eval.stills_subjects)"
            )
        if NEUTRAL not in stills:
            raise InputError(
                f"{folder / f'{subject}_{NEUTRAL}.png'}: the neutral still of "
                f"subject {subject} is missing"
            )
        expressions = {
            c: p
            for c, p in stills.items()
            if c != NEUTRAL and label_of([c])[0] not in ("", "neutral")
        }
        skipped = tuple(sorted(c for c in stills if c != NEUTRAL and c not in expressions))
        sets.append(StillSet(subject, stills[NEUTRAL], expressions, skipped))
    return sets


def aligned_still(path: Path, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(crop (S,S,3) uint8, landmarks (478,3) crop pixels) of a still's one face."""
    from reenact.pipeline.target import fit_frame, load_target_image

    _, image = load_target_image(str(path), config)
    frame = fit_frame(image, config.stream.max_output_side)
    landmarks = detect_target_face(frame, config.tracker, source_name=str(path))
    alignment = compute_alignment(landmarks, config.renderer.size)
    return alignment.crop_image(frame), alignment.landmarks_to_crop(landmarks)


class AlignedStills:
    """Each still tracked and aligned once per run: `aligned(path)` ->
    `aligned_still(path, config)`, kept (the scores, the rest rows and the read back's creases
    rows all use the same stills)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._done: dict[Path, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        if path not in self._done:
            self._done[path] = aligned_still(path, self.config)
        return self._done[path]


def score_still(crop: np.ndarray, truth: np.ndarray, truth_landmarks: np.ndarray) -> dict:
    """The COLUMNS of one rendered crop against the expression still's crop."""
    from reenact_lab.eval.self_reenact import compare
    from reenact_lab.eval.viewer import crop_scores

    face = face_mask(truth_landmarks, truth.shape[0]) > 0.5
    ssim, ssim_face, psnr, _ = compare(crop, truth, face)
    extra = crop_scores(crop, truth, truth_landmarks, face)
    return {
        "ssim": ssim,
        "ssim_face": ssim_face,
        "psnr": psnr,
        "haarpsi": extra["haarpsi"],
        "ssim_mouth": extra["ssim_mouth"],
        "sharpness": sharpness_ratio(crop, truth, face),
    }
