"""Live controls: one set of actions, reached by hotkeys in the preview window or by the local
control interface (`reenact.stream.control_server`).

Actions: recalibrate, pause (pass-through), next/previous target, intensity up/down, smoothing
on/off, stats on/off, help on/off, quit.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from reenact.stream import preset_controls

log = logging.getLogger(__name__)

HOTKEYS = {
    ord("c"): "recalibrate",
    ord("p"): "pause",
    ord(" "): "pause",
    ord("n"): "next_target",
    ord("b"): "previous_target",
    ord("+"): "intensity_up",
    ord("="): "intensity_up",
    ord("-"): "intensity_down",
    ord("s"): "smoothing",
    ord("t"): "stats",
    ord("h"): "help",
    ord("q"): "quit",
    27: "quit",
    **preset_controls.PRESET_HOTKEYS,
}

HELP_LINES = (
    "c  recalibrate neutral (look neutral)",
    "p  pause: pass the camera through",
    "n / b  next / previous target",
    "+ / -  intensity up / down",
    "s  smoothing on/off",
    "t  stats on/off",
    preset_controls.HELP_LINE,
    "h  this help",
    "q  quit",
)
INTENSITY_STEP = 0.1


@dataclass
class ControlState:
    """What the controls change; read by the live loop once per frame."""

    show_stats: bool = True
    show_help: bool = False
    quit: bool = False
    message: str = ""
    pending: list[str] = field(default_factory=list)


class Controls:
    """Applies actions to a `Reenactor` (and a target switcher), from any thread.

    Actions from other threads are queued and applied on the main thread in `apply_pending()`,
    so the per-frame work never races with a control request.
    """

    def __init__(self, reenactor, *, switch_target: Callable[[int], str] | None = None,
                 show_stats: bool = True) -> None:
        self.reenactor = reenactor
        self.switch_target = switch_target
        self.state = ControlState(show_stats=show_stats)
        self._lock = threading.Lock()

    def request(self, action: str) -> None:
        """Queue an action (thread-safe). Unknown actions raise ValueError."""
        if action not in self.ACTIONS and not preset_controls.check(self.reenactor.presets, action):
            raise ValueError(f"unknown action '{action}'; valid: {', '.join(self.ACTIONS)}")
        with self._lock:
            self.state.pending.append(action)

    def key(self, key: int | None) -> None:
        if key is not None and key in HOTKEYS:
            self.request(HOTKEYS[key])

    def apply_pending(self) -> None:
        with self._lock:
            pending, self.state.pending = self.state.pending, []
        for action in pending:
            self.apply(action)

    def apply(self, action: str) -> None:
        """Apply one action now (on the thread that runs the frames)."""
        try:  # the presets' actions are their own table (reenact.stream.preset_controls)
            message = preset_controls.apply(self.reenactor.presets, action)
        except ValueError as exc:  # an unknown preset name: say so in the preview, go on
            message = str(exc)
        if message is not None:
            self.state.message = message
        else:
            self._TABLE[action](self)
        log.info("control: %s %s", action, self.state.message)

    def _recalibrate(self) -> None:
        self.reenactor.recalibrate()
        self.state.message = "recalibrating: look neutral"

    def _pause(self) -> None:
        paused = self.reenactor.toggle_pause()
        self.state.message = "paused: pass-through" if paused else "resumed"

    def _switch(self, step: int) -> None:
        if self.switch_target is not None:
            self.state.message = self.switch_target(step)

    def _intensity(self, step: float) -> None:
        self.state.message = f"intensity {self.reenactor.change_intensity(step):.1f}"

    def _smoothing(self) -> None:
        on = self.reenactor.toggle_smoothing()
        self.state.message = f"smoothing {'on' if on else 'off'}"

    def _toggle(self, flag: str) -> None:
        setattr(self.state, flag, not getattr(self.state, flag))

    def _quit(self) -> None:
        self.state.quit = True

    _TABLE: dict[str, Callable[[Controls], None]] = {
        "recalibrate": _recalibrate,
        "pause": _pause,
        "next_target": lambda self: self._switch(1),
        "previous_target": lambda self: self._switch(-1),
        "intensity_up": lambda self: self._intensity(INTENSITY_STEP),
        "intensity_down": lambda self: self._intensity(-INTENSITY_STEP),
        "smoothing": _smoothing,
        "stats": lambda self: self._toggle("show_stats"),
        "help": lambda self: self._toggle("show_help"),
        "quit": _quit,
    }
    ACTIONS = (*_TABLE, *(a for a, row in preset_controls.PRESET_ACTIONS.items()
                          if not row.takes_arg))

    def status(self) -> dict:
        r = self.reenactor
        return {
            "paused": r.paused, "intensity": r.intensity, "smoothing": r.smoothing,
            "calibrating": r.calibrating, "target": r.target.name, "face_lost": r.face_lost.is_lost,
            "presets": r.presets.status(),
        }
