"""The lab's sections of the configuration: `train` (`reenact prepare`, `reenact train`) and
`eval` (`reenact eval`).

They join the user config through the `reenact.config_sections` entry points of this
distribution (`reenact.config.sections`): a preset's `train:` and `eval:` are checked by these
classes at load, as every other section, and read as `config.train` / `config.eval`. A runtime
without the lab reads such a preset and leaves them out, with one warning line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from reenact.config.fields import AtLeastOne, Count, NonNegative, Positive, Unit
from reenact.config.ranges import NON_NEGATIVE, Range

Crf = Annotated[int, Range(0, 63)]  # x264/x265 use 0..51, VP9/AV1 0..63
Weights = Annotated[tuple[float, ...], NON_NEGATIVE]  # mixing shares, each >= 0


@dataclass(frozen=True)
class TrainConfig:
    """Training either module; see `reenact train fusion|generator`."""

    data: tuple[str, ...] = ()  # clip files, image folders or prepared caches
    cache: str = "cache/prepared"  # the folder `reenact prepare` writes its crops to
    val_holdout: tuple[str, ...] = ()  # identities (clip stems) kept out for validation
    out_dir: str = "runs/train"  # a run's checkpoints, logs, images and final weights
    steps: Count = 2000  # optimiser steps of the run
    max_minutes: NonNegative = 0.0  # stop after this long (0 = no limit) and finish as at `steps`
    batch_size: AtLeastOne = 8  # samples a step
    lr_g: Positive = 2e-4  # Adam learning rate of Omega (the generator)
    lr_d: Positive = 1e-4  # ... of Omega's discriminator
    lr_fusion: Positive = 2e-4  # ... of Phi and its discriminator
    beta1: Annotated[float, Range(0, 1, high_open=True)] = 0.5  # Adam's beta1, every optimiser
    beta2: Annotated[float, Range(0, 1, high_open=True)] = 0.999  # Adam's beta2, likewise
    lambda_adv: NonNegative = 0.1  # fusion: adversarial
    lambda_cycle: NonNegative = 10.0  # fusion: cycle
    lambda_l1_fusion: NonNegative = 100.0  # fusion: L1 against the real target-with-expression
    mu_gan: NonNegative = 1.0  # generator: cGAN
    mu_l1: NonNegative = 100.0  # generator: pixel L1
    flip: bool = True  # left-right flips, as in the paper
    seed: int = 0  # step s draws its samples from (seed, s): a resumed run repeats exactly
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA
    channels_last: bool = True  # on CUDA
    num_workers: Count = 0  # data-loading worker processes (0 = in the training process)
    log_every: Count = 20  # steps between logged losses (TensorBoard, metrics.jsonl)
    image_every: Count = 200  # steps between sample image grids
    ckpt_every: Count = 500  # steps between checkpoints
    val_every: Count = 500  # steps between validations on the held-out identities
    resume: str = ""  # a checkpoint to resume from: a checkpoint folder, or "latest" in out_dir
    cache_format: Literal["mp4", "npz"] = (
        "mp4"  # `reenact prepare`: crops as "mp4" (H.264) or "npz" (numpy only)
    )
    cache_crf: Crf = 17  # H.264 quality of the mp4 crops (lower = better)
    max_frames: Count = 0  # `reenact prepare`: frames per clip (0 = all)
    frame_stride: AtLeastOne = 1  # `reenact prepare`: keep every n-th frame of a clip
    val_fraction: Unit = 0.2  # identities held out when val_holdout is empty (at least one)
    val_frames: Count = 8  # ground-truth frames per held-out clip or identity in validation
    # Omega's appearance frames per clip: 0 = any, 1 = the neutral, k = the neutral + k-1 evenly
    # spaced (warp_guided needs k >= 1: a warp per reference)
    reference_frames: Count = 0
    ndf: Count = 0  # PatchGAN width (0 = renderer.ngf)
    disc_condition: Literal["target", "input"] = (
        "target"  # D sees (P_t, image) "target", or the whole G "input" too
    )
    attention_weight: NonNegative = 0.1  # warp_guided: L2 penalty on the attention mask
    attention_tv: NonNegative = 0.0  # warp_guided: smoothness (TV) penalty on the attention mask
    fusion_mix: Weights = (0.5, 0.3, 0.2)  # Phi pairs: cross-identity, same, unpaired
    fusion_disc_hidden: Count = 0  # D_J width (0 = fusion.hidden)
    # `train fusion_residual` (the shipped Phi, reenact_lab.train.fusion_residual): its
    # per-region deviation-size term (an addition to the paper)
    lambda_amplitude: NonNegative = 50.0
    fusion_pairs_mix: Weights = (0.3, 0.5, 0.2)  # fusion_residual: labelled, matched, unpaired
    # fusion_residual: people kept out of training AND validation (its test set)
    fusion_test_holdout: tuple[str, ...] = ()
    fusion_basis: AtLeastOne = 8  # expression coefficients of the residual Phi's correction
    lambda_correction: NonNegative = 0.0  # residual Phi: L1 on the correction's size (an addition)
    progress: bool = True  # tqdm progress bars (rank 0)
    device: Literal["auto", "cuda", "cpu"] = "auto"  # auto: CUDA when present
    # one person in several entries: "NAME: entry entry ..." (reenact_lab.train.identities)
    identities: tuple[str, ...] = ()
    far_pairs: Unit = 0.0  # Omega: P_t drawn by expression distance to I_o (else uniformly)
    cross_clip_pairs: Unit = 0.0  # Omega: P_t from another clip of the same person
    augment_colour: NonNegative = 0.0  # Omega: colour jitter strength (gain, offset, saturation)
    augment_scale: NonNegative = 0.0  # Omega: zoom / shift jitter (x 1, x S/2)
    disc_scales: AtLeastOne = 1  # Omega's D: 1 = the paper's PatchGAN, 2 = pix2pixHD's two scales
    lambda_fm: NonNegative = 0.0  # Omega: D feature matching weight (pix2pixHD: 10; 0 = off)
    mu_local: NonNegative = 0.0  # Omega: local eye / mouth PatchGAN weight (LGP-GAN; 0 = off)
    mu_l1_regions: NonNegative = 0.0  # Omega: pixel L1 again on the eye / mouth crops (0 = off)
    init_generator: str = ""  # Omega starts from these weights (e.g. joined shards of a GPU run)
    warp_dir: str = ""  # warp-guided Omega: where its warps are kept ("" = warps/ beside the cache)
    # Omega: average of its weights (decay a step, e.g. 0.999; 0 = off) that validation scores
    # and the run saves (reenact_lab.train.averaging)
    ema: Annotated[float, Range(0, 1, high_open=True)] = 0.0


@dataclass(frozen=True)
class EvalConfig:
    """`reenact eval`: self- and cross-reenactment, temporal measures, one report."""

    clips: tuple[str, ...] = ()  # videos of an actor: self-reenacted, and drivers for the portraits
    portraits: tuple[str, ...] = ()  # target pictures for cross-reenactment
    generators: tuple[str, ...] = ()  # extra generator weights to compare
    out_dir: str = "out/eval"  # where the report (JSON, Markdown) and its strips go
    reference_frame: Count = 0  # self-reenactment: the clip frame used as the target
    max_frames: Count = 120  # frames read from each clip (0 = all)
    # the carried measures (gaze, head, blinks, expression: actor vs output) run over the whole
    # clip up to this many frames (0 = all), every frame driven through the live path; the
    # output is re-tracked on `carried_retracks` evenly spaced frames of them (re-tracking is
    # the costly part); the image measures keep the first `max_frames`
    carried_frames: Count = 900
    carried_retracks: Annotated[int, Range(3)] = 90  # output frames re-tracked (see above)
    still_frames: Annotated[int, Range(2)] = 15  # length of the stillest stretch used for jitter
    identity_stride: AtLeastOne = 5  # cross: a face descriptor (costly) every n-th output frame
    strip_frames: Count = 4  # rows of sample frames in each strip PNG
    progress: bool = True  # tqdm progress bars
    stills: str = ""  # `--stills DIR`: run the posed-expression protocol on DIR instead of clips
    # subjects the posed-expression protocol scores (NN of NN_<condition>.png); keep them out of
    # training (configs/train_fusion.yaml val_holdout: expressions_14, expressions_15)
    stills_subjects: tuple[str, ...] = ("14", "15")
    # --stills also scores pixel-rr models from this folder ("shipped" = reenact/models; "" = off)
    # and the warp / generator driven by each condition's mean deviation (the presets)
    stills_pixel_rr: str = "shipped"
    stills_portraits: tuple[str, ...] = ()  # --stills: non-photo targets for a preset strip
