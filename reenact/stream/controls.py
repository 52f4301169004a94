"""Live controls: one set of actions, reached by hotkeys in the preview window or by the local
control interface (`reenact.stream.control_server`).

Actions: recalibrate, pause (pass-through), next/previous target, intensity up/down, smoothing
on/off, gaze on/off, head motion (off -> rotate -> full), stats on/off, help on/off, quit,
each per-region gain up/down (`GAIN_ACTIONS`: action -> (region, step), one row each, so a
panel can list them) and gains_reset.
A preset can also be held (`Controls.hold`: on while a global hotkey is down, off on key-up).
Besides actions, the panel sets live settings
(`reenact.stream.live_settings`) and picks a target by its place in the gallery.

The queue between the requesting threads and the render loop is bounded and coalescing: an
action requested n times before the next frame is one entry with a count, a setting keeps its
last value, so 400 `next_target` requests become one switch by 400 places (one cross-fade), and a
burst of requests never piles work onto the render loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from reenact.fusion.gains import GAIN_NAMES, GAIN_RANGE

from reenact.stream import preset_controls

log = logging.getLogger(__name__)

GAIN_STEP = 0.1
# action -> (region, step): fusion.gains.<region> changed by step, clamped to GAIN_RANGE
GAIN_ACTIONS: dict[str, tuple[str, float]] = {
    f"gain_{name}_{way}": (name, sign * GAIN_STEP)
    for name in GAIN_NAMES
    for way, sign in (("down", -1), ("up", 1))
}

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
    ord("g"): "gaze",
    ord("m"): "head_motion",
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
    "g  gaze on/off",
    "m  head motion: off / rotate / full",
    "t  timings on/off (off at the start)",
    preset_controls.HELP_LINE,
    "h  this help",
    "q  quit",
)
INTENSITY_STEP = 0.1
# the preset verbs `Controls.hold` takes: a number key's slot, or a preset by name
HOLDABLE = (*(f"preset_{i}" for i in range(1, preset_controls.SLOTS + 1)), "preset")


@dataclass
class ControlState:
    """What the controls change; read by the live loop once per frame."""

    show_stats: bool = True
    show_help: bool = False
    quit: bool = False
    message: str = ""
    pending: dict[str, int] = field(default_factory=dict)  # action -> times requested
    settings: dict[str, Any] = field(default_factory=dict)  # live setting -> last value
    select: int | None = None  # gallery index to switch to
    camera: str | None = None  # camera device to move to (the panel's picker)
    holds: dict[str, bool] = field(default_factory=dict)  # held preset action -> key down


class Controls:
    """Applies actions to a `Reenactor` (and a target switcher), from any thread.

    Actions from other threads are queued and applied on the main thread in `apply_pending()`,
    so the per-frame work never races with a control request.
    """

    TOGGLES = ("pause", "smoothing", "stats", "help")  # requested twice = unchanged

    def __init__(
        self,
        reenactor,
        *,
        switch_target: Callable[[int], str] | None = None,
        show_stats: bool = True,
        select_target: Callable[[int], str] | None = None,
    ) -> None:
        self.reenactor = reenactor
        self.switch_target = switch_target
        self.select_target = select_target
        self.state = ControlState(show_stats=show_stats)
        self._lock = threading.Lock()

    def request(self, action: str) -> None:
        """Queue an action (thread-safe). Unknown actions raise ValueError."""
        if action not in self.ACTIONS and not preset_controls.check(self.reenactor.presets, action):
            raise ValueError(f"unknown action '{action}'; valid: {', '.join(self.ACTIONS)}")
        with self._lock:
            self.state.pending[action] = self.state.pending.get(action, 0) + 1

    def request_settings(self, values: dict[str, Any]) -> None:
        """Queue checked live settings ({key: value}, see live_settings.parse_settings)."""
        with self._lock:
            self.state.settings.update(values)

    def request_select(self, index: int) -> None:
        """Queue a switch to the gallery's target `index` (the last request wins)."""
        with self._lock:
            self.state.select = index

    def request_camera(self, device: str) -> None:
        """Queue a move to the camera `device` (the last request wins); the session's source
        opens it on its capture thread (`reenact.stream.source_control`)."""
        with self._lock:
            self.state.camera = device

    def hold(self, action: str, down: bool) -> None:
        """Hold a preset (`preset_N` or `preset:NAME`) on while `down`, release it when not
        (thread-safe); the last of a burst wins, so a key held down stays on."""
        parsed = preset_controls.parse(action)
        if parsed is None or parsed[0].verb not in HOLDABLE:
            raise ValueError(
                f"action '{action}' cannot be held; a preset can: "
                f"{', '.join(HOLDABLE[:-1])} or preset:NAME"
            )
        preset_controls.check(self.reenactor.presets, action)
        with self._lock:
            self.state.holds.pop(action, None)  # re-inserted last: applied in press order
            self.state.holds[action] = down

    def key(self, key: int | None) -> None:
        if key is not None and key in HOTKEYS:
            self.request(HOTKEYS[key])

    def apply_pending(self) -> None:
        """Apply what was queued since the last frame; on the render loop's thread."""
        from reenact.stream.live_settings import apply_setting

        with self._lock:
            state = self.state
            pending, settings, select = state.pending, state.settings, state.select
            holds, state.holds = state.holds, {}
            camera, state.camera = state.camera, None
            state.pending, state.settings, state.select = {}, {}, None
        steps = pending.pop("next_target", 0) - pending.pop("previous_target", 0)
        if steps:
            self._switch(steps)
        if select is not None and self.select_target is not None:
            self.state.message = self.select_target(select)
        if camera is not None:
            self.reenactor.source.request_device(camera)
            self.state.message = f"camera {camera}: opening"
        for action, count in pending.items():
            if action in ("intensity_up", "intensity_down"):
                count = min(count, 16)  # 16 steps cross the whole range
            elif action in self.TOGGLES:
                count %= 2
            else:
                count = min(count, 1)
            for _ in range(count):
                self.apply(action)
        for key, value in settings.items():
            apply_setting(self.reenactor, key, value)
        for action, down in holds.items():
            self._hold(action, down)

    def _hold(self, action: str, down: bool) -> None:
        row, arg = preset_controls.parse(action)
        mixer = self.reenactor.presets
        name = arg if row.takes_arg else mixer.slot(int(row.verb.rpartition("_")[2]))
        if name is None:
            self.state.message = f"no preset on key {row.verb.rpartition('_')[2]}"
            return
        self.apply(f"preset_{'on' if down else 'off'}:{name}")

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

    def _gaze(self) -> None:
        eyes = self.reenactor.motion.eyes
        eyes.gaze = not eyes.gaze
        eyes.reset()
        self.state.message = f"gaze {'on' if eyes.gaze else 'off'}"

    def _head_motion(self) -> None:
        self.state.message = f"head motion {self.reenactor.motion.next_mode()}"

    def _gain(self, action: str) -> None:
        name, step = GAIN_ACTIONS[action]
        gains = self.reenactor.gains
        value = round(min(GAIN_RANGE[1], max(GAIN_RANGE[0], gains.get(name) + step)), 2)
        self.state.message = f"{name} gain {gains.set(name, value):.1f}"

    def _gains_reset(self) -> None:
        for name in GAIN_NAMES:
            self.reenactor.gains.set(name, 1.0)
        self.state.message = "gains 1.0"

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
        "gaze": _gaze,
        "head_motion": _head_motion,
        "stats": lambda self: self._toggle("show_stats"),
        "help": lambda self: self._toggle("show_help"),
        "quit": _quit,
        "gains_reset": _gains_reset,
        **{action: (lambda self, a=action: self._gain(a)) for action in GAIN_ACTIONS},
    }
    ACTIONS = (
        *_TABLE,
        *(a for a, row in preset_controls.PRESET_ACTIONS.items() if not row.takes_arg),
    )

    def status(self) -> dict:
        from reenact.stream.live_settings import setting_values

        r = self.reenactor
        return {
            "paused": r.paused,
            "intensity": r.intensity,
            "smoothing": r.smoothing,
            "calibrating": r.calibrating,
            "gaze": r.motion.eyes.gaze,
            "head_motion": r.motion.mode,
            "target": r.target.name,
            "face_lost": r.face_lost.is_lost,
            "gains": dict(r.gains.values),
            "message": self.state.message,
            "settings": setting_values(r),
            "presets": r.presets.status(),
        }
