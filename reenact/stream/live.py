"""`reenact live`: the session with live controls, an on-screen overlay and a preview.

Hotkeys work in the preview window: the window sink itself, or a separate preview window when the
output goes to a virtual camera or a stream and a display is present. The overlay (stats, help,
messages) is drawn only in the preview, never into what the audience sees.
"""

from __future__ import annotations

import logging
import sys

from reenact.config import Config
from reenact.plugin_api import find_preview_sink
from reenact.stream.controls import HELP_LINES, Controls
from reenact.stream.session import SessionReport, run_session

log = logging.getLogger(__name__)


class LiveHooks:
    """Builds the per-frame hook: keys -> controls, overlay, preview, quit."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.controls: Controls | None = None
        self.preview = None
        self.separate_preview = False
        self.server = None

    def __call__(self, reenactor, sink):
        self.controls = Controls(reenactor, show_stats=self.config.stream.show_stats,
                                 switch_target=self._switcher(reenactor))
        if self.config.stream.control_port:
            from reenact.stream.control_server import ControlServer

            self.server = ControlServer(
                self.controls, port=self.config.stream.control_port,
                token=self.config.stream.control_token,
            ).start()
            print(f"reenact: control interface at {self.server.url} "
                  f"(header X-Reenact-Token: {self.server.token})", file=sys.stderr)
        self.preview = sink if sink.preview else self._open_preview(sink)
        self.separate_preview = self.preview is not None and self.preview is not sink
        print("reenact: live. Look at the camera with a neutral face for a moment "
              "(calibration). Press h in the preview for help, Ctrl-C to stop.", file=sys.stderr)
        return self.hook

    def _switcher(self, reenactor):
        """next/previous target through `stream.targets_dir`, with a cross-fade."""
        folder = self.config.stream.targets_dir
        if not folder:
            return None
        from reenact.pipeline.target import TargetSet, list_targets

        targets = TargetSet(reenactor.target, list_targets(folder), self.config)

        def switch(step: int) -> str:
            target = targets.step(step)
            reenactor.set_target(target, crossfade_s=self.config.stream.crossfade_s)
            return f"target {targets.index + 1}/{len(targets)}: {target.name}"

        return switch

    def _open_preview(self, sink):
        """A separate preview: the first installed sink that declares `preview` and is usable."""
        found = find_preview_sink()
        if found is None:
            return None
        from reenact.config import replace

        from reenact.config.plugins import plugin_options

        name, cls = found
        cfg = replace(self.config, sink={"kind": name, "title": "reenact preview"}).sink
        return cls(plugin_options("sink", cfg, cls), width=sink.width, height=sink.height,
                   fps=sink.fps)

    def overlay_lines(self, capture_status: str = "") -> list[str]:
        r, state = self.controls.reenactor, self.controls.state
        lines = [capture_status] if capture_status else []
        if r.calibrating:
            lines.append("calibrating: look neutral")
        if r.face_lost.is_lost:
            lines.append("no face")
        if state.message:
            lines.append(state.message)
        if state.show_stats:
            lines += r.timer.lines()
        if state.show_help:
            lines += list(HELP_LINES)
        return lines

    def hook(self, output, frame, result) -> bool:
        controls = self.controls
        if self.preview is not None:
            self.preview.set_overlay_lines(self.overlay_lines(result.capture_status))
            if self.separate_preview:
                self.preview.write(output)
            controls.key(self.preview.poll_key())
        controls.apply_pending()
        return not controls.state.quit

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.separate_preview:
            self.preview.close()


def run_live(config: Config) -> SessionReport:
    hooks = LiveHooks(config)
    try:
        return run_session(config, on_frame=hooks)
    finally:
        hooks.close()
