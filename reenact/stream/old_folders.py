"""Folders an earlier version kept in the folder reenact was started from, and moving them.

Before the user folders (`reenact.paths`), the panel's uploads went to `./out/targets` and
recorded presets to `./presets`: started from another folder, the gallery was empty. `reenact
live` names such folders in one line, and `reenact paths --move-old` moves their files into the
data folder. A name already there is never overwritten (the file stays where it was, and the
line says so); a `.npz` in ./presets that is not a reenact preset stays too.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from reenact.errors import InputError
from reenact.paths import presets_dir, targets_dir


@dataclass(frozen=True)
class OldFolder:
    """One old folder: what it held (`what`), where it was, where it goes, its files."""

    what: str
    old: Path
    new: Path
    files: tuple[Path, ...]


def old_folders(cwd: Path) -> list[OldFolder]:
    """The old folders under `cwd` that hold files to move (not the new folders themselves)."""
    found = []
    for what, old, new, files in (
        ("targets", cwd / "out" / "targets", targets_dir(), _pictures),
        ("presets", cwd / "presets", presets_dir(), _presets),
    ):
        if old.is_dir() and not _same(old, new):
            listed = files(old)
            if listed:
                found.append(OldFolder(what, old, new, tuple(listed)))
    return found


def _pictures(folder: Path) -> list[Path]:
    from reenact.pipeline.target import list_targets  # OpenCV and the tracker: not for `paths`

    try:
        return [Path(p) for p in list_targets(str(folder))]
    except InputError:  # no pictures in it
        return []


def _presets(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.npz") if p.is_file())


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def hint(cwd: Path) -> str | None:
    """The one line that names the old folders under `cwd` and the command that moves them."""
    found = old_folders(cwd)
    if not found:
        return None
    named = " and ".join(f"{_shown(f.old, cwd)} ({len(f.files)} {f.what})" for f in found)
    return (
        f"{named} from an earlier version: reenact now keeps them in {found[0].new.parent}; "
        "`reenact paths --move-old` moves them there"
    )


def move_old(cwd: Path) -> list[str]:
    """Move the old folders' files into the user folders; a line for each folder (what moved)
    and for each file left (why)."""
    from reenact.fusion.presets import load_preset

    lines = []
    for folder in old_folders(cwd):
        moved, left = 0, []
        for path in folder.files:
            if folder.what == "presets":
                try:
                    load_preset(path)
                except InputError:
                    left.append(f"left {path}: not a reenact preset")
                    continue
            destination = folder.new / path.name
            if _move_new(path, destination):
                moved += 1
            else:
                left.append(
                    f"left {path}: {destination} already exists (rename one of "
                    "them and run this again)"
                )
        lines += [f"moved {moved} {folder.what} from {folder.old} to {folder.new}", *left]
        _remove_if_empty(folder.old)
    return lines or ["no old folders here: nothing to move"]


def _move_new(source: Path, destination: Path) -> bool:
    """Move `source` to `destination` unless that name exists (checked atomically); whether it
    moved."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)  # fails, never replaces, when the name is taken
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        try:  # another disk, or no hard links there: copy into a name made exclusively
            with open(source, "rb") as read, open(destination, "xb") as write:
                shutil.copyfileobj(read, write)
        except FileExistsError:
            return False
        shutil.copystat(source, destination)
    source.unlink()
    return True


def _remove_if_empty(folder: Path) -> None:
    for path in (folder, folder.parent if folder.name == "targets" else None):
        if path is None:
            continue
        try:
            path.rmdir()  # only an empty folder goes
        except OSError:
            return


def _shown(path: Path, cwd: Path) -> str:
    try:
        return "./" + path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)
