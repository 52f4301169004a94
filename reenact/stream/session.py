"""A whole run: open the source, target, renderer and sink from the config, loop, report.

Used by `reenact run`, `reenact live` and (with a scripted actor) `reenact demo`. The resolved
config and the timing summary are written beside the run's output file, or, when it writes none,
in `stream.output_dir` or the logs folder of `reenact paths`.
"""

from __future__ import annotations

import logging
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from reenact.atomic import write_json
from reenact.config import Config, dump_config
from reenact.config.plugins import plugin_options
from reenact.errors import DeviceError, InputError
from reenact.log import progress_shown
from reenact.pipeline.background import Background
from reenact.pipeline.factory import build_reenactor
from reenact.pipeline.outputs import check_outputs, records_folder
from reenact.pipeline.render_ahead import RenderWorker, render_ahead_on, track_ahead_on
from reenact.pipeline.timing import StageTimer
from reenact.plugin_api import SINK_GROUP, SOURCE_GROUP, FrameSink, FrameSource, load_plugin
from reenact.stream.run_loop import LoopParts, LoopResult, run_loop
from reenact.stream.source_control import ControlledSource

log = logging.getLogger(__name__)


@dataclass
class SessionReport:
    """The outcome of a run, for the CLI and the benchmark."""

    loop: LoopResult
    timer: StageTimer
    output_dir: Path
    renderer: str
    fuser: str
    frames_with_face: int
    frames_without_face: int
    output_path: Path | None = None  # the file the sink wrote, if it writes one


def open_source(config: Config) -> FrameSource:
    """The source plugin `source.kind` names, built from its own options."""
    cls = load_plugin(SOURCE_GROUP, config.source.kind)
    return cls(plugin_options("source", config.source, cls))


def check_source(config: Config) -> None:
    """The source plugin's own cheap `probe` (a camera's device node, a file's type), before
    seconds of loading: a missing camera or a FIFO is one line at once."""
    cls = load_plugin(SOURCE_GROUP, config.source.kind)
    probe = getattr(cls, "probe", None)  # optional for a third-party source
    reason = probe(plugin_options("source", config.source, cls)) if probe else None
    if reason:
        raise (DeviceError if getattr(cls, "live", False) else InputError)(reason)


def open_sink(config: Config, *, width: int, height: int, fps: float) -> FrameSink:
    """The sink plugin `sink.kind` names, built from its own options."""
    cls = load_plugin(SINK_GROUP, config.sink.kind)
    return cls(plugin_options("sink", config.sink, cls), width=width, height=height, fps=fps)


def output_dir(config: Config, sink: FrameSink) -> Path:
    """Where a run's side outputs go: beside the sink's output file when it writes one, else
    `stream.output_dir` or the logs folder (`reenact.pipeline.outputs.records_folder`)."""
    if sink.output_path is not None:
        return Path(sink.output_path).resolve().parent
    return records_folder(config)


def write_run_files(config: Config, report: SessionReport, stem: str) -> None:
    """The resolved config and the timing summary, beside the outputs."""
    folder = report.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    dump_config(config, folder / f"{stem}.config.yaml")
    summary = {
        "stages": report.timer.summary(),
        "fps": report.timer.fps(),
        "frames_in": report.loop.frames_in,
        "frames_out": report.loop.frames_out,
        "dropped": report.loop.dropped,
        "frames_with_face": report.frames_with_face,
        "frames_without_face": report.frames_without_face,
        "renderer": report.renderer,
        "fuser": report.fuser,
        "interrupted": report.loop.interrupted,
    }
    write_json(folder / f"{stem}.timing.json", summary)


def run_session(
    config: Config, *, show_progress: bool = True, on_frame=None, fuser=None, renderer=None
) -> SessionReport:
    """Run source -> pipeline -> sink as configured, until the source ends or Ctrl-C.

    fuser / renderer: ready-made parts (the benchmark's); None = built from the config.
    on_frame(reenactor, sink) -> hook: per-frame controls (hotkeys, overlay); see run_loop.
    """
    check_outputs(config)  # before anything is opened: an output must not destroy an input
    check_source(config)
    timer = StageTimer()
    reenactor = build_reenactor(config, timer=timer, fuser=fuser, renderer=renderer)
    with ExitStack() as stack:
        stack.callback(reenactor.close)
        source = stack.enter_context(open_source(config))
        source = reenactor.source = ControlledSource(source, mirror=config.source.mirror)
        fps = config.sink.fps or source.fps or 30.0
        height, width = reenactor.target.frame.shape[:2]
        sink = stack.enter_context(open_sink(config, width=width, height=height, fps=fps))
        log.debug("source %s at %.3g fps (%s frames); output %dx%d at %.3g fps",
                  config.source.kind, source.fps or 0.0, source.frame_count or "unknown",
                  width, height, fps)
        progress = _progress(source, config, show_progress)
        if progress is not None:
            stack.callback(progress.close)
        worker = _render_worker(config, reenactor, stack)
        parts = LoopParts(
            source=source, sink=sink, process=reenactor.process, timer=timer,
            on_frame=on_frame(reenactor, sink) if on_frame is not None else None,
            on_stall=reenactor.stalled, progress=progress,
            prepare=reenactor.track if track_ahead_on(config.stream.track_ahead,
                                                      reenactor.renderer) else None,
            begin=reenactor.begin if worker else None,
            finish=reenactor.finish if worker else None, worker=worker,
            background=Background.from_config(config),
        )
        result = run_loop(parts, max_frames=config.stream.max_frames,
                          duration_s=config.stream.duration_s,
                          reconnect_s=config.source.reconnect_s)
        folder, written = output_dir(config, sink), sink.output_path
    return SessionReport(
        loop=result, timer=timer, output_dir=folder,
        renderer=type(reenactor.renderer).__name__, fuser=type(reenactor.fuser).__name__,
        frames_with_face=reenactor.frames_with_face,
        frames_without_face=reenactor.frames_without_face, output_path=written,
    )


def _render_worker(config: Config, reenactor, stack: ExitStack) -> RenderWorker | None:
    """The thread that runs the network ahead (`stream.render_ahead`), or None: the serial loop."""
    if not render_ahead_on(config.stream.render_ahead, reenactor.renderer):
        return None
    worker = RenderWorker()
    stack.callback(worker.close)  # before the reenactor closes: a call may be in flight
    reenactor.render_ahead = True
    log.info("rendering ahead: the network runs on a second thread "
             "(stream.render_ahead=off for the serial loop)")
    return worker


def _progress(source: FrameSource, config: Config, enabled: bool):
    if not enabled or not progress_shown():  # -q: no progress bar either
        return None
    from tqdm import tqdm

    total = source.frame_count or None
    if config.stream.max_frames:
        total = min(total or config.stream.max_frames, config.stream.max_frames)
    if source.live or source.loops:
        total = config.stream.max_frames or None
    return tqdm(total=total, unit="frame", desc="reenact", file=sys.stderr, leave=False)
