"""Finding training inputs: clips, still folders and frame-sequence folders, with labels.

`discover(paths)` turns what a user points `reenact prepare` at into `InputItem`s, each one
identity's clip, frame sequence or group of stills. Layouts understood (docs/DATA.md):

- a video file (`.mp4 .mov .avi .mkv .webm .m4v`): one clip; identity = file stem.
- a folder of stills named `<subject>_<condition>.<ext>`: one group of stills per subject, the
  subject read by the first layout's `subject` pattern that matches the file's stem.
- `<root>/<subject>/<expression>.<ext>` (stills whose names carry an expression or condition
  word): one group of stills per folder; identity = `<subject>`.
- `<root>/<subject>/<sequence>/<frames>` and deeper: each frame folder is a sequence, read like a
  clip in natural sort order; identity = `<subject>`; expression = a word in the folder path.
- a folder of clips (any depth): one clip per file; identity = the first sub-folder if nested,
  else the stem.

Which words name an expression or a condition, and how a flat folder's file names give their
subject, is data: the layout table `configs/datasets/layouts.yaml`, one entry per data set's
naming, chosen by its key (`discover(paths, layout=KEY)`) or, by default, all of them at once.

Identities are prefixed with the input folder's name (`expressions_01`) so that two data sets'
subject numbers never collide; clips keep their stem (`interview_1`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reenact.config.load import CONFIG_DIR
from reenact.config.reader import read_config_file
from reenact.errors import ConfigError, InputError
from reenact.video import VIDEO_SUFFIXES

VIDEO_EXTS = VIDEO_SUFFIXES
IMAGE_EXTS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm"}
)
LAYOUTS_FILE = CONFIG_DIR / "datasets" / "layouts.yaml"

_SPLIT = re.compile(r"[_\-\s.]+")


@dataclass(frozen=True)
class Layout:
    """How one data set (or, merged, all of them) names its files.

    subjects: patterns whose group `subject` is a flat folder's still's subject, tried in order.
    words: a word in a file or folder name -> its expression label. variants: condition words
    that are no expression. neutral_variants: the variants that show the subject's neutral.
    """

    name: str
    subjects: tuple[re.Pattern[str], ...] = ()
    words: dict[str, str] = field(default_factory=dict)
    variants: frozenset[str] = frozenset()
    neutral_variants: frozenset[str] = frozenset()


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of words, got {value!r}")
    return [v.lower() for v in value]


def _layout(key: str, entry: Any, path: Path) -> Layout:
    where = f"{path}: layouts.{key}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping of example, subject, labels, variants")
    unknown = sorted(set(entry) - {"example", "subject", "labels", "variants", "neutral_variants"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: example, subject, labels, "
            "variants, neutral_variants)"
        )
    subjects: tuple[re.Pattern[str], ...] = ()
    if "subject" in entry:
        try:
            pattern = re.compile(str(entry["subject"]), re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{where}.subject: not a regular expression ({exc})") from None
        if "subject" not in pattern.groupindex:
            raise ConfigError(f"{where}.subject: the pattern has no group named subject")
        subjects = (pattern,)
    labels = entry.get("labels") or {}
    if not isinstance(labels, dict):
        raise ConfigError(f"{where}.labels: expected label: [words]")
    words = {
        w: str(label)
        for label, ws in labels.items()
        for w in _strings(ws, f"{where}.labels.{label}")
    }
    variants = frozenset(_strings(entry.get("variants", []), f"{where}.variants"))
    neutral = frozenset(_strings(entry.get("neutral_variants", []), f"{where}.neutral_variants"))
    if not neutral <= variants:
        raise ConfigError(
            f"{where}.neutral_variants: {sorted(neutral - variants)[0]!r} is not "
            "one of its variants"
        )
    return Layout(key, subjects, words, variants, neutral)


def _merged(layouts: list[Layout], path: Path) -> Layout:
    """Every layout at once: their subject patterns in order, their words and variants."""
    words: dict[str, str] = {}
    for layout in layouts:
        for word, label in layout.words.items():
            if words.setdefault(word, label) != label:
                raise ConfigError(
                    f"{path}: layouts.{layout.name}.labels: {word!r} means "
                    f"{label!r} here and {words[word]!r} in another layout"
                )
    return Layout(
        "",
        tuple(p for lay in layouts for p in lay.subjects),
        words,
        frozenset().union(*(lay.variants for lay in layouts)),
        frozenset().union(*(lay.neutral_variants for lay in layouts)),
    )


@functools.cache
def read_layouts(path: Path = LAYOUTS_FILE) -> dict[str, Layout]:
    """The layout table at `path` by key, plus "" for all of them merged; ConfigError (one line
    naming the file and key) for a malformed table."""
    data = read_config_file(Path(path))
    table = data.get("layouts") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{path}: expected a mapping `layouts:` of layout keys")
    layouts = {str(key): _layout(str(key), entry, Path(path)) for key, entry in table.items()}
    return {**layouts, "": _merged(list(layouts.values()), Path(path))}


def layout_of(key: str | None = None) -> Layout:
    """The layout `key` of the shipped table, or (None, "") every layout merged."""
    layouts = read_layouts()
    if (key or "") not in layouts:
        raise InputError(
            f"unknown data layout {key!r}; choose one of "
            f"{', '.join(k for k in layouts if k)} ({LAYOUTS_FILE})"
        )
    return layouts[key or ""]


def neutral_variants() -> frozenset[str]:
    """The variant words whose still shows the subject's neutral (every layout's)."""
    return layout_of().neutral_variants


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


def label_of(words: list[str], layout: Layout | None = None) -> tuple[str, str]:
    """(expression label, variant) from a file's or folder's words; "" when none is named.
    layout: whose words to read (default: every layout's)."""
    layout = layout or layout_of()
    lowered = [w.lower() for w in words]
    for word in lowered:
        if word in layout.words:
            return layout.words[word], ""
    for word in lowered:
        if word in layout.variants:
            return "", word
    return "", ""


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def _subject_of_flat(stem: str, layout: Layout) -> str:
    """The subject of a still in a flat folder: the first of the layout's subject patterns that
    matches its stem, else the stem's first word."""
    for pattern in layout.subjects:
        match = pattern.match(stem)
        if match and match["subject"]:
            return match["subject"]
    words = _words(stem)
    return words[0] if words else stem


def _clip_items(
    root: Path, videos: list[Path], layout: Layout, origin: Path | None = None
) -> list[InputItem]:
    items = []
    for video in sorted(videos, key=_natural_key):
        rel = video.relative_to(root) if video != root else Path(video.name)
        identity = rel.parts[0] if len(rel.parts) > 1 else video.stem
        name = safe_name(str(rel.with_suffix("")))
        label, _variant = label_of(_words(video.stem), layout)
        items.append(
            InputItem(
                name=name,
                identity=safe_name(identity),
                kind="clip",
                paths=(video,),
                origin=origin or root,
                labels=(label,),
            )
        )
    return items


def _still_group(
    root: Path, name: str, identity: str, stills: list[Path], layout: Layout
) -> InputItem:
    labelled = [label_of(_words(p.stem), layout) for p in stills]
    return InputItem(
        name=safe_name(name),
        identity=safe_name(identity),
        kind="images",
        paths=tuple(stills),
        origin=root,
        labels=tuple(lab for lab, _ in labelled),
        variants=tuple(var for _, var in labelled),
    )


def _flat_stills(root: Path, stills: list[Path], layout: Layout) -> list[InputItem]:
    by_subject: dict[str, list[Path]] = {}
    for still in sorted(stills, key=_natural_key):
        by_subject.setdefault(_subject_of_flat(still.stem, layout), []).append(still)
    return [
        _still_group(root, f"{root.name}_{subject}", f"{root.name}_{subject}", paths, layout)
        for subject, paths in by_subject.items()
    ]


def _folder_item(root: Path, folder: Path, images: list[Path], layout: Layout) -> InputItem:
    """A nested folder of images: stills with condition words, else an ordered sequence."""
    rel = folder.relative_to(root)
    identity = f"{root.name}_{rel.parts[0]}"
    name = f"{root.name}_{'_'.join(rel.parts)}"
    images = sorted(images, key=_natural_key)
    if any(any(label_of(_words(p.stem), layout)) for p in images):
        return _still_group(root, name, identity, images, layout)
    label, _variant = label_of([w for part in rel.parts for w in _words(part)], layout)
    return InputItem(
        name=safe_name(name),
        identity=safe_name(identity),
        kind="frames",
        paths=tuple(images),
        origin=root,
        labels=(label,) * len(images),
    )


def _scan_folder(root: Path, layout: Layout) -> list[InputItem]:
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
    items = _clip_items(root, videos, layout)
    for folder in sorted(images_by_dir, key=str):
        images = images_by_dir[folder]
        if folder == root:
            items += _flat_stills(root, images, layout)
        else:
            items.append(_folder_item(root, folder, images, layout))
    return items


def discover(paths: list[str] | tuple[str, ...], layout: str | None = None) -> list[InputItem]:
    """Every clip, frame sequence and still group under `paths` (files or folders).

    layout: a key of the layout table (`configs/datasets/layouts.yaml`) whose naming the data
    follows; None reads every layout's. Raises InputError naming the path when it does not exist
    or holds no video or image, or the layout when the table has none of that key; entry names
    are made unique by a numeric suffix.
    """
    if not paths:
        raise InputError("no training data given: pass clips or folders, or set train.data")
    naming = layout_of(layout)
    items: list[InputItem] = []
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; check the data path")
        if path.is_file():
            found = _single_file(path, naming)
        else:
            found = _scan_folder(path, naming)
        if not found:
            raise InputError(
                f"{path}: no videos ({', '.join(sorted(VIDEO_EXTS))}) or images found; "
                "point at clips or a folder of face images"
            )
        items += found
    return _unique_names(items)


def _single_file(path: Path, layout: Layout) -> list[InputItem]:
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return _clip_items(path.parent, [path], layout, origin=path)
    if suffix in IMAGE_EXTS:
        return [_still_group(path, path.stem, path.stem, [path], layout)]
    raise InputError(
        f"{path}: not a video or image file; expected one of "
        f"{', '.join(sorted(VIDEO_EXTS | IMAGE_EXTS))}"
    )


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
