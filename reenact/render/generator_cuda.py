"""The generator renderer with its whole frame on one torch device: the CUDA fast path.

Per frame the host sends the fused landmarks (478 x 2 floats) and, only while an eye closes or
the mouth opens, the sparse eye / lid / mouth planes; the device draws the landmark image
(`reenact.render.raster_torch`), runs the warp (`reenact.render.warp_torch`, warp-guided
generators), runs the U-net in fp16 or bf16 with channels_last, and converts the result to
uint8, which is all that comes back (S x S x 3 bytes).

On CUDA:
- every buffer is allocated once, when the renderer is built: pinned host memory for what goes
  up and comes back, static device tensors for everything else; the four stages are captured
  as CUDA graphs and replayed, so a frame allocates nothing;
- the landmark upload, the landmark image and the warp field run on the GPU while the CPU works
  out the eye / lid / mouth planes; those go up on a second (copy) stream, and the compute
  stream waits for them only where the warp needs them;
- CUDA events time each stage (`stage_ms()`).

On any other device (the CPU, in tests) the same stages run eagerly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reenact.errors import InputError
from reenact.profiling import laps
from reenact.render.anchor import ChromaChoice, TorchAnchor, chroma_torch, luma_weights
from reenact.render.corrections.apply import WarpExtras, keep_alpha
from reenact.render.eye_keep import EyeKeep
from reenact.render.raster_torch import LandmarkRaster
from reenact.render.warp import validate_crop, validate_landmarks
from reenact.render.warp_torch import TorchWarp

PRECISIONS = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
STAGES = ("upload", "landmarks", "field", "warp", "generator", "download")


class DeviceFrameRenderer:
    """`set_target(crop, landmarks)` and `render(fused) -> (S,S,3) uint8`, on `device`.

    model: a UNetGenerator; meta: its weights' metadata; precision: auto (fp16 on CUDA, fp32
    elsewhere), fp16, bf16 or fp32; use_graph: capture CUDA graphs (default: on CUDA).
    """

    name = "generator"
    draws_shading = True  # a network shades what the landmarks move (`reenact.render.boost`)

    def __init__(
        self,
        *,
        model,
        meta: dict[str, str],
        weights: Path | None,
        device: str = "cuda",
        precision: str = "auto",
        use_graph: bool | None = None,
        eyes_from_warp: bool = True,
        mouth_from_warp: bool = True,
        anchor_px: float = 0.0,
        chroma: str = "network",
    ) -> None:
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if precision == "auto":
            precision = "fp16" if self.cuda else "fp32"
        if precision not in PRECISIONS:
            raise InputError(
                f"renderer.precision: '{precision}' is not one of auto, {', '.join(PRECISIONS)}"
            )
        self.precision = precision
        self.dtype = PRECISIONS[precision]
        self.use_graph = self.cuda if use_graph is None else bool(use_graph and self.cuda)
        self.meta, self.weights = meta, weights
        self.size, self.variant, self.channels = model.size, model.variant, model.in_channels
        self.model = model.eval().to(self.device, self.dtype).to(memory_format=torch.channels_last)
        self._allocate()
        self._keep_plane(eyes_from_warp, mouth_from_warp)
        # the network's broad colours kept on the warp's (reenact.render.anchor): warp-guided
        self.anchor = (
            TorchAnchor(self.size, anchor_px, self.device)
            if anchor_px > 0 and self.warp is not None
            else None
        )
        self.shifts_colours = self.anchor is None
        # the warp's chroma under the network's luma, weighted 1 or 0 per target (`set_target`)
        self.chroma = ChromaChoice(chroma if self.warp is not None else "network")
        self.chroma_weight, self.luma = torch.zeros((), device=device), luma_weights(device)
        self._has_target = False
        self.stages = self._stages()
        self.graphs: dict[str, torch.cuda.CUDAGraph] = {}
        if self.cuda:
            self.stream = torch.cuda.Stream(self.device)
            self.copy_stream = torch.cuda.Stream(self.device)
            self.events = [torch.cuda.Event(enable_timing=True) for _ in range(len(STAGES) + 1)]
            self.planes_up = torch.cuda.Event()
            self._build_graphs()

    def _allocate(self) -> None:
        """The per-frame buffers, made once (pinned host memory on CUDA), and the warp-guided
        variant's warp on both sides."""
        s, dev, pin = self.size, self.device, self.cuda
        self.raster = LandmarkRaster(s).to(dev)
        self.cpu_warp = self.warp = self.extras = None
        # x, y and z (NaN = unknown; the warp's fold then shows whichever layer it finds)
        self.host_lm = torch.zeros(478, 3, dtype=torch.float32, pin_memory=pin)
        self.host_out = torch.zeros(s, s, 3, dtype=torch.uint8, pin_memory=pin)
        self.dev_lm = torch.zeros(478, 3, dtype=torch.float32, device=dev)
        self.x = torch.zeros(1, self.channels, s, s, dtype=self.dtype, device=dev).to(
            memory_format=torch.channels_last
        )
        self.dev_out = torch.zeros(s, s, 3, dtype=torch.uint8, device=dev)
        if self.variant == "warp_guided":
            from reenact.render.warp import WarpRenderer

            self.cpu_warp = WarpRenderer(size=s)
            self.warp = TorchWarp(size=s).to(dev)
            self.host_planes = torch.zeros(7, s, s, dtype=torch.float16, pin_memory=pin)
            self.dev_planes = torch.zeros(7, s, s, dtype=torch.float16, device=dev)
            self.remap = torch.zeros(s, s, 2, dtype=torch.float32, device=dev)
            self.extras = WarpExtras(self.cpu_warp, self.host_planes.numpy())

    def _keep_plane(self, eyes: bool, mouth: bool) -> None:
        """The warp's eyes and open mouth over the network's (reenact.render.eye_keep): one
        alpha plane, sent up per frame and blended on the device. Warp-guided only."""
        self.eyes_from_warp = bool(eyes) and self.warp is not None
        self.mouth_from_warp = bool(mouth) and self.warp is not None
        self.keeps = self.eyes_from_warp or self.mouth_from_warp
        self.eye_keep: EyeKeep | None = EyeKeep(size=self.size)
        if self.keeps:
            s = self.size
            self.host_keep = torch.zeros(s, s, dtype=torch.float16, pin_memory=self.cuda)
            self.dev_keep = torch.zeros(s, s, dtype=torch.float16, device=self.device)

    def _keep_alpha(self, xy: np.ndarray) -> None:
        """This frame's plane of `_keep_plane` (after `extras.fill`, which finds the mouth)."""
        keeper = self.eye_keep if self.eyes_from_warp else None
        eyes = keeper.overlay(xy) if keeper is not None else []
        kept = self.extras.kept_layers if self.mouth_from_warp else []
        keep_alpha(self.host_keep.numpy(), eyes, kept)

    @property
    def backend_name(self) -> str:
        graph = "+graph" if self.graphs else ""
        return f"torch-{self.device.type}-{self.precision}{graph}"

    # -- the four stages, each writing into static tensors -------------------------------------

    def _landmarks(self) -> None:
        self.x[:, 3].copy_(self.raster(self.dev_lm) * 2.0 - 1.0)

    def _field(self) -> None:
        self.remap.copy_(self.warp.dense_map(self.dev_lm))

    def _warp(self) -> None:
        self.warp.eyes.copy_(self.dev_planes[:3])
        self.warp.overlay.copy_(self.dev_planes[3:])
        warped = self.warp.resample(self.warp.apply_eyes(self.remap))
        self.x[:, 4:7].copy_(warped * (2.0 / 255.0) - 1.0)

    def _generator(self) -> None:
        y = self.model(self.x)[0].float()
        if self.anchor is not None or self.keeps or self.chroma.configured != "network":
            warped = (self.x[0, 4:7].float() + 1.0) * 127.5
        image = ((y + 1.0) * 127.5).clamp_(0.0, 255.0)
        if self.anchor is not None:
            image = self.anchor.apply(image, warped)
        if self.chroma.configured != "network":
            image = image + self.chroma_weight * (chroma_torch(image, warped, self.luma) - image)
        if self.keeps:  # image + a (warped - image)
            image = image + self.dev_keep.float() * (warped - image)
        image = (image + 0.5).clamp_(0.0, 255.0)
        self.dev_out.copy_(image.permute(1, 2, 0).to(torch.uint8))

    def _stages(self) -> dict[str, object]:
        """The stage functions in frame order (field and warp only for warp-guided models)."""
        stages = {"landmarks": self._landmarks}
        if self.warp is not None:
            stages["field"] = self._field
            stages["warp"] = self._warp
        stages["generator"] = self._generator
        return stages

    def _build_graphs(self) -> None:
        """Warm up on the side stream, then capture each stage as a CUDA graph."""
        stages = self.stages
        with torch.no_grad(), torch.cuda.stream(self.stream):
            for _ in range(3):
                for run in stages.values():
                    run()
        torch.cuda.synchronize(self.device)
        if not self.use_graph:
            return
        for name, run in stages.items():
            graph = torch.cuda.CUDAGraph()
            with torch.no_grad(), torch.cuda.graph(graph, stream=self.stream):
                run()
            self.graphs[name] = graph
        torch.cuda.synchronize(self.device)

    def _run(self, name: str) -> None:
        graph = self.graphs.get(name)
        if graph is not None:
            graph.replay()
        else:
            with torch.no_grad():
                self.stages[name]()

    # -- the renderer interface ----------------------------------------------------------------

    @torch.no_grad()
    def set_target(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        """crop: (S,S,3) uint8 target; landmarks: (478,3) its aligned crop landmarks."""
        crop = validate_crop(crop, self.size)
        if self.cuda:
            torch.cuda.synchronize(self.device)
        rgb = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device).permute(2, 0, 1)
        self.x[0, :3].copy_(rgb.float() * (2.0 / 255.0) - 1.0)
        if self.warp is not None:
            self.cpu_warp.set_target(crop, landmarks)
            self.warp.set_target(self.cpu_warp)
        self.chroma.target(crop, landmarks)
        self.chroma_weight.fill_(float(self.chroma.on))
        if self.cuda:
            torch.cuda.synchronize(self.device)
        self._has_target = True

    def render(self, fused: np.ndarray) -> np.ndarray:
        """fused: (478,3) J_gen in crop pixels -> (S,S,3) uint8, valid until the next call."""
        if not self._has_target:
            raise RuntimeError("DeviceFrameRenderer.render called before set_target")
        lap = laps("generator")
        if self.extras is not None:
            xy = self.cpu_warp.follow(fused)
        else:
            xy = validate_landmarks(fused, "fused landmarks")
        host = self.host_lm.numpy()
        host[:, :2] = xy
        host[:, 2] = fused[:, 2] if np.shape(fused)[1] > 2 else np.nan
        if not self.cuda:
            return self._render_eager(xy)
        lap("follow")
        ev = self.events
        with torch.cuda.stream(self.stream):
            ev[0].record()
            self.dev_lm.copy_(self.host_lm, non_blocking=True)
            ev[1].record()
            self._run("landmarks")
            ev[2].record()
            if self.warp is not None:
                self._run("field")
        lap("launch_field")
        # the GPU draws and inverts the field while the CPU works out the eye/lid/mouth planes
        if self.warp is not None and self.extras.fill(xy):
            with torch.cuda.stream(self.copy_stream):
                self.dev_planes.copy_(self.host_planes, non_blocking=True)
                self.planes_up.record()
            self.stream.wait_event(self.planes_up)
        if self.keeps:
            self._keep_alpha(xy)
        lap("host_planes")  # the CPU's share while the GPU works
        with torch.cuda.stream(self.stream):
            ev[3].record()
            if self.warp is not None:
                self._run("warp")
            if self.keeps:
                self.dev_keep.copy_(self.host_keep, non_blocking=True)
            ev[4].record()
            self._run("generator")
            ev[5].record()
            self.host_out.copy_(self.dev_out, non_blocking=True)
            ev[6].record()
        lap("launch_network")
        ev[6].synchronize()
        lap("gpu_wait")
        return self.host_out.numpy()

    @torch.no_grad()
    def _render_eager(self, xy: np.ndarray) -> np.ndarray:
        self.dev_lm.copy_(self.host_lm)
        if self.warp is not None:
            self.extras.fill(xy)
            self.dev_planes.copy_(self.host_planes)
        if self.keeps:
            self._keep_alpha(xy)
            self.dev_keep.copy_(self.host_keep)
        for run in self.stages.values():
            run()
        self.host_out.copy_(self.dev_out)
        return self.host_out.numpy()

    def stage_ms(self) -> dict[str, float]:
        """The last frame's stages on the GPU, from CUDA events (ms); {} off CUDA.

        upload: the landmarks; field: the warp field, and any wait for the CPU's eye / lid /
        mouth planes; warp: the eyes, the resampling and the overlay (field and warp only for
        warp-guided generators); gpu_total: first event to last."""
        if not self.cuda:
            return {}
        ev = self.events
        times = {
            name: ev[i].elapsed_time(ev[i + 1])
            for i, name in enumerate(STAGES)
            if self.warp is not None or name not in ("field", "warp")
        }
        times["gpu_total"] = ev[0].elapsed_time(ev[-1])
        return times
