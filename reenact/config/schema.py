"""The configuration: nested frozen dataclasses, one definition per field.

YAML presets in `configs/` hold the data of these classes and nothing else; `reenact.config.load`
reads them, applies `--set section.key=value` overrides and validates every key and type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from reenact.errors import ConfigError
from reenact.config.fields import (  # noqa: F401 (TARGET_NEUTRALS is re-exported)
    TARGET_NEUTRALS,
    AtLeastOne,
    BlendWeight,
    Count,
    CropSide,
    Degrees,
    Intensity,
    NonNegative,
    Positive,
    TargetNeutral,
    Unit,
    parse_colour,
)
from reenact.config.jobs import PixelRRConfig
from reenact.config.parts import (
    CalibrationConfig,
    ComposeConfig,
    EyesConfig,
    HeadConfig,
    HotkeysConfig,
    PanelConfig,
)
from reenact.config.ranges import Range
from reenact.config.sections import AddedSections


@dataclass(frozen=True)
class StreamConfig:
    """The live loop: the target, pacing, face-loss behaviour and the expression's strength."""

    target: str = ""  # target portrait or video; "" = the built-in astronaut portrait
    target_frame: Count = 0  # with target_end=still: the frame of a target video used as the target
    # a target video plays and at its end "loop"s or "hold"s; "still" uses one frame
    # (target_frame) of it as a still target
    target_end: Literal["loop", "hold", "still"] = "loop"
    target_max_frames: AtLeastOne = 300  # a target video is pre-tracked up to this many frames
    # a folder of avatars, switchable live (empty: the targets folder of `reenact paths`)
    targets_dir: str = ""
    crossfade_s: NonNegative = 0.3  # cross-fade between targets
    intensity: Intensity = 1.0  # 0 = target's neutral, 1 = as performed, up to 1.5 exaggerated
    hold_s: NonNegative = 0.5  # face lost: hold the last good output this long...
    fade_s: NonNegative = 1.0  # ...then fade to the target's neutral over this long
    max_frames: Count = 0  # stop after N frames (0 = until the source ends / Ctrl-C)
    duration_s: NonNegative = 0.0  # stop after this many seconds (0 = no limit)
    show_stats: bool = False  # draw per-stage timing on the preview (key t toggles it)
    # a larger target frame is scaled down to this longer side
    max_output_side: Annotated[int, Range(128, 16384)] = 1280
    # where a run's resolved config and timings go when its output is no file (empty: the logs
    # folder of `reenact paths`); a file sink's go beside its file
    output_dir: str = ""
    # track frame N+1 while frame N renders: a live source's on its capture thread, a file's on a
    # read-ahead thread (every frame, in order, the same output). "auto": on for a renderer that
    # does not render ahead (the warp; the generator on CUDA) on 2+ cores, where the overlap
    # raises the rate; off for the CPU generator, which renders ahead, because there the two
    # fight for the cores (docs/PERFORMANCE.md). true / false force it
    track_ahead: Literal["auto"] | bool = "auto"
    # run the generator's network for frame N on a worker thread while the main thread tracks,
    # fuses and composites around it (reenact.pipeline.render_ahead): the two halves share the
    # cores instead of taking turns. "auto": on for a renderer that splits (the generator on the
    # CPU) on 2+ cores; "on" / "off" force it (renderer.threads is unchanged)
    render_ahead: Literal["auto", "on", "off"] = "auto"


@dataclass(frozen=True)
class TrackerConfig:
    """MediaPipe face mesh (478 points with iris) and the aligned crop."""

    # faces MediaPipe looks for; 0 = auto: 1 when tracking video with face_index -1 (the live
    # loop: once a face is tracked the detector stops running), else 4 (still images, where a
    # target with several faces must be seen, and face_index >= 0, which orders every face)
    max_faces: Annotated[int, Range(0, 64)] = 0
    # which face when several: -1 = largest, else by left-to-right order
    face_index: Annotated[int, Range(-1)] = -1
    multiple_faces: Literal["largest", "error"] = (
        "largest"  # for a target image with several faces: "largest" or "error"
    )
    min_detection_confidence: Unit = 0.5  # a face the detector scores lower is not found
    min_tracking_confidence: Unit = 0.5  # video: a tracked face scored lower is detected again
    min_face_px: AtLeastOne = 64  # a target face narrower than this (eye to eye x 2.5) ...
    small_face: Literal["error", "upscale"] = "error"  # ... is an "error" or is "upscale"d
    max_image_side: Annotated[int, Range(64)] = 2048  # larger target images are resized down first
    max_yaw_deg: Degrees = 45.0  # beyond this head turn, the frame counts as face lost


@dataclass(frozen=True)
class FusionGains:
    """Per-region gains on the fused expression (0 = the target's neutral there, 1 = as fused,
    2 = twice), applied after fusion; changeable live (control actions, the panel)."""

    eyes: float = 1.0  # the lids' gain, 0 .. 2
    brows: float = 1.0  # the brows' gain, 0 .. 2
    mouth: float = 1.0  # the lips' gain, 0 .. 2
    jaw: float = 1.0  # the jaw's gain, 0 .. 2

    def __post_init__(self) -> None:
        for name in ("eyes", "brows", "mouth", "jaw"):
            value = getattr(self, name)
            if not 0.0 <= value <= 2.0:
                raise ConfigError(f"fusion.gains.{name}: {value} is outside 0 .. 2")

    def as_dict(self) -> dict[str, float]:
        return {"eyes": self.eyes, "brows": self.brows, "mouth": self.mouth, "jaw": self.jaw}


@dataclass(frozen=True)
class FusionConfig:
    """Phi, the landmark-fusion autoencoder: J_gen = L_t + Phi(L_s, L_t)."""

    # "network" (default: Phi from fusion.weights, else the shipped
    # reenact/models/fusion.safetensors), "training_free" (the actor's deviation resized per
    # region, no weights) or "auto" (the network when weights exist). The shipped Phi is an
    # expression-code autoencoder (reenact.fusion.coded): it keeps the whole expression, and its
    # landmark error on held-out people is below the transfer's (reenact/models/MODEL_CARD.md,
    # "Phi").
    kind: Literal["auto", "network", "training_free"] = "network"
    weights: str = ""  # safetensors path; "" = the shipped default if present
    hidden: AtLeastOne = 512  # Phi's hidden-layer width when trained (saved weights keep theirs)
    code: AtLeastOne = 128  # the size of each encoder's code in Phi, likewise
    gains: FusionGains = field(default_factory=FusionGains)
    # the target's neutral L_t: "estimated" takes out the expression a still target picture
    # already wears (an open mouth, a grin; reenact.fusion.target_neutral), so that the actor's
    # neutral face gives the target's neutral; "picture" uses its landmarks as they are
    # (live: the panel and POST /settings)
    target_neutral: TargetNeutral = "estimated"


@dataclass(frozen=True)
class RendererBoost:
    """The drawn expression boost (`reenact.render.boost`): a smile's widening and a brow's raise
    drawn this much larger than J_gen says, because a renderer that moves the target's pixels
    draws their shape but not the folds and shading a real face shows with them, so the drawn
    expression reads smaller than the real one (1 = draw J_gen as fused)."""

    mouth_width: Annotated[float, Range(1.0, 2.0)] = 1.15  # a smile's widening
    # the warp, which shades nothing, draws 1.6 x this one's extra (1.4 at 1.25; boost.WARP_BROWS)
    brows: Annotated[float, Range(1.0, 2.0)] = 1.25
    lift: Annotated[float, Range(1.0, 2.0)] = 1.15  # the mouth corners' rise (a smile's lift)


@dataclass(frozen=True)
class RendererConfig:
    """Omega, the U-net generator, or the training-free warp."""

    # auto: generator if weights exist; pixel-rr: a fixed expression (pixel_rr.expression)
    kind: Literal["auto", "generator", "warp", "pixel-rr"] = "auto"
    size: CropSide = 256  # aligned crop side: 256 or 512
    weights: str = ""  # safetensors path; "" = the shipped default if present
    # "auto": "cuda" with an NVIDIA GPU, else "onnx" (ONNX Runtime) when installed, else "torch"
    backend: Literal["auto", "torch", "onnx", "cuda"] = "auto"
    ngf: AtLeastOne = 64  # generator width; 64 = the paper, 16 or 32 = lite
    variant: Literal["paper", "warp_guided", "attention"] = "paper"  # attention: (1-M) C + M P_t
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"  # CUDA only
    cuda_graph: bool = True  # CUDA: replay the frame's stages as captured CUDA graphs
    threads: Count = 0  # CPU threads for torch / ONNX Runtime (0 = all cores)
    onnx_path: str = ""  # exported ONNX model; "" = exported on first use into the cache
    # ONNX Runtime on the CPU: "int8" runs the statically quantised model that `reenact quantize`
    # writes beside the ONNX cache (calibrated on real clips), else the one shipped with the
    # shipped generator (an error when there is neither), "off" fp32, "auto" the INT8 model when
    # there is one for these weights, else fp32; the learned corrections' networks run their
    # shipped INT8 models unless "off"
    quantize: Literal["auto", "off", "int8"] = "auto"
    # the warp-guided generator's eyes: "warp" pastes the warp's eyes (gaze, lids and blinks as
    # its painters draw them, from J_gen) over the network's; "network" keeps the network's own;
    # "auto": "warp" for the shipped generator; for a personal avatar on its own picture, its
    # person's eyes from the frames of its video it keeps (reenact.render.face_bank), else the
    # network's
    eyes: Literal["auto", "warp", "network"] = "auto"
    # and its opened mouth: "warp" pastes the cavity and teeth the warp's mouth filler paints
    # (where the mouth is open beyond the target's) over the network's; "network" keeps its own;
    # "auto": "warp", or for an avatar its person's own mouths as for the eyes ("network" saves
    # the 2 ms a frame each part costs)
    mouth: Literal["auto", "warp", "network"] = "auto"
    # what draws the warp's corrections: "painted" (the painters of docs/CORRECTIONS.md) or
    # "learned" (the lips and eyes drawn by small networks from the target's own at rest, an
    # opened mouth's cavity and teeth still painted: reenact.render.learned_mouth and
    # learned_eyes; issue 88), for the warp and the warp-guided generator on the CPU (the
    # generator pastes them as it pastes the painted mouth); on CUDA the painters stay
    corrections: Literal["painted", "learned"] = "painted"
    # the warp-guided generator's broad colours kept on the warp's (the target's own, where the
    # face is now): a low-frequency gain over this scale (px at 256, reenact.render.anchor),
    # in place of the compositor's colour match, which a turned head fools into a white glow;
    # 0 = off (the compositor's match, as before)
    anchor_px: NonNegative = 32.0
    # the warp-guided generator's colour at each pixel (its chroma; reenact.render.anchor):
    # "warp" the target's own where the face is now, under the network's brightness (its shading,
    # teeth, lids and creases); "network" the network's own (it draws real changes of colour:
    # lips that stretch, the light); "auto": "warp" for a picture with no colour (a black-and-white
    # photo or drawing, which the network would tint), else "network"; a personal avatar keeps
    # its own unless "warp" is set
    chroma: Literal["auto", "warp", "network"] = "auto"
    boost: RendererBoost = field(default_factory=RendererBoost)


@dataclass(frozen=True)
class SmoothingConfig:
    """The actor's landmarks smoothed (`reenact.landmarks.smoothing.LandmarkSmoother`: a One Euro
    filter whose cut-off also opens with the face's own moves), and optional temporal blending
    of the crop. Opening the cut-off with each part's own move lets a low cut-off hold the face
    still at rest without delaying an expression."""

    enabled: bool = True  # false: the actor's landmarks as tracked
    min_cutoff: Positive = 0.5  # Hz: lower = less jitter when still
    beta: NonNegative = (
        0.1  # higher = less lag when moving (per pixel of a 256 crop; scaled at 512)
    )
    d_cutoff: Positive = 1.0  # Hz: the cut-off of the speed that beta reads
    # Hz added to a part's points' cut-off per pixel a second (256 crop) of that part's own move
    # (the lips' gap and span, a lid gap, a brow's height, an iris's place); 0 = the plain filter
    expression_beta: NonNegative = 0.6
    # the same for the head's turn and nod (the nose tip against the eyes' corners), every point
    head_beta: NonNegative = 0.35
    crop_blend: BlendWeight = 0.0  # 0 = off; else weight of the previous rendered crop


@dataclass(frozen=True)
class SourceConfig:
    """Where frames come from: a plugin from the `reenact.sources` entry-point group.

    Every other key of this section belongs to the chosen plugin and is defined by its `Options`
    (`reenact plugins` lists them): e.g. `source.path`, `source.loop`, `source.width`,
    `source.height`, `source.fps`, `source.on_decode_error`, `source.realtime`.
    """

    kind: str = "webcam"  # "webcam", "video", "image" or an installed plugin
    reconnect_s: NonNegative = 1.0  # a live source that fails (camera unplugged): retry this often
    # flip every frame left-right at the source, as a mirror shows you (live on the panel too)
    mirror: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # the plugin's own keys


@dataclass(frozen=True)
class SinkConfig:
    """Where frames go: a plugin from the `reenact.sinks` entry-point group.

    Every other key of this section belongs to the chosen plugin and is defined by its `Options`:
    e.g. `sink.path`, `sink.crf`, `sink.codec` (file), `sink.url`, `sink.bitrate_kbps` (stream),
    `sink.device`, `sink.backend` (virtualcam), `sink.title` (window).
    """

    kind: str = "file"  # "virtualcam", "file", "stream", "window", "null" or an installed plugin
    fps: NonNegative = 0.0  # 0 = the source's rate
    options: dict[str, Any] = field(default_factory=dict)  # the plugin's own keys


@dataclass(frozen=True)
class PresetsConfig:
    """Expression presets (smile, surprise, ...) fired on keys 1-6 or by the control interface."""

    # presets on the preview's number keys 1, 2, ... (shipped: smile surprise wink pout angry sad)
    keys: tuple[str, ...] = ("smile", "surprise", "wink", "pout", "angry", "sad")
    blend_s: float = 0.15  # a preset blends in (and out on release) over this many seconds
    mode: Literal["add", "replace"] = (
        "add"  # add to the live expression, or replace it (in the mask)
    )
    # the user's presets (`reenact preset record`; empty: the presets folder of `reenact paths`);
    # shipped ones too
    folder: str = ""
    # "" = off; "shipped" or a folder of pixel-rr safetensors: also blend the rendered crop with
    # the pixel-regression model of the preset's class (reenact train pixel-rr)
    pixel_rr: str = ""


@dataclass(frozen=True)
class Config(AddedSections):
    """Every section of the configuration."""

    stream: StreamConfig = field(default_factory=StreamConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    eyes: EyesConfig = field(default_factory=EyesConfig)
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)
    hotkeys: HotkeysConfig = field(default_factory=HotkeysConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    sink: SinkConfig = field(default_factory=SinkConfig)
    presets: PresetsConfig = field(default_factory=PresetsConfig)
    pixel_rr: PixelRRConfig = field(default_factory=PixelRRConfig)
    # the sections that installed distributions add (the lab's train, eval) which the config
    # names, each built by its own class (reenact.config.sections); not a key itself
    added_sections: dict[str, Any] = field(default_factory=dict, metadata={"key": False})
