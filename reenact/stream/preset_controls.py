"""The preset actions of the live controls, as one table (hotkeys, control interface, panel).

Actions are strings; those with an argument are written `VERB:ARG`:

    preset_1 .. preset_9    toggle the preset on that number key (presets.keys)
    preset:NAME             toggle preset NAME
    preset_on:NAME          hold preset NAME on (a stream-deck key down) ...
    preset_off:NAME         ... and release it (key up)
    presets_off             release every preset
    preset_mode:add|replace mix presets into the live expression, or replace it

The OpenCV preview cannot see a key being released, so there the number keys toggle: press 1
to blend the first preset in, press 1 again to blend it out. Hold-while-down is for clients that
send key-down and key-up (`preset_on` / `preset_off` through the control interface).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

SLOTS = 6  # number keys 1..SLOTS in the preview


@dataclass(frozen=True)
class PresetAction:
    """One row of the table: the verb, whether it takes `:ARG`, its help, and what it does
    (`run(mixer, arg) -> message shown in the preview`)."""

    verb: str
    takes_arg: bool
    help: str
    run: Callable[[object, str], str]


def _toggle(mixer, name: str) -> str:
    return f"preset {name} {'on' if mixer.toggle(name) else 'off'}"


def _slot(index: int) -> Callable[[object, str], str]:
    def run(mixer, _arg: str) -> str:
        name = mixer.slot(index)
        return _toggle(mixer, name) if name else f"no preset on key {index}"

    return run


def _on(mixer, name: str) -> str:
    mixer.press(name)
    return f"preset {name} on"


def _off(mixer, name: str) -> str:
    mixer.release(name)
    return f"preset {name} off"


def _all_off(mixer, _arg: str) -> str:
    mixer.release_all()
    return "presets off"


def _mode(mixer, mode: str) -> str:
    mixer.set_mode(mode)
    return f"presets {mode}"


PRESET_ACTIONS: dict[str, PresetAction] = {
    a.verb: a
    for a in (
        *(
            PresetAction(f"preset_{i}", False, f"toggle the preset on key {i}", _slot(i))
            for i in range(1, SLOTS + 1)
        ),
        PresetAction("preset", True, "toggle preset NAME", _toggle),
        PresetAction("preset_on", True, "hold preset NAME on (key down)", _on),
        PresetAction("preset_off", True, "release preset NAME (key up)", _off),
        PresetAction("presets_off", False, "release every preset", _all_off),
        PresetAction("preset_mode", True, "mix presets: add or replace", _mode),
    )
}
PRESET_HOTKEYS = {ord(str(i)): f"preset_{i}" for i in range(1, SLOTS + 1)}
HELP_LINE = f"1-{SLOTS}  toggle expression presets (reenact preset list)"


def parse(action: str) -> tuple[PresetAction, str] | None:
    """(row, argument) when `action` is a preset action, None when it is not one; ValueError
    for a preset verb used with a missing or unexpected argument."""
    verb, sep, arg = action.partition(":")
    row = PRESET_ACTIONS.get(verb)
    if row is None:
        return None
    if row.takes_arg != bool(sep and arg):
        form = f"{verb}:NAME" if row.takes_arg else verb
        raise ValueError(f"action '{action}': write it as {form}")
    return row, arg


def check(mixer, action: str) -> bool:
    """True when `action` is a valid preset action for `mixer` (safe from any thread); False
    when it is not a preset action; ValueError for a bad argument or an unknown preset."""
    parsed = parse(action)
    if parsed is None:
        return False
    row, arg = parsed
    if row.verb == "preset_mode":
        if arg not in ("add", "replace"):
            raise ValueError(f"action '{action}': the mode is add or replace")
    elif row.takes_arg and arg not in mixer.library:
        valid = ", ".join(sorted(mixer.library)) or "(none)"
        raise ValueError(f"action '{action}': unknown preset '{arg}'; available: {valid}")
    return True


def apply(mixer, action: str) -> str | None:
    """Run a preset action on `mixer`; its message, or None when `action` is not a preset action.
    An unknown preset name raises ValueError listing the available ones."""
    parsed = parse(action)
    if parsed is None:
        return None
    row, arg = parsed
    return row.run(mixer, arg)
