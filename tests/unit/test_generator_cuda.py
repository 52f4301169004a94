"""The device frame path: the torch landmark image and warp match their cv2 originals, the
device renderer matches the CPU generator renderer, and on CUDA a frame allocates nothing.

The faces are real: a replay recorded from a real clip with the real face mesh (`reenact bench
--save-replay`). On a machine without MediaPipe (a GPU box), REENACT_TEST_REPLAY names a
replay file recorded elsewhere, and the tests use it instead.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from reenact.config import load_config
from reenact.engine.shipped import shipped_weights
from reenact.landmarks.landmark_image import draw_landmark_image
from reenact.render.corrections.apply import WarpExtras
from reenact.render.generator import GeneratorRenderer, load_generator, make_backend
from reenact.render.generator_cuda import DeviceFrameRenderer
from reenact.render.raster_torch import LandmarkRaster
from reenact.render.warp import WarpRenderer
from reenact.render.warp_torch import TorchWarp
from reenact.tools.replay import Replay, load_replay

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
# no sink: a GPU box often lacks PyAV and pyvirtualcam, which the default file and virtual camera
# sinks import when a config is checked, and nothing here sends a frame anywhere
NO_SINK = "sink.kind=null"


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory) -> Path:
    given = os.environ.get("REENACT_TEST_REPLAY")
    if given:
        return Path(given)
    from reenact.tools.replay import record_replay
    from tests.conftest import media_root

    clip = media_root() / "clips" / "lp_d0.mp4"
    # the picture's landmarks as the target's neutral: `exaggerated` scales each frame's
    # deviation from them, and with the estimated neutral (the astronaut's smile taken out) that
    # would double the smile's removal too and push the lips through each other, a fold where
    # two warps may each pick another pre-image (at scale 1 they agree either way); the
    # training-free fuser, as this replay was recorded when these bounds were set on a GPU
    config = load_config(
        None,
        [
            "source.kind=video",
            f"source.path={clip}",
            NO_SINK,
            "fusion.target_neutral=picture",
            "fusion.kind=training_free",
        ],
    )
    path = tmp_path_factory.mktemp("replay") / "replay.npz"
    return record_replay(config, sizes=[256], frames=40, path=path)


@pytest.fixture(scope="module")
def replay(replay_file) -> Replay:
    return load_replay(replay_file, 256)


def exaggerated(replay: Replay, k: float = 2.0) -> list[np.ndarray]:
    """The replay's expressions scaled by k around the target's face: wide mouths and shut eyes
    appear, so the eye, lid and mouth paths run too."""
    frames = []
    for fused in replay.fused:
        out = replay.landmarks.astype(np.float32).copy()
        out[:, :2] += k * (fused[:, :2] - replay.landmarks[:, :2])
        frames.append(out)
    return frames


def test_torch_landmark_image_matches_cv2(replay):
    raster = LandmarkRaster(256)
    for fused in replay.fused[::8]:
        expected = draw_landmark_image(fused, 256).astype(np.float32)
        with torch.no_grad():
            got = raster(torch.from_numpy(fused)).numpy() * 255.0
        assert got.shape == (256, 256)
        assert np.abs(got - expected).mean() < 3.0
        on_cv2, on_torch = expected > 127, got > 127
        assert (on_cv2 & on_torch).sum() / (on_cv2 | on_torch).sum() > 0.75
        assert on_torch.sum() > 1500  # the contours are drawn, not a blank image


def test_torch_warp_matches_the_cv2_warp_with_eyes_and_mouth(replay):
    cpu = WarpRenderer(size=256)
    cpu.set_target(replay.crop, replay.landmarks)
    warp = TorchWarp(size=256)
    warp.set_target(cpu)
    planes = np.zeros((7, 256, 256), np.float32)
    extras = WarpExtras(cpu, planes)
    eyes_seen = overlay_seen = lips_seen = 0
    for fused in exaggerated(replay)[::3]:
        expected = cpu.render(fused).astype(np.float32)
        xy = cpu.follow(fused)
        extras.fill(xy)
        lips_seen += bool(cpu.correction("lip_bands").geometry(xy))
        eyes_seen += planes[0].max() > 0.5
        overlay_seen += planes[6].max() > 0.5
        warp.eyes.copy_(torch.from_numpy(planes[:3]))
        warp.overlay.copy_(torch.from_numpy(planes[3:]))
        with torch.no_grad():
            got = warp(torch.from_numpy(np.column_stack([xy, fused[:, 2]]))).numpy()[0]
            got = got.transpose(1, 2, 0)
        diff = np.abs(got - expected)
        # 99.9th percentile: where the exaggerated mesh folds, each path lands on one of the
        # pre-images and moves the stray ones to their neighbours (field._without_strays); a
        # sample at the edge of a stray in one path and not in the other differs by a few
        # levels (worst frame 3.1 without that step, 4.6 with it)
        assert diff.mean() < 0.5 and np.percentile(diff, 99.9) < 5.0
    assert eyes_seen and overlay_seen and lips_seen  # the sparse CPU planes were exercised
    moved = np.abs(cpu.render(exaggerated(replay)[-1]).astype(int) - replay.crop).mean()
    assert moved > 0.5  # the warp changes the face: the comparison is not of two copies


def generator_pair(
    device: str,
    precision: str = "auto",
    use_graph: bool | None = None,
    anchor_px: float = 0.0,
    chroma: bool = False,
):
    model, meta = load_generator(shipped_weights("generator", 256))
    cfg = load_config(None, ["renderer.backend=torch", NO_SINK])
    cpu = GeneratorRenderer(
        model=copy.deepcopy(model),
        meta=meta,
        weights=None,
        backend=make_backend(copy.deepcopy(model), cfg, onnx_path=None),
        anchor_px=anchor_px,
        chroma="warp" if chroma else "network",
    )
    dev = DeviceFrameRenderer(
        model=copy.deepcopy(model),
        meta=meta,
        weights=None,
        device=device,
        precision=precision,
        use_graph=use_graph,
        anchor_px=anchor_px,
        chroma="warp" if chroma else "network",
    )
    return cpu, dev


def compare(cpu, dev, replay: Replay, frames) -> tuple[float, float]:
    cpu.set_target(replay.crop, replay.landmarks)
    dev.set_target(replay.crop, replay.landmarks)
    means, p99s = [], []
    for fused in frames:
        a = cpu.render(fused).astype(np.float32)
        b = dev.render(fused).astype(np.float32)
        assert b.shape == (256, 256, 3)
        means.append(np.abs(a - b).mean())
        p99s.append(np.percentile(np.abs(a - b), 99))
    return float(np.mean(means)), float(np.max(p99s))


def test_device_renderer_on_the_cpu_matches_the_generator_renderer(replay):
    cpu, dev = generator_pair("cpu")
    assert dev.backend_name == "torch-cpu-fp32" and dev.warp is not None
    mean, p99 = compare(cpu, dev, replay, exaggerated(replay)[::6])
    assert mean < 1.5 and p99 < 12


def test_device_renderer_anchors_colours_as_the_generator_renderer_does(replay):
    cpu, dev = generator_pair("cpu", anchor_px=8.0)
    assert not cpu.shifts_colours and not dev.shifts_colours  # the compositor leaves them be
    frames = exaggerated(replay)[::6]
    mean, p99 = compare(cpu, dev, replay, frames)
    assert mean < 1.5 and p99 < 12
    # and the anchor changed something: the unanchored renders differ from these
    plain, _ = generator_pair("cpu")
    plain.set_target(replay.crop, replay.landmarks)
    moved = np.mean(
        [
            np.abs(plain.render(f).astype(np.float32) - cpu.render(f).astype(np.float32)).mean()
            for f in frames[:3]
        ]
    )
    assert moved > 0.3


def test_device_renderer_takes_the_warps_chroma_as_the_generator_renderer_does(replay):
    cpu, dev = generator_pair("cpu", anchor_px=32.0, chroma=True)
    frames = exaggerated(replay)[::6]
    mean, p99 = compare(cpu, dev, replay, frames)
    assert cpu.chroma.on and float(dev.chroma_weight) == 1.0  # "warp": on a colour face too
    assert mean < 1.5 and p99 < 12
    anchored, _ = generator_pair("cpu", anchor_px=32.0)  # the same without the chroma step
    anchored.set_target(replay.crop, replay.landmarks)
    moved = np.mean(
        [
            np.abs(anchored.render(f).astype(np.float32) - cpu.render(f).astype(np.float32)).mean()
            for f in frames[:3]
        ]
    )
    assert moved > 0.3


def test_device_renderer_rejects_a_wrong_target(replay):
    _, dev = generator_pair("cpu")
    with pytest.raises(RuntimeError, match="before set_target"):
        dev.render(replay.fused[0])
    with pytest.raises(Exception, match="target crop"):
        dev.set_target(replay.crop[:128], replay.landmarks)


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_frame_matches_the_cpu_and_allocates_nothing(replay, precision):
    cpu, dev = generator_pair("cuda", precision)
    assert dev.graphs and "graph" in dev.backend_name
    frames = exaggerated(replay)
    mean, p99 = compare(cpu, dev, replay, frames[::6])
    assert mean < 3.0 and p99 < 20
    for fused in frames[:5]:
        dev.render(fused)
    torch.cuda.synchronize()
    before = torch.cuda.memory_stats()["allocation.all.allocated"]
    for fused in frames:  # eyes shut, mouths open: the plane uploads run too
        dev.render(fused)
    torch.cuda.synchronize()
    assert torch.cuda.memory_stats()["allocation.all.allocated"] == before
    stages = dev.stage_ms()
    assert set(stages) >= {"upload", "landmarks", "field", "warp", "generator", "download"}
    assert stages["gpu_total"] > 0 and all(v >= 0 for v in stages.values())


@pytest.mark.cuda
@needs_cuda
def test_cuda_paper_generator_draws_the_landmark_image_on_the_gpu(replay):
    from reenact.nn.unet import UNetGenerator

    model = UNetGenerator(ngf=8, size=256).eval()
    dev = DeviceFrameRenderer(model=model, meta=model.arch_meta(), weights=None, device="cuda")
    dev.set_target(replay.crop, replay.landmarks)
    dev.render(replay.fused[0])
    channel = dev.x[0, 3].float().cpu().numpy()
    expected = draw_landmark_image(replay.fused[0], 256) / 127.5 - 1.0
    assert np.abs(channel - expected).mean() < 0.03 and (channel > 0).sum() > 1500
    assert "field" not in dev.stage_ms() and dev.stage_ms()["generator"] > 0


@pytest.mark.cuda
@needs_cuda
def test_cuda_graphs_and_eager_give_the_same_frame(replay):
    _, graphed = generator_pair("cuda", "fp16", True)
    _, eager = generator_pair("cuda", "fp16", False)
    assert not eager.graphs
    for r in (graphed, eager):
        r.set_target(replay.crop, replay.landmarks)
    for fused in exaggerated(replay)[::5]:
        a = graphed.render(fused).astype(int)
        b = eager.render(fused).astype(int)
        assert np.abs(a - b).max() <= 2


@pytest.mark.cuda
@needs_cuda
def test_auto_backend_runs_the_frame_on_the_gpu():
    from reenact.render.generator import load_generator_renderer

    config = load_config(None, ["renderer.backend=auto", NO_SINK])
    renderer = load_generator_renderer(shipped_weights("generator", 256), config)
    assert isinstance(renderer, DeviceFrameRenderer) and renderer.device.type == "cuda"
