"""The configuration: nested frozen dataclasses, one definition per field.

YAML presets in `configs/` hold the data of these classes and nothing else; `reenact.config.load`
reads them, applies `--set section.key=value` overrides and validates every key and type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class StreamConfig:
    """The live loop: pacing, face-loss behaviour and the expression's strength."""

    target: str = ""  # target portrait or video; "" = the built-in astronaut portrait
    target_frame: int = 0  # with target_end=still: the frame of a target video used as the target
    target_end: Literal["loop", "hold", "still"] = "loop"  # a target video plays and at its end "loop"s or "hold"s; "still"
    # uses one frame (target_frame) of it as a still target
    target_max_frames: int = 300  # a target video is pre-tracked up to this many frames
    targets_dir: str = ""  # a folder of avatars, switchable live
    crossfade_s: float = 0.3  # cross-fade between targets
    intensity: float = 1.0  # 0 = target's neutral, 1 = as performed, up to 1.5 exaggerated
    neutral_frames: int = 10  # the actor's neutral = per-point median of the first N frames
    neutral_path: str = ""  # optional .npz of saved actor neutral landmarks
    hold_s: float = 0.5  # face lost: hold the last good output this long...
    fade_s: float = 1.0  # ...then fade to the target's neutral over this long
    max_frames: int = 0  # stop after N frames (0 = until the source ends / Ctrl-C)
    duration_s: float = 0.0  # stop after this many seconds (0 = no limit)
    show_stats: bool = True  # draw per-stage timing on the preview
    control_port: int = 0  # local control interface on 127.0.0.1 (0 = off)
    control_token: str = ""  # token the control interface requires ("" = generated)
    max_output_side: int = 1280  # a larger target frame is scaled down to this longer side
    output_dir: str = "out"  # where run logs and the resolved config go
    # live sources: track frame N+1 on the capture thread while frame N renders. It pays where
    # cores are spare (the generator on a GPU, or 4+ cores); on a 2-core CPU the two stages fight
    # for the cores: 19.7 vs 20.7 fps, 89 vs 66 ms capture->sink (docs/PERFORMANCE.md). Off by
    # default: every stage on the main thread.
    track_ahead: bool = False
    # composite (crop -> frame): "multiband" blends the rendered face into the target band by band
    # (Laplacian pyramid: no seam, no halo; ~1 ms at 256 on an idle core); "feather" alpha-blends
    # it over a feathered mask only; "auto": multiband for a renderer that repaints the face (the
    # generator), feather for the warp (it moves the target's own pixels: ~1 ms less a frame)
    blend: Literal["auto", "multiband", "feather"] = "multiband"
    # a generator's colour shift is matched to the target's: "lowfreq" (a smooth gain over the
    # face, from the mask's edge ring) or "stats" (per-channel mean/std in that ring)
    colour_match: Literal["lowfreq", "stats"] = "lowfreq"


@dataclass(frozen=True)
class TrackerConfig:
    """MediaPipe face mesh (478 points with iris) and the aligned crop."""

    max_faces: int = 4
    face_index: int = -1  # which face when several: -1 = largest, else by left-to-right order
    multiple_faces: Literal["largest", "error"] = "largest"  # for a target image with several faces: "largest" or "error"
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    min_face_px: int = 64  # a target face narrower than this (eye to eye x 2.5) ...
    small_face: Literal["error", "upscale"] = "error"  # ... is an "error" or is "upscale"d
    max_image_side: int = 2048  # larger target images are resized down first
    max_yaw_deg: float = 45.0  # beyond this head turn, the frame counts as face lost


@dataclass(frozen=True)
class FusionConfig:
    """Phi, the landmark-fusion autoencoder: J_gen = L_t + Phi(L_s, L_t)."""

    # "training_free" (default), "network" (Phi: fusion.weights, else the shipped
    # reenact/models/fusion.safetensors) or "auto" (the network when weights exist). The shipped
    # Phi beats the training-free transfer on the held-out cross-identity pairs (landmark error
    # 0.028 vs 0.033) but carries less of the expression (e.g. the demo's scripted track, same
    # identity): see reenact/models/MODEL_CARD.md. So the default stays training-free.
    kind: Literal["auto", "network", "training_free"] = "training_free"
    weights: str = ""  # safetensors path; "" = the shipped default if present
    hidden: int = 512
    code: int = 128


@dataclass(frozen=True)
class RendererConfig:
    """Omega, the U-net generator, or the training-free warp."""

    kind: Literal["auto", "generator", "warp"] = "auto"  # auto: generator if weights exist
    size: int = 256  # aligned crop side: 256 or 512
    weights: str = ""  # safetensors path; "" = the shipped default if present
    backend: Literal["auto", "torch", "onnx", "cuda"] = "auto"
    ngf: int = 64  # generator width; 64 = the paper, 16 or 32 = lite
    variant: Literal["paper", "warp_guided", "attention"] = "paper"  # attention: (1-M) C + M P_t
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"  # CUDA only
    cuda_graph: bool = True  # CUDA: replay the frame's stages as captured CUDA graphs
    threads: int = 0  # CPU threads for torch / ONNX Runtime (0 = all cores)
    onnx_path: str = ""  # exported ONNX model; "" = exported on first use into the cache


@dataclass(frozen=True)
class SmoothingConfig:
    """One Euro filter on the landmarks, and optional temporal blending of the crop."""

    enabled: bool = True
    min_cutoff: float = 1.5  # Hz: lower = less jitter when still
    beta: float = 0.3  # higher = less lag when moving (per pixel of a 256 crop; scaled at 512)
    d_cutoff: float = 1.0
    crop_blend: float = 0.0  # 0 = off; else weight of the previous rendered crop


@dataclass(frozen=True)
class SourceConfig:
    """Where frames come from: a plugin from the `reenact.sources` entry-point group.

    Every other key of this section belongs to the chosen plugin and is defined by its `Options`
    (`reenact plugins` lists them): e.g. `source.path`, `source.loop`, `source.width`,
    `source.height`, `source.fps`, `source.on_decode_error`, `source.realtime`.
    """

    kind: str = "webcam"  # "webcam", "video", "image" or an installed plugin
    reconnect_s: float = 1.0  # a live source that fails (camera unplugged): retry this often
    options: dict[str, Any] = field(default_factory=dict)  # the plugin's own keys


@dataclass(frozen=True)
class SinkConfig:
    """Where frames go: a plugin from the `reenact.sinks` entry-point group.

    Every other key of this section belongs to the chosen plugin and is defined by its `Options`:
    e.g. `sink.path`, `sink.crf`, `sink.codec` (file), `sink.url`, `sink.bitrate_kbps` (stream),
    `sink.device`, `sink.backend` (virtualcam), `sink.title` (window).
    """

    kind: str = "file"  # "virtualcam", "file", "stream", "window", "null" or an installed plugin
    fps: float = 0.0  # 0 = the source's rate
    options: dict[str, Any] = field(default_factory=dict)  # the plugin's own keys


@dataclass(frozen=True)
class TrainConfig:
    """Training either module; see `reenact train fusion|generator`."""

    data: tuple[str, ...] = ()  # clip files, image folders or prepared caches
    cache: str = "cache/prepared"
    val_holdout: tuple[str, ...] = ()  # identities (clip stems) kept out for validation
    out_dir: str = "runs/train"
    steps: int = 2000
    batch_size: int = 8
    lr_g: float = 2e-4
    lr_d: float = 1e-4
    lr_fusion: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_adv: float = 0.1  # fusion: adversarial
    lambda_cycle: float = 10.0  # fusion: cycle
    lambda_l1_fusion: float = 100.0  # fusion: L1 against the real target-with-expression
    mu_gan: float = 1.0  # generator: cGAN
    mu_l1: float = 100.0  # generator: pixel L1
    flip: bool = True  # left-right flips, as in the paper
    seed: int = 0
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA
    channels_last: bool = True  # on CUDA
    num_workers: int = 0
    log_every: int = 20
    image_every: int = 200
    ckpt_every: int = 500
    val_every: int = 500
    resume: str = ""  # a checkpoint to resume from: a checkpoint folder, or "latest" in out_dir
    cache_format: Literal["mp4", "npz"] = "mp4"  # `reenact prepare`: crops as "mp4" (H.264) or "npz" (numpy only)
    cache_crf: int = 17  # H.264 quality of the mp4 crops (lower = better)
    max_frames: int = 0  # `reenact prepare`: frames per clip (0 = all)
    frame_stride: int = 1  # `reenact prepare`: keep every n-th frame of a clip
    val_fraction: float = 0.2  # identities held out when val_holdout is empty (at least one)
    val_frames: int = 8  # ground-truth frames per held-out clip or identity in validation
    reference_frames: int = 0  # Omega's appearance frames per clip: 0 = any, 1 = the neutral,
    # k = the neutral + k-1 evenly spaced (warp_guided needs k >= 1: a warp per reference)
    ndf: int = 0  # PatchGAN width (0 = renderer.ngf)
    disc_condition: Literal["target", "input"] = "target"  # D sees (P_t, image) "target", or the whole G "input" too
    attention_weight: float = 0.1  # warp_guided: L2 penalty on the attention mask
    attention_tv: float = 0.0  # warp_guided: smoothness (TV) penalty on the attention mask
    fusion_mix: tuple[float, ...] = (0.5, 0.3, 0.2)  # Phi pairs: cross-identity, same, unpaired
    fusion_disc_hidden: int = 0  # D_J width (0 = fusion.hidden)
    progress: bool = True  # tqdm progress bars (rank 0)
    device: Literal["auto", "cuda", "cpu"] = "auto"  # auto: CUDA when present
    # one person in several entries: "NAME: entry entry ..." (reenact.train.identities)
    identities: tuple[str, ...] = ()
    far_pairs: float = 0.0  # Omega: P_t drawn by expression distance to I_o (else uniformly)
    cross_clip_pairs: float = 0.0  # Omega: P_t from another clip of the same person
    augment_colour: float = 0.0  # Omega: colour jitter strength (gain, offset, saturation)
    augment_scale: float = 0.0  # Omega: zoom / shift jitter (x 1, x S/2)
    disc_scales: int = 1  # Omega's D: 1 = the paper's PatchGAN, 2 = pix2pixHD's two scales
    lambda_fm: float = 0.0  # Omega: D feature matching weight (pix2pixHD: 10; 0 = off)
    mu_local: float = 0.0  # Omega: local eye / mouth PatchGAN weight (LGP-GAN; 0 = off)
    init_generator: str = ""  # Omega starts from these weights (e.g. joined shards of a GPU run)


@dataclass(frozen=True)
class EvalConfig:
    """`reenact eval`: self- and cross-reenactment, temporal measures, one report."""

    clips: tuple[str, ...] = ()
    portraits: tuple[str, ...] = ()
    generators: tuple[str, ...] = ()  # extra generator weights to compare
    out_dir: str = "out/eval"
    reference_frame: int = 0  # self-reenactment: the clip frame used as the target
    max_frames: int = 120  # frames read from each clip (0 = all)
    still_frames: int = 15  # length of the stillest stretch used for jitter
    identity_stride: int = 5  # cross: a face descriptor every n-th output frame (~0.15 s each)
    strip_frames: int = 4  # rows of sample frames in each strip PNG
    progress: bool = True  # tqdm progress bars
    stills: str = ""  # `--stills DIR`: run the posed-expression protocol on DIR instead of clips
    # subjects the posed-expression protocol scores (NN of NN_<condition>.png); keep them out of
    # training (configs/train_fusion.yaml val_holdout: expressions_14, expressions_15)
    stills_subjects: tuple[str, ...] = ("14", "15")


@dataclass(frozen=True)
class Config:
    """Every section of the configuration."""

    stream: StreamConfig = field(default_factory=StreamConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    sink: SinkConfig = field(default_factory=SinkConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
