"""Checks on a run's output files, made before anything is opened for writing.

An output that is one of the run's inputs (the source video, the target, an image of the targets
folder, a weights file), reached by the same name, a symlink or a hard link, would be replaced by
the output when it is renamed into place: the input would be lost. `check_outputs` refuses that,
an output that another run is writing (`reenact.atomic.OutputLock`), and an output that is a
directory, cannot be written, or lies on a disk without room for a few seconds of video.
`check_run_files` covers the files written beside the output (`NAME.config.yaml`,
`NAME.timing.json`) and the preset the run was started from. Each refusal is one `ReenactError`
line naming the path.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from reenact.atomic import check_not_locked
from reenact.config import Config
from reenact.config.plugins import plugin_options
from reenact.errors import DeviceError, InputError
from reenact.paths import chosen_folder, log_dir
from reenact.plugin_api import SINK_GROUP, load_plugin
from reenact.video import is_video

MIN_FREE_BYTES = 4 << 20  # never start a file output on a disk with less than this free
SECONDS_OF_ROOM = 5  # a file output wants room for this many seconds of video
BITS_PER_PIXEL = 0.3  # H.264 at CRF 20, generously: bytes/s = w * h * fps * bpp / 8
RUN_FILE_SUFFIXES = (".config.yaml", ".timing.json")  # the run's resolved config and timings


def input_files(config: Config) -> list[tuple[str, Path]]:
    """(role, path) of every existing file the run reads, for the overlap check."""
    source_path = str(config.source.options.get("path", "") or "")
    target_kind = "target video" if is_video(config.stream.target) else "target image"
    named = [
        (f"{config.source.kind} source", source_path),
        (target_kind, config.stream.target),
        ("actor neutral", config.calibration.neutral_path),
        ("generator weights", config.renderer.weights),
        ("fusion weights", config.fusion.weights),
    ]
    found = [(role, Path(p)) for role, p in named if p and Path(p).is_file()]
    folder = Path(config.stream.targets_dir) if config.stream.targets_dir else None
    if folder is not None and folder.is_dir():
        found += [("targets_dir image", p) for p in sorted(folder.iterdir()) if p.is_file()]
    return found


def same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` are one file: same name, a symlink to it, or a hard link."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be stat'ed): compare the names
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_an_input(output: Path, inputs: Iterable[tuple[str, Path]]) -> None:
    for role, path in inputs:
        if same_file(output, path):
            raise InputError(
                f"output {output} is the same file as the {role} {path}; writing it would "
                f"destroy the input: choose another output path"
            )


def room_needed(width: int, height: int, fps: float) -> int:
    """Bytes for SECONDS_OF_ROOM seconds of (width x height @ fps) video, at least MIN_FREE."""
    per_second = width * height * fps * BITS_PER_PIXEL / 8
    return max(MIN_FREE_BYTES, int(per_second * SECONDS_OF_ROOM))


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _refused(output: Path, why: str) -> DeviceError:
    return DeviceError(f"output {output} {why}; choose another with --set sink.path=PATH")


def check_writable(output: Path, need_bytes: int = MIN_FREE_BYTES) -> None:
    """DeviceError unless `output` can be created or replaced, with `need_bytes` free there
    (a file system that reports no size, like /proc, is left to the open to refuse)."""
    if output.is_dir():
        raise _refused(output, f"is a directory; give a file name, e.g. {output / 'reenact.mp4'}")
    parent = _existing_parent(output)
    if not parent.is_dir():
        raise _refused(output, f"cannot be created: {parent} is a file, not a directory")
    if hasattr(os, "statvfs") and os.statvfs(parent).f_flag & os.ST_RDONLY:  # POSIX only
        raise _refused(output, f"cannot be written: {parent} is on a read-only file system")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refused(output, f"cannot be written: no permission to write in {parent}")
    if output.exists() and not os.access(output, os.W_OK):
        raise _refused(output, "is a read-only file")
    usage = shutil.disk_usage(parent)
    if usage.total and usage.free < need_bytes:
        raise _refused(
            output,
            f"cannot be written: only {usage.free / 2**20:.1f} MiB free on its "
            f"disk, and a few seconds of video need {need_bytes / 2**20:.1f} MiB",
        )


def file_outputs(config: Config) -> list[Path]:
    """The files the configured sink would write (`output_paths(options)`)."""
    sink_class = load_plugin(SINK_GROUP, config.sink.kind)
    options = plugin_options("sink", config.sink, sink_class)
    return [Path(p) for p in sink_class.output_paths(options) if p]


def check_outputs(config: Config) -> None:
    """Before a run opens anything: every file the configured sink would write is not an
    input, not being written by another run, not a directory, writable, and has room."""
    outputs = file_outputs(config)
    inputs = input_files(config) if outputs else []
    for output in outputs:
        check_not_an_input(output, inputs)
        check_not_locked(output)
        check_writable(output)


def records_folder(config: Config) -> Path:
    """Where a run whose output is no file keeps its resolved config and timings:
    `stream.output_dir`, else the logs folder, never the current folder uninvited."""
    return chosen_folder(config.stream.output_dir, log_dir())


def run_files(config: Config, stem: str, *, named_after_output: bool = True) -> list[Path]:
    """The files a run writes beside its outputs: `STEM.config.yaml` and `STEM.timing.json`,
    beside the sink's file (and named after it when `named_after_output`), else in
    `records_folder`."""
    outputs = file_outputs(config)
    folder = outputs[0].parent if outputs else records_folder(config)
    if outputs and named_after_output:
        stem = outputs[0].stem
    return [folder / f"{stem}{suffix}" for suffix in RUN_FILE_SUFFIXES]


def check_run_files(
    config: Config, *, stem: str, named_after_output: bool = True, preset: Path | None = None
) -> None:
    """No file the run writes, its output or the files beside it (`run_files`), is one of its
    inputs or the preset it was started from (`-c out/x.config.yaml` with the output
    out/x.mp4 would overwrite the preset with the resolved config)."""
    inputs = input_files(config) + ([("preset", preset)] if preset and preset.is_file() else [])
    side_files = run_files(config, stem, named_after_output=named_after_output)
    for output in [*file_outputs(config), *side_files]:
        check_not_an_input(output, inputs)
