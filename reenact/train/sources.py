"""Finding training inputs: clips, still folders and frame-sequence folders, with labels.

`discover(paths)` turns what a user points `reenact prepare` at into `InputItem`s, each one
identity's clip, frame sequence or group of stills. Layouts understood (docs/DATA.md):

- a video file (`.mp4 .mov .avi .mkv .webm .m4v`): one clip; identity = file stem.
- a folder of stills named `<subject>_<condition>.<ext>` (Yale-style `01_happy.png`, or RaFD's
  `Rafd090_01_Caucasian_female_happy_frontal.jpg`, whose subject is the second field): one group
  of stills per subject.
- `<root>/<subject>/<expression>.<ext>` (stills whose names carry an expression or condition
  word): one group of stills per folder; identity = `<subject>`.
- `<root>/<subject>/<sequence>/<frames>` (CK+: `S005/001/S005_001_00000001.png`) and deeper
  (MUG: `001/happiness/take000/img_0000.jpg`): each frame folder is a sequence, read like a
  clip in natural sort order; identity = `<subject>`; expression = a word in the folder path.
- a folder of clips (any depth): one clip per file; identity = the first sub-folder if nested,
  else the stem.

Identities are prefixed with the input folder's name (`expressions_01`) so that two data sets'
subject numbers never collide; clips keep their stem (`lp_d1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from reenact.errors import InputError
from reenact.video import VIDEO_SUFFIXES

VIDEO_EXTS = VIDEO_SUFFIXES
IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm",
                        ".ppm"})

# Expression words (and their spellings in RaFD, CK+, MUG, Yale) -> the label used for pairing.
EXPRESSION_SYNONYMS: dict[str, str] = {
    "neutral": "neutral", "normal": "neutral",
    "happy": "happy", "happiness": "happy", "smile": "happy",
    "sad": "sad", "sadness": "sad",
    "surprised": "surprised", "surprise": "surprised",
    "angry": "angry", "anger": "angry",
    "disgusted": "disgusted", "disgust": "disgusted",
    "fearful": "fearful", "fear": "fearful",
    "contemptuous": "contemptuous", "contempt": "contemptuous",
    "sleepy": "sleepy", "wink": "wink",
}
# Conditions that are not expressions (Yale): kept in the cache, labelled as a variant.
VARIANT_WORDS = frozenset({"glasses", "noglasses", "leftlight", "rightlight", "centerlight"})
# Variants whose face is the subject's neutral expression without a lighting change: Phi may use
# their landmarks as an extra neutral. (Omega never pairs variants: glasses / light would have
# to be painted in or out.)
NEUTRAL_VARIANTS = frozenset({"noglasses", "centerlight"})

_SPLIT = re.compile(r"[_\-\s.]+")


@dataclass(frozen=True)
class InputItem:
    """One identity's clip, frame sequence or group of stills, ready to track.

    name: unique entry name in the cache (file-name safe). identity: who it is (for pairing and
    the validation split). kind: "clip" (a video file), "frames" (a folder of frames, in order)
    or "images" (independent stills). paths: the video, or the frames / stills in order.
    labels: per path, the expression label ("" unknown); variants: per path, a variant word.
    origin: the input path the user gave (named in errors).
    """

    name: str
    identity: str
    kind: str
    paths: tuple[Path, ...]
    origin: Path
    labels: tuple[str, ...] = field(default=())
    variants: tuple[str, ...] = field(default=())


def safe_name(text: str) -> str:
    """A file-name-safe version of `text` ('expressions/01' -> 'expressions_01')."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("._")
    return cleaned or "item"


def _natural_key(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def label_of(words: list[str]) -> tuple[str, str]:
    """(expression label, variant) from a file's or folder's words; "" when none is named."""
    lowered = [w.lower() for w in words]
    for word in lowered:
        if word in EXPRESSION_SYNONYMS:
            return EXPRESSION_SYNONYMS[word], ""
    for word in lowered:
        if word in VARIANT_WORDS:
            return "", word
    return "", ""


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def _subject_of_flat(stem: str) -> str:
    """The subject of a still in a flat folder: RaFD's second field, else the first."""
    words = _words(stem)
    if len(words) > 1 and words[0].lower().startswith("rafd"):
        return words[1]
    return words[0] if words else stem


def _clip_items(root: Path, videos: list[Path], origin: Path | None = None) -> list[InputItem]:
    items = []
    for video in sorted(videos, key=_natural_key):
        rel = video.relative_to(root) if video != root else Path(video.name)
        identity = rel.parts[0] if len(rel.parts) > 1 else video.stem
        name = safe_name(str(rel.with_suffix("")))
        label, _variant = label_of(_words(video.stem))
        items.append(InputItem(name=name, identity=safe_name(identity), kind="clip",
                               paths=(video,), origin=origin or root, labels=(label,)))
    return items


def _still_group(root: Path, name: str, identity: str, stills: list[Path]) -> InputItem:
    labelled = [label_of(_words(p.stem)) for p in stills]
    return InputItem(
        name=safe_name(name), identity=safe_name(identity), kind="images", paths=tuple(stills),
        origin=root, labels=tuple(lab for lab, _ in labelled),
        variants=tuple(var for _, var in labelled),
    )


def _flat_stills(root: Path, stills: list[Path]) -> list[InputItem]:
    by_subject: dict[str, list[Path]] = {}
    for still in sorted(stills, key=_natural_key):
        by_subject.setdefault(_subject_of_flat(still.stem), []).append(still)
    return [
        _still_group(root, f"{root.name}_{subject}", f"{root.name}_{subject}", paths)
        for subject, paths in by_subject.items()
    ]


def _folder_item(root: Path, folder: Path, images: list[Path]) -> InputItem:
    """A nested folder of images: stills with condition words, else an ordered sequence."""
    rel = folder.relative_to(root)
    identity = f"{root.name}_{rel.parts[0]}"
    name = f"{root.name}_{'_'.join(rel.parts)}"
    images = sorted(images, key=_natural_key)
    if any(any(label_of(_words(p.stem))) for p in images):
        return _still_group(root, name, identity, images)
    label, _variant = label_of([w for part in rel.parts for w in _words(part)])
    return InputItem(name=safe_name(name), identity=safe_name(identity), kind="frames",
                     paths=tuple(images), origin=root, labels=(label,) * len(images))


def _scan_folder(root: Path) -> list[InputItem]:
    videos: list[Path] = []
    images_by_dir: dict[Path, list[Path]] = {}
    for path in root.rglob("*"):
        if path.name.startswith(".") or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in VIDEO_EXTS:
            videos.append(path)
        elif suffix in IMAGE_EXTS:
            images_by_dir.setdefault(path.parent, []).append(path)
    items = _clip_items(root, videos)
    for folder in sorted(images_by_dir, key=str):
        images = images_by_dir[folder]
        if folder == root:
            items += _flat_stills(root, images)
        else:
            items.append(_folder_item(root, folder, images))
    return items


def discover(paths: list[str] | tuple[str, ...]) -> list[InputItem]:
    """Every clip, frame sequence and still group under `paths` (files or folders).

    Raises InputError naming the path when it does not exist or holds no video or image; entry
    names are made unique by a numeric suffix.
    """
    if not paths:
        raise InputError("no training data given: pass clips or folders, or set train.data")
    items: list[InputItem] = []
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the data path")
        if path.is_file():
            found = _single_file(path)
        else:
            found = _scan_folder(path)
        if not found:
            raise InputError(
                f"{path}: no videos ({', '.join(sorted(VIDEO_EXTS))}) or images found; "
                "point at clips or a folder of face images"
            )
        items += found
    return _unique_names(items)


def _single_file(path: Path) -> list[InputItem]:
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return _clip_items(path.parent, [path], origin=path)
    if suffix in IMAGE_EXTS:
        return [_still_group(path, path.stem, path.stem, [path])]
    raise InputError(f"{path}: not a video or image file; expected one of "
                     f"{', '.join(sorted(VIDEO_EXTS | IMAGE_EXTS))}")


def _unique_names(items: list[InputItem]) -> list[InputItem]:
    seen: dict[str, int] = {}
    out = []
    for item in items:
        count = seen.get(item.name, 0)
        seen[item.name] = count + 1
        if count:
            item = InputItem(**{**item.__dict__, "name": f"{item.name}_{count + 1}"})
        out.append(item)
    return out
