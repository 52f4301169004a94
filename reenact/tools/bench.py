"""`reenact bench`: per-stage latency (median, p99) and end-to-end fps over a real clip.

For each crop size, generator width and backend present (torch on the CPU, ONNX Runtime on the
CPU, torch on CUDA), plus the training-free warp, the whole loop runs on the same clip into the
null sink. Widths: full = the paper's U-net (ngf 64), lite = ngf 16, both freshly initialised in
`renderer.variant` (speed does not depend on the weights' values); shipped = the generator shipped
in `reenact/models/` for that size (the default renderer, warp-guided), when there is one. A final
"live" row plays the clip at its own rate through the capture thread, with the shipped generator
(else the last width), and reports the delay from capture to sink.

With `profile=True` each row also keeps the steps inside the stages (`reenact.profiling`): the
warp's field, lip bands, eyes, remap and painters, the generator's input, network call and
output, the composite's colour match, blend, paste, detail layer and head region, the fuse's
head pose, rests, fuser, eyes and turn; `format_profile` prints them under their stages.
"""

from __future__ import annotations

import platform
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from reenact.config import Config, replace
from reenact.engine.device import resolve_backend
from reenact.engine.shipped import shipped_weights
from reenact.errors import ConfigError
from reenact.profiling import profile as step_profile
from reenact.tools.replay import load_replay, time_renderer

WIDTHS = {"full": 64, "lite": 16}
SHIPPED = "shipped"


def width_ngf(width: str) -> int:
    """A --widths entry's generator width: full (the paper's 64), lite (16), or a number."""
    if width in WIDTHS:
        return WIDTHS[width]
    if width.isdigit() and 1 <= int(width) <= 256:
        return int(width)
    raise ConfigError(f"--widths: unknown width '{width}' (full, lite, shipped or a number)")


@dataclass
class BenchCase:
    size: int
    renderer: str  # "generator" or "warp"
    width: str = ""  # "full" / "lite" for the generator
    backend: str = ""  # "torch", "onnx", "cuda"
    live: bool = False


def available_backends() -> list[str]:
    found = ["torch"]
    for kind in ("onnx", "cuda"):
        try:
            resolve_backend(kind)
            found.append(kind)
        except Exception:  # absent backends are skipped, not errors
            continue
    return found


def bench_cases(sizes, widths, backends) -> list[BenchCase]:
    cases = []
    for size in sizes:
        cases.append(BenchCase(size, "warp"))
        for width in widths:
            if width != SHIPPED:
                width_ngf(width)  # a ConfigError naming a bad entry before anything runs
            elif shipped_weights("generator", size) is None:
                continue  # nothing shipped at this size
            cases += [BenchCase(size, "generator", width, b) for b in backends]
    return cases


def _generator(case: BenchCase, config: Config, workdir: Path):
    from reenact.nn.unet import UNetGenerator
    from reenact.render.generator import generator_on_backend, load_generator_renderer

    if case.width == SHIPPED:
        weights = shipped_weights("generator", case.size, backend=case.backend)
        return load_generator_renderer(weights, config)
    model = UNetGenerator(
        ngf=width_ngf(case.width), size=case.size, variant=config.renderer.variant
    ).eval()
    onnx_path = workdir / f"unet_{case.width}_{case.size}.onnx"
    return generator_on_backend(model, model.arch_meta(), config, weights=None, onnx_path=onnx_path)


def run_case(
    case: BenchCase, base: Config, frames: int, workdir: Path, *, profile: bool = False
) -> dict:
    """One row: per-stage median/p99 ms and fps (and with `profile`, per step: "steps")."""
    from reenact.stream.session import run_session

    config = replace(
        base,
        renderer={"size": case.size, "kind": case.renderer, "backend": case.backend or "torch"},
        sink={"kind": "null"},
        stream={"max_frames": frames},
        calibration={"neutral_frames": 3, "neutral_window": 3},
        source={"realtime": case.live, "loop": True},
    )
    renderer = _generator(case, config, workdir) if case.renderer == "generator" else None
    with step_profile() if profile else nullcontext() as steps:
        report = run_session(config, show_progress=False, renderer=renderer)
    stages = report.timer.summary()
    stages.pop("capture", None)
    row = {
        "size": case.size,
        "renderer": case.renderer,
        "width": case.width,
        "ngf": int(renderer.meta["ngf"]) if renderer else 0,
        "variant": renderer.meta["variant"] if renderer else "",
        "backend": getattr(renderer, "backend_name", "numpy") if renderer else "numpy",
        "live": case.live,
        "stages": stages,
        "fps": report.timer.fps(),
        "cpu_ms": report.timer.cpu_ms_per_frame(),
        "frames": report.loop.frames_out,
        "dropped": report.loop.dropped,
    }
    if steps is not None:
        row["steps"] = steps.summary()
    if case.live:
        lat = np.array(report.loop.latency_ms)
        row["latency_ms"] = {"median": float(np.median(lat)), "p99": float(np.percentile(lat, 99))}
    return row


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info() -> dict:
    import torch

    info = {
        "cpu": cpu_name(),
        "cores": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    }
    for dist in ("onnxruntime", "mediapipe", "numpy", "opencv-contrib-python"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return info


def run_bench(
    base: Config, *, sizes, widths, backends, frames: int, live: bool, profile: bool = False
) -> dict:
    """All rows, plus the device and versions (with `profile`, each row's steps)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="reenact-bench-") as tmp:
        cases = bench_cases(sizes, widths, backends)
        if live:
            best = "onnx" if "onnx" in backends else backends[0]
            width = SHIPPED if shipped_weights("generator", sizes[0]) else widths[-1]
            cases.append(BenchCase(sizes[0], "generator", width, best, live=True))
        for case in cases:
            rows.append(run_case(case, base, frames, Path(tmp), profile=profile))
    return {"device": device_info(), "frames": frames, "profile": profile, "rows": rows}


# CUDA rows of a replay bench: (precision, CUDA graphs)
CUDA_VARIANTS = (("fp16", True), ("fp16", False), ("bf16", True))
REPLAY_STAGES = (
    "upload",
    "landmarks",
    "field",
    "warp",
    "generator",
    "download",
    "gpu_total",
    "render",
)


def run_replay_bench(base: Config, *, replay: Path, sizes, widths, backends, frames: int) -> dict:
    """The renderer alone on a replay's fused landmarks (see `reenact.tools.replay`): per size,
    the warp and each width x backend; CUDA rows per precision, with and without CUDA graphs.
    `render` is host to host (landmarks in, uint8 crop out); the GPU stages are CUDA events."""
    from reenact.render.warp import WarpRenderer

    rows = []
    with tempfile.TemporaryDirectory(prefix="reenact-bench-") as tmp:
        for size in sizes:
            data = load_replay(replay, size)
            for case in bench_cases([size], widths, backends):
                variants = CUDA_VARIANTS if case.backend == "cuda" else (("auto", True),)
                for precision, graph in variants:
                    config = replace(
                        base,
                        renderer={
                            "size": size,
                            "kind": case.renderer,
                            "backend": case.backend or "torch",
                            "precision": precision,
                            "cuda_graph": graph,
                        },
                    )
                    renderer = (
                        _generator(case, config, Path(tmp))
                        if case.width
                        else WarpRenderer(size=size)
                    )
                    stages = time_renderer(renderer, data, frames=frames)
                    meta = getattr(renderer, "meta", None)
                    rows.append(
                        {
                            "size": size,
                            "renderer": case.renderer,
                            "width": case.width,
                            "ngf": int(meta["ngf"]) if meta else 0,
                            "variant": meta["variant"] if meta else "",
                            "backend": getattr(renderer, "backend_name", "numpy"),
                            "stages": stages,
                            "fps": 1000.0 / stages["render"]["mean_ms"],
                            "frames": frames,
                        }
                    )
                    del renderer
    return {"device": device_info(), "frames": frames, "replay": str(replay), "rows": rows}


def _stage_cells(row: dict, stages) -> str:
    """A row's 'median/p99' cell per stage, '-' where the row has no such stage."""
    cells = ""
    for s in stages:
        v = row["stages"].get(s)
        cells += f" {v['median_ms']:>7.2f}/{v['p99_ms']:<7.2f}" if v else f" {'-':>15}"
    return cells


def format_replay_table(result: dict) -> str:
    head = f"{'size':>4} {'renderer':<9} {'width':<7} {'backend':<24}"
    head += "".join(f" {s[:10]:>15}" for s in REPLAY_STAGES) + f" {'fps':>7}"
    lines = [
        f"device: {result['device']['device']} ({result['device']['cpu']}), "
        f"torch {result['device']['torch']}; replay {result['replay']}",
        "stage columns: median / p99 ms; render = host to host; GPU stages from CUDA events",
        head,
    ]
    for row in result["rows"]:
        line = (
            f"{row['size']:>4} {row['renderer']:<9} {row['width'] or '-':<7} {row['backend']:<24}"
        )
        line += _stage_cells(row, REPLAY_STAGES)
        lines.append(line + f" {row['fps']:>7.1f}")
    return "\n".join(lines)


def format_table(result: dict) -> str:
    stages = ("track", "smooth", "fuse", "render", "composite", "sink", "total")
    head = f"{'size':>4} {'renderer':<9} {'width':<7} {'backend':<10}"
    head += "".join(f" {s[:9]:>15}" for s in stages) + f" {'fps':>6} {'cpu ms':>6}"
    lines = [
        f"device: {result['device']['device']} ({result['device']['cpu']}, "
        f"{result['device']['cores']} threads), torch {result['device']['torch']}",
        "stage columns: median / p99 ms; cpu ms: the process's CPU time a frame (all threads)",
        head,
    ]
    for row in result["rows"]:
        line = (
            f"{row['size']:>4} {row['renderer']:<9} {row['width'] or '-':<7} {row['backend']:<10}"
        )
        line += _stage_cells(row, stages)
        line += f" {row['fps']:>6.1f} {row.get('cpu_ms', 0.0):>6.1f}"
        if row.get("live"):
            lat = row["latency_ms"]
            line += (
                f"  live: capture->sink {lat['median']:.1f}/{lat['p99']:.1f} ms, "
                f"dropped {row['dropped']}"
            )
        lines.append(line)
    return "\n".join(lines)


# the stage each step's prefix belongs to (`reenact.profiling` names steps "prefix.step")
STEP_STAGES = {
    "track": "track",
    "fuse": "fuse",
    "warp": "render",
    "generator": "render",
    "render": "render",
    "composite": "composite",
}
PROFILE_STAGES = ("track", "smooth", "fuse", "render", "composite", "sink", "total")


def _profile_line(name: str, v: dict, indent: int) -> str:
    label = " " * indent + name
    return f"{label:<32} {v['median_ms']:>8.3f} {v['p99_ms']:>8.3f} {v['count']:>7d}"


def format_profile(result: dict) -> str:
    """Each profiled row's stages, each followed by its steps (median / p99 ms, calls)."""
    lines = []
    for row in result["rows"]:
        steps = row.get("steps")
        if steps is None:
            continue
        title = f"{row['size']} {row['renderer']} {row['width'] or '-'} {row['backend']}"
        lines += [
            "",
            f"profile: {title}{' (live)' if row.get('live') else ''}",
            f"{'stage / step':<32} {'median':>8} {'p99 ms':>8} {'calls':>7}",
        ]
        for stage in (*PROFILE_STAGES, "other"):
            own = [n for n in steps if STEP_STAGES.get(n.split(".")[0], "other") == stage]
            if stage in row["stages"]:
                lines.append(_profile_line(stage, row["stages"][stage], 0))
            elif own:
                lines.append(stage)
            lines += [_profile_line(n, steps[n], 2) for n in own]
    return "\n".join(lines)
