"""Ranges of numeric settings: declared once, beside each field, and checked at load.

A field in `reenact.config.schema` declares its range in its annotation,
`min_cutoff: Annotated[float, POSITIVE] = 1.5`, so a YAML preset, `--set` and a command-line flag
all meet the same check, and a new key gets it by declaring one. Every float (and every float in a
tuple) must also be finite, whether or not it declares a range: NaN and infinities are refused
with the key named. `check_ranges` raises a one-line `ConfigError`; choices (`Literal[...]`) and
types are checked elsewhere in `reenact.config.load`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

from reenact.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """Allowed values of a number: low <= x <= high (`*_open` makes that bound strict).

    power_of_two: the value must also be 2**k (e.g. renderer.size: the U-net halves it down to
    2x2). None for a bound means unbounded on that side.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    power_of_two: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        if self.power_of_two and (value < 1 or int(value) & (int(value) - 1)):
            return False
        return True

    def describe(self) -> str:
        """'> 0', '>= 1', 'in [0, 1)', 'a power of two in [64, 1024]'."""
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"in {opening}{low}, {high}{closing}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {low}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {high}"
        else:
            text = "any number"
        return f"a power of two {text}" if self.power_of_two else text


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
UNIT = Range(0, 1)  # probabilities, confidences, fractions
GAZE_GAIN = Range(0.0, 3.0)  # eyes.gaze_gain: in the config and on the live panel
GAZE_VERTICAL = Range(0.0, 3.0)  # eyes.gaze_vertical: likewise
TURN_GAIN = Range(0.0, 3.0)  # head.pitch_gain / head_yaw_gain: likewise
CREASES = Range(0.0, 2.0)  # compose.creases: likewise


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _ranges(annotation: object) -> list[Range]:
    """The Range markers of an `Annotated[...]` annotation (none for a plain type)."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return []
    return [m for m in typing.get_args(annotation)[1:] if isinstance(m, Range)]


def _check_value(value: object, ranges: list[Range], key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: {value} is not a finite number; give a plain number")
    for allowed in ranges:
        if not allowed.contains(value):
            raise ConfigError(f"{key}: {value!r} is out of range; it must be {allowed.describe()}")


def check_ranges(section: typing.Any, where: str = "") -> None:
    """ConfigError naming `where.key` for the first field of the dataclass instance `section`
    whose number is not finite or lies outside its declared Range. Nested sections are checked
    when they are built (this looks at one level)."""
    hints = typing.get_type_hints(type(section), include_extras=True)
    for item in dataclasses.fields(section):
        value = getattr(section, item.name)
        key = f"{where}.{item.name}" if where else item.name
        ranges = _ranges(hints[item.name])
        for element in value if isinstance(value, tuple) else (value,):
            _check_value(element, ranges, key)
