"""`reenact live`: the session with live controls, an on-screen overlay and a preview.

Hotkeys work in the preview window: the window sink itself, or a separate preview window when the
output goes to a virtual camera or a stream and a display is present; global hotkeys
(`hotkeys.enabled`, reenact.stream.hotkeys) work while any window has focus. The overlay is drawn
only in the preview, never into what the audience sees: the calibration prompt and each control's
message for a few seconds, and the timings (`t`) and help (`h`) only when asked.
"""

from __future__ import annotations

import logging

from reenact.config import Config
from reenact.pipeline.background import to_rgb
from reenact.plugin_api import find_preview_sink
from reenact.stream.controls import HELP_LINES, Controls
from reenact.stream.hotkeys import parse_bindings, start_hotkeys
from reenact.stream.panel_security import ControlToken, resolve_token
from reenact.stream.session import SessionReport, run_session

log = logging.getLogger(__name__)
CALIBRATED_FRAMES = 60  # about 2 s at 30 fps
MESSAGE_FRAMES = 90  # a control's message stays on the preview about 3 s at 30 fps


class LiveHooks:
    """Builds the per-frame hook: keys -> controls, overlay, preview, panel, quit.

    preview: open a preview window when the output goes elsewhere and a display is present.
    """

    def __init__(self, config: Config, *, preview: bool = True) -> None:
        self.config = config
        self.controls: Controls | None = None
        self.preview = None
        self.separate_preview = False
        self.want_preview = preview
        self.server = None
        self._was_calibrating = False
        self._calibrated_frames = 0
        self.panel = None
        self.hotkeys = None
        self._message, self._message_frames = "", 0
        # checked before the camera opens, like the token: a bad binding ends the run in one line
        self.bindings = parse_bindings(config.hotkeys.keys) if config.hotkeys.enabled else ()
        # the token is checked before the camera opens: a short one ends the run in one line
        self.token = resolve_token(config.panel) if config.panel.enabled else ("", "generated")

    def __call__(self, reenactor, sink):
        from reenact.stream.gallery import Gallery

        gallery = Gallery(reenactor.target, self.config)
        self.controls = Controls(
            reenactor,
            show_stats=self.config.stream.show_stats,
            switch_target=self._switcher(reenactor, gallery, gallery.step),
            select_target=self._switcher(reenactor, gallery, gallery.select),
        )
        if self.config.panel.enabled:
            self._serve(gallery, sink)
        if sink.preview:
            self.preview = sink
        elif self.want_preview:
            self.preview = self._open_preview(sink)
        self.separate_preview = self.preview is not None and self.preview is not sink
        if self.bindings:
            self.hotkeys = start_hotkeys(self.bindings, self.controls)
        log.info(self.start_line())
        return self.hook

    def start_line(self) -> str:
        """What the user is told at the start: only the ways to control the run that exist."""
        ways = []
        if self.preview is not None:
            ways.append("press h in the preview window for help (t: timings)")
        if self.server is not None:
            ways.append("the panel's address is above")
        if self.hotkeys is not None:
            ways.append("global hotkeys are on")
        if self.config.source.kind == "webcam":
            start = "Look at the camera with a neutral face for a moment (calibration)."
        else:  # a file or a plugin's source: nobody to ask for a neutral face
            start = "Calibrating on the source's first frames."
        controls = "; ".join([*ways, "Ctrl-C to stop"])
        return f"live. {start} {controls[0].upper()}{controls[1:]}."

    def _serve(self, gallery, sink) -> None:
        from reenact.stream.control_server import ControlServer, print_address
        from reenact.stream.panel import Panel, describe_output

        panel = self.config.panel
        token, token_source = self.token
        if token_source == "panel.token":
            log.warning(
                "panel.token on the command line is visible to other users "
                "(ps); prefer REENACT_CONTROL_TOKEN or panel.token_file"
            )
        self.panel = Panel(
            self.controls,
            gallery,
            preview_fps=panel.preview_fps,
            preview_height=panel.preview_height,
            output_fps=sink.fps or 30.0,
            output=describe_output(sink),
        )
        # a taken port is refused (ControlServer): OBS would send the token to whoever holds it
        self.server = ControlServer(
            self.panel,
            port=panel.port,
            token=ControlToken(token, token_source),
            move_if_taken=panel.port_taken == "move",
        )
        self.server.start()
        print_address(self.server, token_source)

    def _switcher(self, reenactor, gallery, choose):
        """A target switch through the gallery (by steps, or to an index), with a cross-fade."""

        def switch(value: int) -> str:
            if len(gallery) < 2 and choose == gallery.step:
                return "one target only: set stream.targets_dir or drop one on the panel"
            reenactor.set_target(choose(value), crossfade_s=self.config.stream.crossfade_s)
            return gallery.label()

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
        return cls(
            plugin_options("sink", cfg, cls), width=sink.width, height=sink.height, fps=sink.fps
        )

    def overlay_lines(self, capture_status: str = "") -> list[str]:
        r, state = self.controls.reenactor, self.controls.state
        lines = [capture_status] if capture_status else []
        c = r.calibrator
        if not c.complete:
            lines.append(f"calibrating: relax your face ({c.collected}/{c.window})")
        elif self._calibrated_frames > 0:
            lines.append("calibration done")
        if r.face_lost.is_lost:
            lines.append("no face")
        if self._message_frames > 0:
            lines.append(state.message)
        if state.show_stats:
            lines += r.timer.lines()
        if state.show_help:
            lines += list(HELP_LINES)
        return lines

    def _track_calibration(self) -> None:
        """'calibration done' stays on the preview for CALIBRATED_FRAMES after each calibration."""
        calibrating = not self.controls.reenactor.calibrator.complete
        if self._was_calibrating and not calibrating:
            self._calibrated_frames = CALIBRATED_FRAMES
        elif self._calibrated_frames > 0:
            self._calibrated_frames -= 1
        self._was_calibrating = calibrating

    def _track_message(self) -> None:
        """A control's message shows on the preview for MESSAGE_FRAMES after it changes."""
        message = self.controls.state.message
        if message != self._message:
            self._message, self._message_frames = message, MESSAGE_FRAMES if message else 0
        elif self._message_frames > 0:
            self._message_frames -= 1

    def hook(self, output, frame, result) -> bool:
        controls = self.controls
        self._track_calibration()
        self._track_message()
        if self.panel is not None:
            self.panel.on_frame(output, frame, result)
        if self.preview is not None:
            self.preview.set_overlay_lines(self.overlay_lines(result.capture_status))
            if self.separate_preview:
                self.preview.write(to_rgb(output, self.config.compose.background_colour))
            controls.key(self.preview.poll_key())
        controls.apply_pending()
        return not controls.state.quit

    def close(self) -> None:
        if self.hotkeys is not None:
            self.hotkeys.stop()
        if self.server is not None:
            self.server.close()
        if self.separate_preview:
            self.preview.close()


def run_live(config: Config, *, preview: bool = True) -> SessionReport:
    hooks = LiveHooks(config, preview=preview)
    try:
        return run_session(config, on_frame=hooks)
    finally:
        hooks.close()
