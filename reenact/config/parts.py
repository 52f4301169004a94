"""The sections of the frame's parts: each is read by the part its docstring names.

Their keys were `stream`'s; the old keys still load through 0.1.x, each with a warning naming
its new key (`reenact.config.renamed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from reenact.config.fields import AtLeastOne, Count, Degrees, Positive, Unit, parse_colour
from reenact.config.ranges import CREASES, GAZE_GAIN, GAZE_VERTICAL, TURN_GAIN, Range


@dataclass(frozen=True)
class CalibrationConfig:
    """The actor's neutral face and rests, learnt at the start (`reenact.landmarks.neutral`,
    `reenact.fusion.rest`) and again after a loss."""

    neutral_frames: AtLeastOne = (
        10  # the actor's neutral = per-point median of the N least expressive
    )
    neutral_window: AtLeastOne = 45  # ... of the first this many frames (1.5 s at 30 fps; >= N)
    neutral_path: str = ""  # optional .npz of saved actor neutral landmarks
    # a face back after the output has faded to the target's neutral (lost longer than stream.hold_s
    # + stream.fade_s) is calibrated again, head pose included, so the next shot of an edited video, or
    # you back at your desk, is not read against the last one's neutral. Never with a neutral
    # given (calibration.neutral_path); false keeps the first calibration for the whole session
    recalibrate_after_loss: bool = True
    # the actor's resting brows are learnt over their first this many frames (the window's
    # median, where it is more than 5 % of the brows' height off the calibrated neutral's) and
    # then held: brows up while it calibrates otherwise leave the target frowning for the whole
    # session (reenact.fusion.brows); 0 = the calibrated neutral's brows throughout. Not used
    # with a neutral given (calibration.neutral_path)
    brow_adapt_frames: Count = 300
    # the actor's closed mouth is learnt over their first this many frames (the median of the
    # three least open, where the calibrated neutral's lips are more than 0.03 inter-ocular
    # distances further apart) and then held: someone who talks straight through the
    # calibration otherwise has the target's lips pressed shut while they talk
    # (reenact.fusion.mouth_rest); 0 = the calibrated neutral's mouth throughout. Not used with a
    # neutral given (calibration.neutral_path)
    mouth_adapt_frames: Count = 300


@dataclass(frozen=True)
class HeadConfig:
    """The output head following the actor's, read by `reenact.pipeline.head_motion`."""

    # the output head follows the actor's, relative to the calibrated neutral: "off", "rotate"
    # (roll, nod and turn) or "full" (also shift and scale); bounded and smoothed. "full" is the
    # default because the output then matches the actor best. "off" keeps the face still too:
    # the actor's pose is taken out of the expression in every mode
    motion: Literal["off", "rotate", "full"] = "full"
    max_deg: Degrees = 18.0  # nod (pitch) and turn (yaw) limit; the face turns in 2-D
    # the actor's nod and turn are multiplied by these before the limit above (so the face never
    # turns further than the limit): a 2-D turn of the target's face shows only part of the
    # angle, but larger gains cost gaze and expression accuracy, so the default stays 1
    pitch_gain: Annotated[float, TURN_GAIN] = 1.0
    yaw_gain: Annotated[float, TURN_GAIN] = 1.0  # the turn's gain; the nod's is above
    # the face mesh reads an opening jaw as the head tilting back (each face by its own amount
    # and sign): the actor's share is learnt and taken out of the nod
    # (reenact.pipeline.jaw_pitch.JawPitch), so the head does not bob on every syllable;
    # false leaves the pitch as tracked
    jaw_decouple: bool = True
    max_roll_deg: Degrees = 20.0  # roll limit


@dataclass(frozen=True)
class EyesConfig:
    """The eyes: the gaze drawn and the lids, read by `reenact.fusion.eyes`; changeable live."""

    gaze: bool = True  # the output's irises follow the actor's gaze
    # the actor's iris offset is multiplied by this before it is drawn: a rendered iris shows
    # only part of the offset asked, and 1.5 carries more of it for a small cost in blink
    # accuracy (still within the eye transfer's limit)
    gaze_gain: Annotated[float, GAZE_GAIN] = 1.5
    # the vertical offset is multiplied by this as well: the lids hide much of an up or down
    # look, so a drawn iris shows less of a vertical move than of a horizontal one; with
    # eyes.lid_follow the larger gain carries more gaze without costing blinks
    gaze_vertical: Annotated[float, GAZE_VERTICAL] = 1.5
    # both lids move up or down by this share of the iris's vertical move (the lids ride with
    # the eyeball; the gap stays what the actor's openness says): a look up no longer pushes the
    # iris under a still upper lid on a narrow-eyed target
    lid_follow: Unit = 0.6
    # the actor's openness is read against their typical open eye, taken over their first this
    # many frames (about 10 s at 30 fps) and then held, where it is more than 15 % off the
    # calibrated neutral's: a neutral calibrated while laughing or squinting otherwise has the
    # target stare wide-eyed for the whole session (reenact.fusion.eyes); 0 = the calibrated
    # neutral's lid gap throughout
    adapt_frames: Count = 300
    # the target's two eyes open and close together (the better-read eye counting more), except
    # in a wink: the tracker reads a side-on or half-lidded eye far smaller than its twin, and
    # on its own that eye stared and winked by turns (reenact.fusion.eyes); false = each eye
    # follows its own reading
    linked: bool = True


@dataclass(frozen=True)
class ComposeConfig:
    """Putting the rendered crop back into the frame (the compose chain, `reenact.pipeline.compose`)."""

    # the output's background: "picture" as it is; "transparent" keeps the avatar (the target's
    # own alpha, else the person) and clears the rest: RGBA to a sink that takes alpha, the
    # colour below to any other; "colour" replaces the background with that colour everywhere
    background: Literal["picture", "transparent", "colour"] = "picture"
    background_colour: str = "#00ff00"  # a chroma key: #rrggbb or a name (green, magenta)
    # composite (crop -> frame): "multiband" blends the rendered face into the target band by band
    # (Laplacian pyramid: no seam, no halo); "feather" alpha-blends it over a feathered mask only
    # (cheaper); "auto": multiband where the compositor matches colours (a generator with
    # renderer.anchor_px=0), feather elsewhere
    blend: Literal["auto", "multiband", "feather"] = "multiband"
    # with renderer.anchor_px=0, a generator's colour shift is matched to the target's: "lowfreq"
    # (a smooth gain over the face, from the mask's edge ring) or "stats" (mean/std in that ring)
    colour_match: Literal["lowfreq", "stats"] = "lowfreq"
    # put back the target picture's fine detail that the crop does not hold (pores, lashes,
    # grain), moved with the face (reenact.pipeline.detail)
    detail: bool = True
    # the actor's own expression lines (a raised brow's forehead folds, a frown, a smile's folds
    # beside the nose) carried onto the rendered face (reenact.pipeline.creases): how much of
    # them, 0 = none, 1 = as deep as the actor's, up to 2. Off by default: it is kept off hair,
    # glasses and the face's outline, but `reenact eval` shows no clear gain from it
    creases: Annotated[float, CREASES] = 0.0

    def __post_init__(self) -> None:
        parse_colour(self.background_colour)  # one line naming the key, at load


@dataclass(frozen=True)
class PanelConfig:
    """The browser panel and control API (`reenact.stream.control_server`), and its uploads."""

    # the browser panel and control API (GET /status, POST /action/<name>, POST /settings) on
    # 127.0.0.1, served by `reenact live` and by `run` on a live-paced source
    enabled: bool = True
    # its port on 127.0.0.1 (0 = any free port); a taken port is refused, never moved
    port: Annotated[int, Range(0, 65535)] = 8765
    # when another program holds it: "refuse" to start (one line), or "move" to a free port
    # and print the new (changed!) OBS link loudly
    port_taken: Literal["refuse", "move"] = "refuse"
    # its token: the environment variable REENACT_CONTROL_TOKEN, else this file's first line,
    # else panel.token (visible in `ps`; never written to the resolved config), else the one
    # reenact made once and keeps in <user config folder>/control_token (mode 0600);
    # at least 16 characters wherever it comes from
    token_file: str = ""
    token: str = ""  # the token itself, where no variable or file gives one (see above)
    upload_max_mb: Positive = 20.0  # a target dropped on the panel: at most this many megabytes...
    upload_max_megapixels: Positive = (
        40.0  # ...and this many pixels (header checked before decoding)
    )
    # the panel's gallery holds at most this many targets (each keeps its prepared frames in
    # memory); an upload past it is refused (409)
    gallery_max_targets: AtLeastOne = 24
    # the panel's previews (output and camera side by side, one image): their rate, and their
    # height in pixels on the page (what the server encodes: a browser's cost grows with both);
    # the page's own rate menu overrides the rate; the OBS output page follows the output's rate
    preview_fps: Positive = 5.0
    preview_height: Annotated[int, Range(120, 1080)] = 320  # the previews' height (see above)


@dataclass(frozen=True)
class HotkeysConfig:
    """Global hotkeys (`reenact.stream.hotkeys`)."""

    # global hotkeys (the extra reenact[hotkeys], pynput): act while another window has focus.
    # Off by default: Linux needs an X session (not Wayland), macOS the Accessibility permission
    enabled: bool = False
    # "keys=action": a preset (preset_N, preset:NAME) is on while its keys are held, any other
    # action (pause, next_target, ...) fires once per press
    keys: tuple[str, ...] = (
        *(f"ctrl+alt+{i}=preset_{i}" for i in range(1, 7)),
        "ctrl+alt+p=pause",
        "ctrl+alt+c=recalibrate",
        "ctrl+alt+n=next_target",
        "ctrl+alt+b=previous_target",
    )
