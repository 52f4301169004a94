"""The annotated types of the configuration's fields: each number carries its allowed range
(`reenact.config.ranges`), checked when a config is loaded; and the colour a field may name."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from reenact.config.ranges import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, UNIT, Range
from reenact.errors import ConfigError

Count = Annotated[int, NON_NEGATIVE]  # 0, 1, 2, ...
AtLeastOne = Annotated[int, AT_LEAST_ONE]
NonNegative = Annotated[float, NON_NEGATIVE]  # seconds, weights, rates where 0 = off / native
Positive = Annotated[float, POSITIVE]
Unit = Annotated[float, UNIT]  # in [0, 1]
Intensity = Annotated[float, Range(0.0, 1.5)]  # 0 = neutral, 1 = as performed, 1.5 = strong
CropSide = Annotated[int, Range(64, 1024, power_of_two=True)]  # the U-net halves it to 2x2
Degrees = Annotated[float, Range(0, 180, low_open=True)]
BlendWeight = Annotated[float, Range(0, 1, high_open=True)]  # 1 would freeze the first frame
TargetNeutral = Literal["estimated", "picture"]  # fusion.target_neutral
TARGET_NEUTRALS: tuple[str, ...] = get_args(TargetNeutral)


def parse_colour(text: str, key: str = "compose.background_colour") -> tuple[int, int, int]:
    """(r, g, b) of '#00ff00', '00ff00', 'green' or 'rgb(0,255,0)'; ConfigError naming `key`."""
    from PIL import ImageColor

    value = text.strip()
    if len(value) in (3, 6) and all(c in "0123456789abcdefABCDEF" for c in value):
        value = "#" + value
    try:
        rgb = ImageColor.getrgb(value)
        return rgb[0], rgb[1], rgb[2]
    except ValueError:
        raise ConfigError(
            f"{key}: {text!r} is not a colour; give #rrggbb (e.g. #00ff00) or a "
            "name such as green or magenta"
        ) from None
