"""One frame's state on its way through the two chains, and the chain that walks it.

A chain is a list of parts with one contract (FaceFusion's processors are the model):

    name: str                 the step's name in `reenact bench --profile` ("fuse.eyes")
    stage: str                the stage its time counts into (`timing.STAGES`: "fuse", ...)
    options: object | None    the part's settings (a dataclass), None when it has none
    reset() -> None           forget what earlier frames taught it
    apply(state) -> state     one frame's step, on a `FrameState`

`Chain.run(state)` applies the parts in order, adds each part's time to `state.ms[stage]` and
marks it as a profile lap (`reenact.profiling`). A part may end the frame early (`state.stop`):
the parts after it do not run. Parts marked `every_frame` also run for a frame with nothing
rendered (`Chain.run(state, rendered=False)`): the target switch's cross-fade.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from reenact.landmarks.align import Alignment
from reenact.profiling import laps


@dataclass(frozen=True)
class Tracked:
    """The tracking stage's result for one frame: aligned source landmarks (478,3) in crop
    pixels, or None when no usable face was found (none, or turned too far), and its time;
    alignment: the frame's face alignment (head roll, shift and scale; None = unknown);
    image_landmarks: what the tracker found in the frame (None: nothing, or not tracked)."""

    source: np.ndarray | None
    ms: float = 0.0
    alignment: Alignment | None = None
    image_landmarks: np.ndarray | None = None  # (478,3) in the frame's pixels, as tracked


@dataclass(frozen=True)
class FrameResult:
    """One frame through the pipeline.

    output: (h, w, 3) uint8 the target frame to send (an internal buffer: copy it to keep it).
    fused: (478,3) float32 J_gen in crop pixels, None when nothing was rendered (paused,
    calibrating, face lost). face_found: a usable actor face was tracked in this frame.
    timings_ms: this frame's stage times, e.g. {"track": 9.1, "fuse": 0.4, ...}.
    alpha: (h, w) uint8 the avatar's coverage of `output` when compose.background is not
    "picture" (`reenact.pipeline.background`); None = all of it (or not asked for).
    """

    output: np.ndarray
    fused: np.ndarray | None
    face_found: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    alpha: np.ndarray | None = None


@dataclass
class FrameState:
    """What the parts read and write for one frame (landmarks (478,3) float32 crop pixels).

    Set before the expression chain: t_s, image (H,W,3) uint8, tracked, target (the
    PreparedTarget), intensity, smooth (the landmark smoothing is on). The expression chain
    writes source (the smoothed actor), source_neutral, creases (the actor's folds,
    `Creases.ratio`), expression (the actor with the head pose undone and the rests taken), pose
    (the head pose to redo), neutral (L_t), fused (J_gen, turned) and drawn (what the renderer
    draws). The compose chain reads crop (S,S,3)
    uint8 from the renderer and writes output (h,w,3) uint8 and alpha (h,w) uint8 or None.
    ms: the frame's time per stage (ms), filled by the chains."""

    t_s: float
    target: Any = None
    image: Any = None
    tracked: Any = None
    intensity: float = 1.0
    smooth: bool = True
    source: Any = None
    source_neutral: Any = None
    creases: Any = None
    expression: Any = None
    pose: Any = None
    neutral: Any = None
    fused: Any = None
    drawn: Any = None
    crop: Any = None
    output: Any = None
    alpha: Any = None
    box: Any = None  # the output's pasted box, which the detail goes into
    stop: bool = False
    ms: dict[str, float] = field(default_factory=dict)

    def add_ms(self, stage: str, ms: float) -> None:
        self.ms[stage] = self.ms.get(stage, 0.0) + ms


class Part(Protocol):
    """One step of a chain (module docstring)."""

    name: str
    stage: str
    options: Any

    def reset(self) -> None: ...

    def apply(self, state: FrameState) -> FrameState: ...


class BasePart:
    """The contract's defaults: no options, nothing learnt from the actor, run and counted only
    on a rendered frame."""

    options: Any = None
    every_frame, counted = False, True

    def reset(self) -> None:
        return None


class Chain:
    """Parts applied in order to a FrameState, each timed into its stage (module docstring)."""

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts

    @property
    def parts(self) -> tuple[Part, ...]:
        """The parts in the order they run (set a new list to change them)."""
        return tuple(step[0] for step in self._steps)

    @parts.setter
    def parts(self, parts: list[Part]) -> None:
        # (part, counted into its stage, runs on a frame with nothing rendered), read once
        self._steps = [
            (p, getattr(p, "counted", True), getattr(p, "every_frame", False)) for p in parts
        ]

    @property
    def names(self) -> list[str]:
        """The parts' names, in the order they run."""
        return [part.name for part in self.parts]

    def part(self, name: str) -> Part:
        """The part called `name` (KeyError naming the valid ones when there is none)."""
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(f"no chain part '{name}'; the parts: {', '.join(self.names)}")

    def reset(self) -> None:
        for part in self.parts:
            part.reset()

    def run(self, state: FrameState, *, rendered: bool = True) -> FrameState:
        """Apply the parts (only the `every_frame` ones when nothing was rendered) until one
        sets `state.stop`."""
        for part, counted, every_frame in self._steps:
            if not rendered and not every_frame:
                continue
            lap = laps(part.stage)
            start = time.perf_counter_ns()
            state = part.apply(state)
            if counted:
                state.add_ms(part.stage, (time.perf_counter_ns() - start) / 1e6)
            lap(part.name)
            if state.stop:
                break
        return state
