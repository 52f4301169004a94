"""The settings that change between frames, without a restart: one table, one row per key.

The panel's sliders and toggles, `POST /settings` and `GET /status` are all built from `SETTINGS`,
so a new live setting is one row here (its key as in the config where it has one, a label, its
type and range, how to read it from and write it to the `Reenactor`). Values are checked on the
requesting thread (`parse_settings`, one error naming the key) and applied on the render loop's
thread between frames (`apply_setting`).
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from reenact.config.ranges import CREASES, GAZE_GAIN, GAZE_VERTICAL, TURN_GAIN
from reenact.config.renamed import renamed
from reenact.config.schema import TARGET_NEUTRALS
from reenact.fusion.gains import GAIN_NAMES, GAIN_RANGE
from reenact.pipeline.motion import HEAD_MODES
from reenact.pipeline.reenactor import INTENSITY_RANGE


@dataclass(frozen=True)
class LiveSetting:
    """One live-settable value: bool (a toggle), float in [low, high] (a slider) or str, one of
    `choices` (a list)."""

    key: str
    label: str
    kind: type
    get: Callable[[Any], Any]
    set: Callable[[Any, Any], None]
    low: float = 0.0
    high: float = 1.0
    step: float = 0.05
    choices: tuple[str, ...] = ()

    def parse(self, value: Any) -> Any:
        """`value` checked and typed; ValueError naming the key otherwise."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.key}: expected true or false, got {_short(value)}")
            return value
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(
                    f"{self.key}: expected one of {', '.join(self.choices)}, got {_short(value)}"
                )
            return value
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            raise ValueError(
                f"{self.key}: expected a number in [{self.low}, {self.high}], got {_short(value)}"
            )
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.key}: {_short(value)} is outside [{self.low}, {self.high}]")
        return float(value)

    def describe(self, reenactor) -> dict[str, Any]:
        """What the panel needs to draw the control."""
        kind = {bool: "toggle", str: "choice"}.get(self.kind, "slider")
        row = {"key": self.key, "label": self.label, "kind": kind, "value": self.get(reenactor)}
        if kind == "choice":
            row.update(choices=list(self.choices))
        elif kind == "slider":
            row.update(min=self.low, max=self.high, step=self.step)
        return row


def _set_smoothing(r, on: bool) -> None:
    if on != r.smoothing:
        r.smoothing = on
        r.landmark_filter.reset()


def _filter_attr(name: str) -> tuple[Callable, Callable]:
    return (
        lambda r: getattr(r.landmark_filter, name),
        lambda r, v: setattr(r.landmark_filter, name, v),
    )


def _motion_attr(part: str, name: str) -> tuple[Callable, Callable]:
    """Get / set `name` of the motion stage's `part` (eyes: EyeTransfer, head: HeadMotion)."""
    return (
        lambda r: getattr(getattr(r.motion, part), name),
        lambda r, v: setattr(getattr(r.motion, part), name, v),
    )


def _attr(name: str) -> tuple[Callable, Callable]:
    return (lambda r: getattr(r, name), lambda r, v: setattr(r, name, v))


def _gain(name: str) -> tuple[Callable, Callable]:
    return (lambda r: r.gains.get(name), lambda r, v: r.gains.set(name, v))


def _set_gaze(r, on: bool) -> None:
    eyes = r.motion.eyes
    if eyes.gaze != on:
        eyes.gaze = on
        eyes.reset()


def _set_mirror(r, on: bool) -> None:
    """The session's source flips its next frames (`reenact.stream.source_control`)."""
    if getattr(r, "source", None) is not None:
        r.source.mirror = on


# One row per key.
SETTINGS: tuple[LiveSetting, ...] = (
    LiveSetting("stream.intensity", "Intensity", float, *_attr("intensity"), *INTENSITY_RANGE),
    LiveSetting("smoothing.enabled", "Smoothing", bool, lambda r: r.smoothing, _set_smoothing),
    LiveSetting(
        "smoothing.min_cutoff",
        "Smoothing: cut-off when still (Hz)",
        float,
        *_filter_attr("min_cutoff"),
        0.05,
        10.0,
        0.05,
    ),
    LiveSetting(
        "smoothing.beta", "Smoothing: speed response", float, *_filter_attr("beta"), 0.0, 5.0, 0.05
    ),
    LiveSetting(
        "smoothing.expression_beta",
        "Smoothing: follows the face's moves",
        float,
        *_filter_attr("expression_beta"),
        0.0,
        5.0,
        0.05,
    ),
    *(
        LiveSetting(
            f"fusion.gains.{name}",
            f"{name.capitalize()} gain",
            float,
            *_gain(name),
            *GAIN_RANGE,
            0.05,
        )
        for name in GAIN_NAMES
    ),
    LiveSetting(
        "eyes.gaze", "Gaze (irises follow yours)", bool, lambda r: r.motion.eyes.gaze, _set_gaze
    ),
    LiveSetting(
        "eyes.gaze_gain",
        "Gaze gain (iris offset x)",
        float,
        *_motion_attr("eyes", "gaze_gain"),
        GAZE_GAIN.low,
        GAZE_GAIN.high,
        0.05,
    ),
    LiveSetting(
        "eyes.gaze_vertical",
        "Gaze up/down (x the gain)",
        float,
        *_motion_attr("eyes", "gaze_vertical"),
        GAZE_VERTICAL.low,
        GAZE_VERTICAL.high,
        0.05,
    ),
    LiveSetting(
        "eyes.lid_follow",
        "Lids follow the gaze (share)",
        float,
        *_motion_attr("eyes", "lid_follow"),
        0.0,
        1.0,
        0.05,
    ),
    LiveSetting(
        "eyes.linked",
        "Eyes open and close together (but winks)",
        bool,
        *_motion_attr("eyes", "linked"),
    ),
    LiveSetting(
        "head.motion",
        "Head motion",
        str,
        lambda r: r.motion.mode,
        lambda r, v: r.motion.set_mode(v),
        choices=HEAD_MODES,
    ),
    *(
        LiveSetting(
            f"head.{axis}_gain",
            f"Head {label} gain",
            float,
            *_motion_attr("head", f"{axis}_gain"),
            TURN_GAIN.low,
            TURN_GAIN.high,
            0.05,
        )
        for axis, label in (("pitch", "nod"), ("yaw", "turn"))
    ),
    LiveSetting(
        "compose.creases",
        "Creases (your expression lines on the face)",
        float,
        lambda r: r.creases.strength,
        lambda r, v: setattr(r.creases, "strength", v),
        CREASES.low,
        CREASES.high,
        0.05,
    ),
    LiveSetting(
        "fusion.target_neutral",
        "Target's neutral: its expression taken out, or the picture as it is",
        str,
        lambda r: r.target_neutral,
        lambda r, v: r.set_target_neutral(v),
        choices=TARGET_NEUTRALS,
    ),
    LiveSetting(
        "source.mirror",
        "Mirror the camera (left-right)",
        bool,
        lambda r: bool(getattr(getattr(r, "source", None), "mirror", False)),
        _set_mirror,
    ),
    LiveSetting("paused", "Pause (pass the camera through)", bool, *_attr("paused")),
)
BY_KEY = {s.key: s for s in SETTINGS}
MAX_DIGITS = 30  # of an integer in a settings body: every live setting is a small number


def parse_settings(values: Any) -> dict[str, Any]:
    """A JSON object {key: value} checked against the table; ValueError naming the bad key."""
    if not isinstance(values, dict) or not values:
        raise ValueError('expected a JSON object of settings, e.g. {"stream.intensity": 0.8}')
    parsed = {}
    for key, value in values.items():
        key = renamed(key, "POST /settings: ") if isinstance(key, str) else key
        if key not in BY_KEY:
            raise ValueError(
                f"{_short(key)[1:-1]}: not a live setting (live settings: {', '.join(BY_KEY)})"
            )
        parsed[key] = BY_KEY[key].parse(value)
    return parsed


def parse_settings_body(body: bytes) -> dict[str, Any]:
    """`parse_settings` of a request body: UTF-8 JSON, plain numbers of at most MAX_DIGITS
    digits, nested at most as deep as the interpreter allows; ValueError in one line otherwise."""
    try:
        return parse_settings(
            json.loads(
                body.decode("utf-8") or "null", parse_int=_json_int, parse_constant=_json_constant
            )
        )
    except UnicodeDecodeError:
        raise ValueError("settings: the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"settings: the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise ValueError(
            "settings: the body is nested too deeply; send one flat JSON object {key: value}"
        ) from None


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ValueError(f"settings: a number of {digits} digits; give a plain number")
    return int(text)


def _json_constant(name: str) -> float:
    raise ValueError(f"settings: {name} is not a number; give a plain number")


def _short(value: Any) -> str:
    """`value` for an error message: its repr, cut short (a key or value may be 64 KiB)."""
    return reprlib.repr(value)


def apply_setting(reenactor, key: str, value: Any) -> None:
    """Set one checked value; on the render loop's thread."""
    BY_KEY[key].set(reenactor, value)


def setting_values(reenactor) -> dict[str, Any]:
    return {s.key: s.get(reenactor) for s in SETTINGS}


def describe_settings(reenactor) -> list[dict[str, Any]]:
    return [s.describe(reenactor) for s in SETTINGS]
