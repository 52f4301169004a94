"""Global hotkeys: key combinations that act on the live controls while another window (a game,
OBS) has focus, through pynput (the optional extra `reenact[hotkeys]`).

`hotkeys.keys` binds combinations to control actions ("ctrl+alt+1=preset_1"). A preset
(`preset_N`, `preset:NAME`) is held: on while its keys are down, released on key-up (pynput sees
key releases, which the OpenCV preview cannot). Any other action fires once per press.

Where the platform cannot give global keys (no pynput, Linux without an X session or under
Wayland, macOS without the Accessibility permission) `start_hotkeys` prints one line saying why
and the session goes on without them.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

from reenact.errors import ConfigError
from reenact.log import say
from reenact.stream import preset_controls
from reenact.stream.controls import HOLDABLE, Controls

log = logging.getLogger(__name__)

WHERE = "hotkeys.keys"
READY_TIMEOUT_S = 2.0  # a listener not ready by then is used anyway, if its thread is alive
ALIASES = {
    "control": "ctrl",
    "option": "alt",
    "alt_gr": "alt",
    "super": "cmd",
    "win": "cmd",
    "meta": "cmd",
    "command": "cmd",
    "return": "enter",
    "escape": "esc",
}
NAMED_KEYS = frozenset(
    {
        "ctrl",
        "alt",
        "shift",
        "cmd",
        "space",
        "tab",
        "enter",
        "esc",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "page_up",
        "page_down",
        "up",
        "down",
        "left",
        "right",
        "pause",
        "print_screen",
        "scroll_lock",
        "menu",
        "caps_lock",
        "num_lock",
        *(f"f{i}" for i in range(1, 21)),
    }
)
MODIFIERS = ("ctrl", "alt", "shift", "cmd")  # written first when a combination is shown


class HotkeysUnavailable(Exception):
    """Global hotkeys cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Binding:
    """One line of `hotkeys.keys`: the keys held together, the action, and whether the
    action is held (a preset) or fired once per press."""

    keys: frozenset[str]
    action: str
    held: bool

    @property
    def label(self) -> str:
        order = sorted(self.keys, key=lambda k: (MODIFIERS.index(k) if k in MODIFIERS else 9, k))
        return "+".join(order)


def _key_of(part: str, where: str) -> str:
    name = ALIASES.get(part.strip().strip("<>").lower(), part.strip().strip("<>").lower())
    if len(name) != 1 and name not in NAMED_KEYS:
        raise ConfigError(
            f"{where}: unknown key '{part.strip()}'; use a character, or one of "
            f"{', '.join(sorted(NAMED_KEYS))}"
        )
    return name


def parse_binding(text: str, where: str = WHERE) -> Binding:
    """'ctrl+alt+1=preset_1' -> Binding; ConfigError (one line) for a bad key or action."""
    combo, sep, action = str(text).rpartition("=")
    action = action.strip()
    if not sep or not combo.strip() or not action:
        raise ConfigError(f"{where}: '{text}' is not KEYS=ACTION (e.g. ctrl+alt+1=preset_1)")
    parts = combo.split("+")
    if combo.endswith("+"):  # "ctrl++" is ctrl and the plus key
        parts = [*combo[:-1].rstrip("+").split("+"), "+"]
    keys = frozenset(_key_of(part, f"{where}: '{text}'") for part in parts)
    try:
        parsed = preset_controls.parse(action)
    except ValueError as exc:
        raise ConfigError(f"{where}: '{text}': {exc}") from None
    if parsed is None and action not in Controls.ACTIONS:
        raise ConfigError(
            f"{where}: '{text}': unknown action '{action}'; valid: "
            f"{', '.join(Controls.ACTIONS)}, preset:NAME, preset_on:NAME, ..."
        )
    return Binding(keys, action, held=parsed is not None and parsed[0].verb in HOLDABLE)


def parse_bindings(items: Iterable[str], where: str = WHERE) -> tuple[Binding, ...]:
    """Every line of `hotkeys.keys`, checked; the same keys bound twice are refused."""
    bindings: dict[frozenset[str], Binding] = {}
    for text in items:
        binding = parse_binding(text, where)
        if binding.keys in bindings:
            raise ConfigError(
                f"{where}: {binding.label} is bound twice "
                f"({bindings[binding.keys].action} and {binding.action})"
            )
        bindings[binding.keys] = binding
    return tuple(bindings.values())


def key_name(key: Any) -> str | None:
    """A pynput key as the names bindings use: KeyCode('A') -> 'a', Key.ctrl_l -> 'ctrl'."""
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    name = getattr(key, "name", None)
    if name:
        for side in ("_l", "_r", "_gr"):
            name = name.removesuffix(side)
        return ALIASES.get(name, name)
    vk = getattr(key, "vk", None)
    return f"vk{vk}" if vk is not None else None


class GlobalHotkeys:
    """Turns a key listener's presses and releases into control actions.

    listener_class: pynput.keyboard.Listener or a stand-in with its surface (`on_press` /
    `on_release` callbacks, called on the listener's thread, `Controls` being thread-safe;
    start, wait, is_alive, stop).
    """

    def __init__(
        self, bindings: Iterable[Binding], controls: Controls, *, listener_class: Callable[..., Any]
    ) -> None:
        self.bindings = tuple(bindings)
        self.controls = controls
        self._down: set[str] = set()
        self._active: set[Binding] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self.listener = listener_class(on_press=self._on_press, on_release=self._on_release)

    def start(self) -> None:
        """Start listening; HotkeysUnavailable when the listener cannot see the keys."""
        self.listener.start()
        waiter = threading.Thread(target=self.listener.wait, daemon=True)
        waiter.start()
        waiter.join(READY_TIMEOUT_S)
        if not self.listener.is_alive():
            raise HotkeysUnavailable("the key listener stopped as it started (see the log)")
        if getattr(self.listener, "IS_TRUSTED", True) is False:  # pynput on macOS
            self.listener.stop()
            raise HotkeysUnavailable(
                "macOS has not given this program the Accessibility permission (System "
                "Settings > Privacy & Security > Accessibility and Input Monitoring: add your "
                "terminal, then start reenact again)"
            )

    def stop(self) -> None:
        """Stop listening, at once: no action fires from now on. pynput's X listener may not
        see stop() until one more key event arrives (pynput PR 583); that event is ignored and
        ends it, and its thread is a daemon, so it never holds the process open."""
        self._stopped = True
        self.listener.stop()

    def _canonical(self, key: Any) -> str | None:
        canonical = getattr(self.listener, "canonical", None)  # ctrl_r -> ctrl, 'A' -> 'a'
        return key_name(canonical(key) if canonical is not None else key)

    def _on_press(self, key: Any) -> bool | None:
        if self._stopped:
            return False  # pynput ends a listener whose callback returns False
        name = self._canonical(key)
        with self._lock:
            if name is None or name in self._down:  # the keyboard's auto-repeat
                return
            self._down.add(name)
            started = [b for b in self.bindings if b.keys <= self._down and b not in self._active]
            self._active.update(started)
        for binding in started:
            self._fire(binding, down=True)

    def _on_release(self, key: Any) -> bool | None:
        if self._stopped:
            return False
        name = self._canonical(key)
        with self._lock:
            self._down.discard(name)
            ended = [b for b in self._active if not b.keys <= self._down]
            self._active.difference_update(ended)
        for binding in ended:
            if binding.held:
                self._fire(binding, down=False)

    def _fire(self, binding: Binding, *, down: bool) -> None:
        try:
            if binding.held:
                self.controls.hold(binding.action, down)
            else:
                self.controls.request(binding.action)
        except ValueError as exc:  # a preset deleted since the start: the listener goes on
            log.warning("hotkey %s: %s", binding.label, exc)


def unavailable_reason() -> str | None:
    """Why this platform cannot give global hotkeys before pynput is tried, or None."""
    if platform.system() != "Linux":
        return None
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" or (
        os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY")
    ):
        return (
            "a Wayland session does not let one program read keys meant for another; "
            "bind your desktop's shortcuts to the panel's actions (README, Global hotkeys) "
            "or log in to an X session"
        )
    if not os.environ.get("DISPLAY"):
        return "no X display (DISPLAY is not set): global hotkeys need a desktop session"
    return None


def load_listener() -> Callable[..., Any]:
    """pynput's keyboard Listener; HotkeysUnavailable when pynput is missing or cannot run."""
    try:
        from pynput import keyboard
    except ModuleNotFoundError as exc:
        if exc.name != "pynput":
            raise HotkeysUnavailable(f"pynput cannot run here: {exc}") from None
        raise HotkeysUnavailable(
            "pynput is not installed: pip install 'reenact[hotkeys]'"
        ) from None
    except ImportError as exc:  # pynput's message is several lines: its first says why
        raise HotkeysUnavailable(f"pynput cannot run here: {str(exc).splitlines()[0]}") from None
    return keyboard.Listener


def start_hotkeys(bindings: Iterable[Binding], controls: Controls) -> GlobalHotkeys | None:
    """Global hotkeys listening for `bindings`, or None after one line saying why they are off.

    A preset action naming an unknown preset is a ConfigError (before anything listens)."""
    bindings = tuple(bindings)
    for binding in bindings:
        try:
            preset_controls.check(controls.reenactor.presets, binding.action)
        except ValueError as exc:
            raise ConfigError(f"{WHERE}: {binding.label}: {exc}") from None
    try:
        reason = unavailable_reason()
        if reason is not None:
            raise HotkeysUnavailable(reason)
        hotkeys = GlobalHotkeys(bindings, controls, listener_class=load_listener())
        hotkeys.start()
    except HotkeysUnavailable as exc:
        say(log, f"global hotkeys are off: {exc}")
        return None
    shown = ", ".join(f"{b.label} {b.action}" for b in bindings)
    say(log, f"global hotkeys on: {shown}")
    return hotkeys
