"""Omega at run time: the U-net generator behind the renderer interface.

`GeneratorRenderer.render(fused_landmarks)` builds the 4-channel input (target RGB + landmark image
of J_gen; the warp-guided variant adds the training-free warp), runs the chosen backend and
returns the rendered crop. Input buffers are allocated once per target size.

`stage(fused_landmarks)` splits that in two for a pipelined loop: it draws the landmark image and
the warp on the calling thread and returns the rest (a learned correction's drawing, the guide
input, the kept patches, an avatar's bank and the network), which may run on another thread
while the caller prepares the next frame (two input and two output buffers alternate, so the
network reads one frame's input while the next is written).

On the CPU with ONNX Runtime no torch is needed: the shipped generator's ONNX file lies beside
its weights (`reenact/models/generator_<size>.onnx`, made by `scripts/export_onnx.py`), and
other weights run from their export in the cache; only exporting them (once) needs torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from reenact.config import Config
from reenact.engine.arrays import read_meta
from reenact.engine.backends import OnnxBackend, TorchCPUBackend, ensure_onnx, onnx_cache_path
from reenact.engine.device import cpu_threads, resolve_backend, torch_available
from reenact.engine.quantize import quantized_model
from reenact.engine.shipped import MODELS_DIR, find_generator
from reenact.errors import ConfigError, WeightsError
from reenact.landmarks.landmark_image import draw_landmark_image
from reenact.profiling import laps
from reenact.render import register_renderer
from reenact.render.anchor import ChromaChoice, anchor_numpy, chroma_numpy
from reenact.render.corrections.apply import paste
from reenact.render.corrections.apply import patches as kept_patches
from reenact.render.corrections.base import Layer
from reenact.render.eye_keep import EyeKeep
from reenact.render.face_bank import PARTS, AvatarParts, Part, chosen_parts
from reenact.render.generator_meta import (
    build_generator_from_meta,
    generator_shape,
    need_torch,
)

log = logging.getLogger(__name__)


def _check_size(path: Path, built: int, size: int | None) -> None:
    if size is not None and built != size:
        raise WeightsError(f"{path}: generator built for size {built}, but renderer.size is {size}")


def load_generator(path: Path, *, size: int | None = None):
    """Build and load a generator from a safetensors file; checks the crop size if given."""
    if not torch_available():  # a file that is no generator's says so first
        generator_shape(path, read_meta(path))
        need_torch(path)
    from reenact.engine.weights import load_into, load_weights

    _, meta = load_weights(path)
    model = build_generator_from_meta(path, meta)
    _check_size(path, model.size, size)
    load_into(model, path)
    return model.eval(), meta


def shipped_onnx(weights: Path) -> Path | None:
    """The ONNX file shipped beside shipped weights (`<stem>.onnx`), if there is one."""
    onnx = weights.with_suffix(".onnx")
    if weights.resolve().parent == MODELS_DIR and onnx.is_file():
        return onnx
    return None


def to_unit(image: np.ndarray, out: np.ndarray) -> None:
    """(S,S,C) uint8 -> (C,S,S) float32 in [-1, 1], written into `out`."""
    # plane by plane from contiguous channels: the same arithmetic, half the time of a
    # strided read
    for c, plane in enumerate(cv2.split(np.ascontiguousarray(image))):
        np.multiply(plane, 2.0 / 255.0, out=out[c], casting="unsafe")
    out -= 1.0


def to_image(y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(C,S,S) float32 in [-1, 1] -> (S,S,C) uint8 levels (x + 1) 127.5 rounded, written into
    `out` and returned; `y` is overwritten."""
    # each step over the contiguous planes, then one interleave: what a step through the
    # transposed view computed, element for element, for a third of the time
    np.add(y, 1.0, out=y)
    np.multiply(y, 127.5, out=y)
    np.add(y, 0.5, out=y)
    np.clip(y, 0, 255, out=y)
    return cv2.merge(list(y.astype(np.uint8)), dst=out)


def _nothing() -> list[Layer]:
    """No layers: a generator without a warp draws no correction."""
    return []


class GeneratorRenderer:
    """The trained U-net as a renderer: `set_target(crop, landmarks)`, `render(fused)`, or
    `stage(fused)()` in two steps (see the module docstring)."""

    name = "generator"
    BUFFERS = 2  # frames in flight: one in the network, one being prepared

    def __init__(
        self,
        *,
        model,
        meta: dict[str, str],
        backend,
        weights: Path,
        eyes_from_warp: bool = True,
        mouth_from_warp: bool = True,
        anchor_px: float = 0.0,
        avatar_keeps: tuple[bool, bool] = (False, False),
        chroma: str = "network",
        drawn: str = "painted",
        quantize: str = "auto",
        avatar_parts: tuple[Part, ...] = PARTS,
    ) -> None:
        self.model, self.meta, self.backend, self.weights = model, meta, backend, weights
        self.size, self.variant, self.channels = model.size, model.variant, model.in_channels
        shape = (1, self.channels, self.size, self.size)
        self._inputs = [np.zeros(shape, np.float32) for _ in range(self.BUFFERS)]
        self._outputs = [np.zeros((self.size, self.size, 3), np.uint8) for _ in range(self.BUFFERS)]
        self._target_unit = np.zeros((3, self.size, self.size), np.float32)
        self._target_version = 0  # bumped by set_target; each input buffer records its copy's
        self._input_versions = [-1] * self.BUFFERS
        self._next = 0
        self.landmark_image = np.zeros((self.size, self.size), np.uint8)
        self.warp = None
        if self.variant == "warp_guided":
            from reenact.render.warp import WarpRenderer

            self.warp = WarpRenderer(size=self.size, drawn=drawn, quantize=quantize)
        # the warp's eyes and open mouth pasted over the network's (reenact.render.eye_keep):
        # warp-guided only
        self.eyes_from_warp = bool(eyes_from_warp) and self.warp is not None
        self.mouth_from_warp = bool(mouth_from_warp) and self.warp is not None
        # the network's broad colours brought to the warp's (reenact.render.anchor): warp-guided
        self.anchor_px = float(anchor_px) if self.warp is not None else 0.0
        # anchored, its colours are the target's where the face is now: no match needed after
        self.shifts_colours = self.anchor_px <= 0
        # the warp's chroma under the network's luma (reenact.render.anchor): warp-guided only
        self.chroma = ChromaChoice(chroma if self.warp is not None else "network")
        # a personal avatar's own generator (`set_avatar`): it draws its person's eyes, mouth and
        # colours, so the warp's are put over them only where the config set "warp" itself
        self.avatar = None
        self._shipped = (backend, self.eyes_from_warp, self.mouth_from_warp)
        self._avatar_keeps = tuple(bool(k) and self.warp is not None for k in avatar_keeps)
        self._avatar_backends: dict[str, object] = {}
        self.parts = AvatarParts(avatar_parts)  # an avatar's own mouths and eyes, on its picture

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def set_target(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        """crop: (S,S,3) uint8 target; landmarks: (478,3) its aligned landmarks. Applies from the
        next `stage`/`render`; a network call already staged keeps the target it was given."""
        to_unit(crop, self._target_unit)
        self._target_version += 1
        if self.warp is not None:
            self.warp.set_target(crop, landmarks)
        self.chroma.target(crop, landmarks)
        self.parts.target_set()

    def set_avatar(self, avatar) -> None:
        """Run `avatar`'s own generator (a `reenact.avatar.Avatar`) from the next `stage`, or the
        one this renderer was built with for None; one backend per avatar, kept for switching
        back. Call it after `set_target` with the avatar's picture: its face bank draws on that
        target until the next `set_target`. InputError naming the avatar when its generator does
        not fit this renderer."""
        from reenact.render.avatar_backend import avatar_backend

        if self.warp is not None:
            self.parts.avatar_set(avatar)
        if avatar is self.avatar:
            return
        if avatar is None:
            self.backend, self.eyes_from_warp, self.mouth_from_warp = self._shipped
        else:
            backend = self._avatar_backends.get(avatar.key)
            if backend is None:
                backend = avatar_backend(
                    avatar,
                    size=self.size,
                    variant=self.variant,
                    channels=self.channels,
                    like=self._shipped[0],
                )
                self._avatar_backends[avatar.key] = backend
            self.backend = backend
            self.eyes_from_warp, self.mouth_from_warp = self._avatar_keeps
            log.info("avatar %s: its own generator on %s", avatar.name, backend.name)
        self.avatar = avatar
        self.chroma.avatar(avatar)

    def _input(self, i: int, fused: np.ndarray) -> np.ndarray:
        """Input buffer i holding the target (copied again when it changed) and the landmark
        image of `fused` (478,3)."""
        x = self._inputs[i]
        if self._input_versions[i] != self._target_version:
            np.copyto(x[0, :3], self._target_unit)
            self._input_versions[i] = self._target_version
        draw_landmark_image(fused, self.size, out=self.landmark_image)
        np.multiply(self.landmark_image, 2.0 / 255.0, out=x[0, 3], casting="unsafe")
        x[0, 3] -= 1.0
        return x

    def stage(self, fused: np.ndarray):
        """fused: (478,3) J_gen in crop pixels -> `run() -> (S,S,3) uint8`, the network call on
        this frame's input (safe on another thread; call it before staging two more frames)."""
        lap = laps("generator")
        i = self._next
        self._next = (i + 1) % self.BUFFERS
        x, output = self._input(i, fused), self._outputs[i]
        lap("landmark_image")
        # a staged call keeps the generator, the kept layers and the bank it was staged with
        backend, warped, kept, bank = self.backend, None, [], None
        mouth_from_warp, drawing, chroma = self.mouth_from_warp, _nothing, self.chroma.on
        if self.warp is not None:
            # a new array, the frame's own; a learned correction draws on it in the run
            warped, drawing = self.warp.render_ahead(fused)
            lap.skip()  # the warp's steps keep their own laps
            if self.eyes_from_warp:
                kept += EyeKeep(size=self.size).overlay(fused)
            if mouth_from_warp:
                kept += self.warp.kept_layers
            bank = self.parts.drawing()
            if bank is not None:
                fused = fused.copy()  # the bank reads it in the run, after the loop moves on
            lap("kept_layers")

        def run() -> np.ndarray:
            # what needs only the warp's render runs here, on the worker when there is one
            lap = laps("generator")
            patches = []
            if warped is not None:
                later = drawing()
                lap.skip()  # the warp's steps keep their own laps
                to_unit(warped, x[0, 4:7])
                patches += kept_patches(kept + later if mouth_from_warp else kept, warped)
                lap("guide_input")
                if bank is not None:
                    patches += bank.patches(fused, warped, self.parts.parts)
                    lap("face_bank")
            y = backend.run(x)[0]
            lap("network")
            to_image(y, output)
            if self.anchor_px > 0:
                anchor_numpy(output, warped, self.anchor_px, out=output)
            if chroma:
                chroma_numpy(output, warped, out=output)
            lap("output")
            pasted = paste(output, patches)
            lap("warp_patches")
            return pasted

        return run

    def render(self, fused: np.ndarray) -> np.ndarray:
        """fused: (478,3) J_gen in crop pixels -> (S,S,3) uint8 rendered target (a buffer that
        the next-but-one call overwrites)."""
        return self.stage(fused)()


def load_generator_renderer(path: Path, config: Config):
    """The generator in `path` on the backend the config asks for (see `generator_on_backend`);
    on ONNX Runtime from its ONNX file when one exists, without building the torch model."""
    path = Path(path)
    r = config.renderer
    meta = read_meta(path)
    shape = generator_shape(path, meta)
    _check_size(path, shape.size, r.size)
    onnx_path = Path(r.onnx_path) if r.onnx_path else onnx_cache_path(path, meta)
    if resolve_backend(r.backend) == "onnx":
        shipped = shipped_onnx(path)
        ready = onnx_path if onnx_path.is_file() else None if r.onnx_path else shipped
        if ready is not None:
            backend = make_onnx_backend(ready, config, cache=onnx_path, shipped=shipped)
            renderer = _cpu_renderer(shape, meta, backend, config, weights=path)
            log.info("generator %s on %s (%s)", path, renderer.backend_name, backend.path)
            return renderer
    model, meta = load_generator(path, size=r.size)
    renderer = generator_on_backend(model, meta, config, weights=path, onnx_path=onnx_path)
    log.info("generator %s on %s", path, renderer.backend_name)
    return renderer


def bank_parts(config: Config) -> tuple[Part, ...]:
    """The parts of an avatar's face bank the generator draws: those set to "auto"."""
    return chosen_parts(config.renderer.eyes, config.renderer.mouth)


@register_renderer("generator", bank_parts=bank_parts)
def build_generator(config: Config):
    """`renderer.kind=generator`: `renderer.weights`, else the shipped generator of this size."""
    size = config.renderer.size
    path = find_generator(config)
    if path is None:
        raise WeightsError(
            f"renderer.kind=generator needs weights for size {size}: set renderer.weights=PATH"
        )
    return load_generator_renderer(path, config)


def generator_on_backend(
    model, meta: dict[str, str], config: Config, *, weights: Path | None, onnx_path: Path
):
    """The generator as a renderer on the backend the config asks for ('auto' = the fastest
    present): on CUDA the whole frame runs on the GPU, on the CPU a GeneratorRenderer runs the
    network through torch or ONNX Runtime."""
    r = config.renderer
    if resolve_backend(r.backend) == "cuda":
        from reenact.render.avatar_cuda import AvatarDeviceRenderer

        if r.quantize == "int8":
            raise ConfigError(
                f"renderer.quantize={r.quantize} is for ONNX Runtime on the CPU; "
                "on CUDA set renderer.quantize=off"
            )
        return AvatarDeviceRenderer(
            model=model,
            meta=meta,
            weights=weights,
            device="cuda",
            precision=r.precision,
            use_graph=r.cuda_graph,
            eyes_from_warp=r.eyes != "network",
            mouth_from_warp=r.mouth != "network",
            avatar_keeps=(r.eyes == "warp", r.mouth == "warp"),
            anchor_px=r.anchor_px,
            chroma=r.chroma,
            avatar_parts=bank_parts(config),
        )
    return _cpu_renderer(
        model, meta, make_backend(model, config, onnx_path=onnx_path), config, weights=weights
    )


def _cpu_renderer(
    model, meta: dict[str, str], backend, config: Config, *, weights: Path | None
) -> GeneratorRenderer:
    r = config.renderer
    return GeneratorRenderer(
        model=model,
        meta=meta,
        backend=backend,
        weights=weights,
        eyes_from_warp=r.eyes != "network",
        mouth_from_warp=r.mouth != "network",
        avatar_keeps=(r.eyes == "warp", r.mouth == "warp"),
        chroma=r.chroma,
        anchor_px=r.anchor_px,
        drawn=r.corrections,
        quantize=r.quantize,
        avatar_parts=bank_parts(config),
    )


def make_onnx_backend(
    onnx: Path, config: Config, *, cache: Path, shipped: Path | None = None
) -> OnnxBackend:
    """ONNX Runtime on `onnx`, or as `renderer.quantize` asks on an INT8 model: the one
    `reenact quantize` wrote beside `cache`, else the one shipped beside `shipped` (the shipped
    weights' ONNX file, None for other weights)."""
    r = config.renderer
    quantized = quantized_model(cache, r.quantize, shipped=shipped)
    path = onnx if quantized == cache else quantized
    return OnnxBackend(path, threads=cpu_threads(r.threads), int8=quantized != cache)


def make_backend(model, config: Config, *, onnx_path: Path):
    """The CPU backend the config asks for ('auto' = ONNX Runtime when installed, else torch).

    onnx_path: where the model's ONNX export is (exported there first if missing).
    """
    r = config.renderer
    kind = resolve_backend(r.backend)
    if kind == "cuda":
        raise ValueError(
            "make_backend: CUDA runs through generator_on_backend (DeviceFrameRenderer)"
        )
    threads = cpu_threads(r.threads)
    if kind == "onnx":
        path = quantized_model(ensure_onnx(model, onnx_path), r.quantize)
        return OnnxBackend(path, threads=threads, int8=path != onnx_path)
    if r.quantize == "int8":
        raise ConfigError(
            f"renderer.quantize={r.quantize} runs on ONNX Runtime only; set "
            f"renderer.backend=onnx (it is {kind})"
        )
    return TorchCPUBackend(model, threads=threads)
