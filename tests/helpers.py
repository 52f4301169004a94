"""Test helpers: decode and encode real clips with plain PyAV, independently of the plugins."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from reenact.fusion.mlp import FusionAE, ResidualRealisation


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every frame of a video as (H, W, 3) uint8 RGB, decoded by PyAV."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    *,
    fps: int = 30,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames (even sizes) to an H.264 file with PyAV, independently of the sinks."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = options or {}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def aligned_actor(
    path: Path, *, frames: int, step: int, size: int, neutral_frames: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """A real actor clip, tracked with the real face mesh: the aligned crop landmarks (478,3) of
    every `step`-th of the first `frames` frames, and the neutral calibrated from the first
    `neutral_frames` of those. Fails the test when a used frame has no face."""
    from reenact.config.schema import TrackerConfig
    from reenact.landmarks.align import compute_alignment
    from reenact.landmarks.neutral import NeutralCalibrator
    from reenact.landmarks.tracker import FaceTracker

    aligned = []
    with av.open(str(path)) as container, FaceTracker(TrackerConfig()) as tracker:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= frames:
                break
            if index % step:
                continue
            landmarks = tracker.track_one(frame.to_ndarray(format="rgb24"))
            assert landmarks is not None, f"{path.name}: no face in frame {index}"
            aligned.append(compute_alignment(landmarks, size).landmarks_to_crop(landmarks))
    calibrator = NeutralCalibrator(frames=neutral_frames)
    for landmarks in aligned[:neutral_frames]:
        calibrator.add(landmarks)
    assert calibrator.neutral is not None
    return aligned, calibrator.neutral


def open_mouth_actor(
    clips_dir: Path, clip: str, *, frames: int, size: int = 256
) -> dict[str, np.ndarray]:
    """A real actor's most open-mouthed frame of the first `frames` of `clip` ("source"), their
    neutral from the first 4 ("neutral"), and another person's neutral (lp_d2's first 4 frames,
    "target"): (478,3) aligned crop pixels each, tracked with the real face mesh."""
    tracked, neutral = aligned_actor(
        clips_dir / f"{clip}.mp4", frames=frames, step=1, size=size, neutral_frames=4
    )
    opening = [f[14, 1] - f[13, 1] for f in tracked]
    _, other = aligned_actor(clips_dir / "lp_d2.mp4", frames=4, step=1, size=size, neutral_frames=4)
    return {"source": tracked[int(np.argmax(opening))], "neutral": neutral, "target": other}


def reenactor(
    config, target, *, renderer=None, source_neutral: np.ndarray | None = None, target_video=None
):
    """A real `Reenactor` (the live path) for `config` on `target`: a PreparedTarget, or a
    picture's path (prepared with `config`). renderer: a built one (None: the config's);
    the fuser is always the config's; source_neutral, target_video: as `Reenactor`'s."""
    from reenact.fusion import build_fuser
    from reenact.pipeline.reenactor import Reenactor
    from reenact.pipeline.target import prepare_target
    from reenact.pipeline.timing import StageTimer
    from reenact.render import build_renderer

    if isinstance(target, (str, Path)):
        target = prepare_target(str(target), config)
    return Reenactor(
        config=config,
        target=target,
        fuser=build_fuser(config),
        renderer=renderer if renderer is not None else build_renderer(config),
        timer=StageTimer(),
        source_neutral=source_neutral,
        target_video=target_video,
    )


def tracked_clip(path: Path, config, frames: int) -> tuple[list[np.ndarray], list]:
    """The first `frames` RGB frames of the clip at `path` and the real tracker's reading of
    each (most must hold a face)."""
    r = reenactor(config, "")
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="rgb24") for f in islice(container.decode(video=0), frames)]
    tracked = [r.track(image) for image in images]
    r.close()
    assert sum(t.source is not None for t in tracked) >= frames - 2
    return images, tracked


def live_fused(
    clip: Path, portrait: Path, frames: int, fps: float, settings: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`clip`'s first `frames` frames drive `portrait` through the live path (the warp, the
    config's defaults with `settings` over them): the fused landmarks of each rendered frame,
    (n,478,3) target crop pixels; the frames' indices, (n,); the target's own landmarks (its
    picture's, (478,3))."""
    from reenact.config import load_config
    from reenact.pipeline.factory import build_reenactor
    from reenact.pipeline.timing import StageTimer

    config = load_config(None, [f"stream.target={portrait}", "renderer.kind=warp", *settings])
    r = build_reenactor(config, timer=StageTimer())
    own = np.asarray(r.target.landmarks_crop)
    fused, indices = [], []
    try:
        with av.open(str(clip)) as container:  # only the frames used are decoded
            for i, frame in enumerate(islice(container.decode(video=0), frames)):
                found = r.process(frame.to_ndarray(format="rgb24"), i / fps, None).fused
                if found is not None:
                    fused.append(np.asarray(found))
                    indices.append(i)
    finally:
        r.close()
    return np.array(fused), np.array(indices), own


def target_eye_shares(
    clip: Path, portrait: Path, frames: int, fps: float, settings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """`live_fused`'s run: per rendered frame the target's two lid gaps in the fused landmarks
    over its own picture's, (n,2); and the frames' indices, (n,)."""
    from reenact.landmarks.head_pose import eye_openness

    fused, indices, own = live_fused(clip, portrait, frames, fps, settings)
    return np.array([eye_openness(f) for f in fused]) / eye_openness(own), indices


def look(landmarks: np.ndarray, along: float, across: float) -> np.ndarray:
    """A copy of (478,3) `landmarks` with both irises moved by (along, across) eye widths
    (along the image x, across the image y: the aligned crop is level)."""
    out = landmarks.copy()
    for iris, (left, right) in ((slice(468, 473), (33, 133)), (slice(473, 478), (362, 263))):
        width = float(np.hypot(*(landmarks[right, :2] - landmarks[left, :2])))
        out[iris, 0] += along * width
        out[iris, 1] += across * width
    return out


def luma(image: np.ndarray) -> np.ndarray:
    """(H,W,3) RGB -> (H,W) float32 luminance (Rec. 601 weights)."""
    return image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])


def tracked_iris(landmarks: np.ndarray, eye: int) -> tuple[np.ndarray, float]:
    """(centre (2,), radius) of one eye's tracked iris in (478,2|3) `landmarks`: landmark 468
    (eye 0) or 473 (eye 1), and the mean distance of the iris ring's four points from it."""
    first = (468, 473)[eye]
    centre = np.asarray(landmarks[first, :2], np.float32)
    ring = np.asarray(landmarks[first + 1 : first + 5, :2], np.float32)
    return centre, float(np.linalg.norm(ring - centre, axis=1).mean())


def ctrl_c_as_default() -> None:
    """A child's `preexec_fn`: SIGINT back to its default disposition before the exec, so the
    child's Python turns a real Ctrl-C into KeyboardInterrupt however the tests were started
    (a shell without job control starts a background job with SIGINT ignored, every child
    inherits that, and Python then never installs its handler: the child ignores the Ctrl-C).
    SIGTERM and SIGHUP too: under `nohup` every child inherits SIGHUP ignored, which reenact
    honours, so a test that hangs the child up would wait for it forever."""
    import signal

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


# Runs `reenact` as its own child and prints that child's peak RSS (KiB) on stdout. A process
# forked from pytest inherits pytest's peak in ru_maxrss (Linux keeps it across exec), so after
# the unit tests have loaded the models every child "peaked" above 1 GiB; this small launcher is
# forked instead, and the command, forked from it, starts from the launcher's few MiB.
_LAUNCHER = """
import os, resource, subprocess, sys
limit = int(sys.argv[1])
if limit >= 0:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
child = subprocess.Popen([sys.executable, "-m", "reenact.cli.main", *sys.argv[2:]],
                         stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
child.returncode = 0  # reaped above; Popen must not wait for it again
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_cli(
    *args: str, cwd: Path | None = None, file_size_limit: int | None = None
) -> tuple[int, str, float]:
    """The real `reenact` command in a child process: (exit code, stderr, peak RSS in MiB).

    file_size_limit: RLIMIT_FSIZE of the child in bytes (a write past it fails with EFBIG, as on
    a full disk). The peak RSS is the command's own, whatever this process holds (`_LAUNCHER`).
    """
    limit = -1 if file_size_limit is None else int(file_size_limit)
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(limit), *args],
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    text = done.stderr.decode(errors="replace")
    try:
        code, peak_kib = (int(v) for v in done.stdout.split())
    except ValueError:  # the launcher itself failed: say so, with what it printed
        raise RuntimeError(f"the reenact launcher failed ({done.returncode}): {text}") from None
    return code, text, peak_kib / 1024


def run_bench(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """`reenact bench ARGS` in a child process (stdout and stderr as text), with a cache folder
    of its own: an INT8 model written by `reenact quantize` on this machine would otherwise be
    run (renderer.quantize: auto) in place of the shipped one."""
    return subprocess.run(
        [sys.executable, "-m", "reenact.cli.main", "bench", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "REENACT_CACHE_DIR": str(cache)},
    )


def run_lab_tool(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m lab.<name> ARGS` from the checkout's root, as a developer runs it."""
    return subprocess.run(
        [sys.executable, "-m", f"lab.{name}", *args],
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
        text=True,
        timeout=timeout,
    )


def _dist(lm: np.ndarray, a: int, b: int) -> float:
    return float(np.hypot(*(lm[a, :2] - lm[b, :2])))


def _inter_ocular(lm: np.ndarray) -> float:
    """Distance between the eye centres (mean of each eye's two corners)."""
    left = (lm[263, :2] + lm[362, :2]) / 2
    right = (lm[33, :2] + lm[133, :2]) / 2
    return float(np.hypot(*(left - right)))


def mouth_open_ratio(landmarks: np.ndarray) -> float:
    """Inner-lip gap (upper inner lip centre 13 to lower 14) / inter-ocular distance.

    landmarks: (478,2|3) in any pixel frame. ~0 closed, ~0.5-1 wide open.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    return _dist(lm, 13, 14) / max(_inter_ocular(lm), 1e-6)


def eye_open_ratio(landmarks: np.ndarray) -> tuple[float, float]:
    """(left, right) lid gap / eye width (corner to corner); subject's left / right.

    Left eye: lids 386-374, corners 263-362; right eye: lids 159-145, corners 33-133.
    ~0.3 open, < ~0.1 closed.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    left = _dist(lm, 386, 374) / max(_dist(lm, 263, 362), 1e-6)
    right = _dist(lm, 159, 145) / max(_dist(lm, 33, 133), 1e-6)
    return left, right


AE_KEYS = ("num_points", "dims", "hidden", "code")  # the fusion networks' arch_meta sizes


def module_arrays(module) -> dict[str, np.ndarray]:
    """A torch module's state dict as float32 numpy arrays (torch is imported by whoever built
    the module)."""
    return {k: v.detach().float().cpu().numpy() for k, v in module.state_dict().items()}


def arch_sizes(module, keys: tuple[str, ...]) -> dict[str, int]:
    """The module's `arch_meta()` values for `keys`, as ints."""
    meta = module.arch_meta()
    return {k: int(meta[k]) for k in keys}


def fusion_ae_of(module) -> FusionAE:
    """`reenact.fusion.mlp.FusionAE` from a trained `reenact_lab.nn.fusion.LandmarkFusionAE`."""
    from reenact.fusion.mlp import FusionAE

    return FusionAE(module_arrays(module), **arch_sizes(module, AE_KEYS), path="module")


def residual_realisation_of(module) -> ResidualRealisation:
    """`reenact.fusion.mlp.ResidualRealisation` from a trained
    `reenact_lab.nn.fusion_residual.ResidualFusion`."""
    from reenact.fusion.mlp import ResidualRealisation

    keys = (*AE_KEYS, "basis")
    return ResidualRealisation(module_arrays(module), **arch_sizes(module, keys), path="module")
