"""The runs of `bash scripts/device/bench_gpu.sh` (issue 91), merged into one JSON.

    python scripts/device/bench_gpu.py --clip CLIP --out DIR [--frames 300] [--budget-s 420]
                                       [--only LABELS] [--dry-run]

Each run is one `reenact bench --profile` process on the clip read through OpenCV (the
`cvclip` source of scripts/device/cvclip, installed by bench_gpu.sh): the generator on CUDA at
256 (the shipped model) and 512 (an ngf-32 network, timing only), each with the clip played as
a 30 and a 60 fps camera (`source.fps`), every run with its warp row and its live row (capture
-> sink); then the same machine's CPU alone, cut to 2 and to 8 cores, on ONNX Runtime. Runs go
in that order while the time budget lasts: a run that would start after it, or that outlasts
its share, is recorded as skipped or timed out and the others still run, so the JSON always
comes back.

`--dry-run` is the same on a machine without CUDA, to test the whole command before GPU time is
spent: the CUDA runs take torch on the CPU instead, and each run a few frames.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (label, bench arguments, cores: None = all); the order is the order of importance
RUNS = (
    (
        "gpu256_30",
        ["--sizes", "256", "--widths", "shipped", "--backends", "cuda", "--set", "source.fps=30"],
        None,
    ),
    (
        "gpu256_60",
        ["--sizes", "256", "--widths", "shipped", "--backends", "cuda", "--set", "source.fps=60"],
        None,
    ),
    (
        "gpu512_30",
        ["--sizes", "512", "--widths", "32", "--backends", "cuda", "--set", "source.fps=30"],
        None,
    ),
    (
        "gpu512_60",
        ["--sizes", "512", "--widths", "32", "--backends", "cuda", "--set", "source.fps=60"],
        None,
    ),
    (
        "cpu2_256",
        [
            "--sizes",
            "256",
            "--widths",
            "shipped",
            "--backends",
            "onnx",
            "--no-live",
            "--set",
            "renderer.threads=2",
        ],
        2,
    ),
    (
        "cpu8_256",
        [
            "--sizes",
            "256",
            "--widths",
            "shipped",
            "--backends",
            "onnx",
            "--no-live",
            "--set",
            "renderer.threads=8",
        ],
        8,
    ),
)
LABELS = tuple(label for label, _, _ in RUNS)
DRY_FRAMES = 6  # three calibrate the actor's neutral, three are rendered
LONGEST_RUN_S = 150.0  # one run's share of the budget at most
MARGIN_S = 20.0  # a run is started only with this much budget left beyond its expected time


def bench_command(
    label: str, args: list[str], *, clip: str, frames: int, json_path: Path, dry_run: bool
) -> list[str]:
    """The `reenact bench` command line of one run (CUDA swapped for torch in a dry run)."""
    if dry_run:
        args = ["torch" if a == "cuda" else a for a in args]
    return [
        sys.executable,
        "-m",
        "reenact.cli.main",
        "bench",
        "--profile",
        "--source",
        f"cvclip:{clip}",
        "--frames",
        str(frames),
        "--json",
        str(json_path),
        "--set",
        "sink.kind=null",
        *args,
    ]


def _cores(count: int | None):
    """A child's start: kept to the first `count` cores (all of them when None)."""
    if count is None or not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))[:count]
    return lambda: os.sched_setaffinity(0, cores)


def run_one(
    label: str,
    args: list[str],
    cores: int | None,
    *,
    clip: str,
    frames: int,
    work: Path,
    dry_run: bool,
    timeout_s: float,
) -> dict:
    """One run: its command, exit status, seconds, the bench's JSON (None when it failed) and
    the last lines it printed."""
    json_path = work / f"{label}.json"
    command = bench_command(
        label, args, clip=clip, frames=frames, json_path=json_path, dry_run=dry_run
    )
    print(f"=== {label}: {shlex.join(command[1:])}", flush=True)
    start = time.monotonic()
    record = {"label": label, "command": shlex.join(["python", *command[1:]]), "cores": cores}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, preexec_fn=_cores(cores)
        )
        record["returncode"] = done.returncode
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        record["returncode"] = None
        record["timed_out_after_s"] = round(timeout_s, 1)
        output = (
            (exc.stdout or b"").decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
    record["seconds"] = round(time.monotonic() - start, 1)
    kept = [
        line
        for line in output.splitlines()
        if not line.startswith(("W0000", "I0000")) and "inference_feedback" not in line
    ]
    record["tail"] = kept[-40:]
    # the stage table (the profile tables are in the JSON); a failure's last lines
    table = kept[
        : next((i for i, line in enumerate(kept) if line.startswith("profile:")), len(kept))
    ]
    print("\n".join(table[-12:] if record["returncode"] == 0 else kept[-30:]), flush=True)
    record["result"] = (
        json.loads(json_path.read_text())
        if record["returncode"] == 0 and json_path.is_file()
        else None
    )
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_gpu.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clip", required=True, help="a video with one face (read by OpenCV)")
    p.add_argument("--out", type=Path, required=True, help="folder for bench_gpu.json")
    p.add_argument("--frames", type=int, default=300, help="frames per row (default 300)")
    p.add_argument(
        "--budget-s", type=float, default=420.0, help="seconds for all runs together (default 420)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help=f"no GPU needed: torch on the CPU for CUDA, {DRY_FRAMES} frames a row",
    )
    p.add_argument(
        "--only",
        default="",
        metavar="LABELS",
        help=f"these runs alone, e.g. gpu256_30,cpu2_256 (of {', '.join(LABELS)})",
    )
    args = p.parse_args(argv)
    only = [label for label in args.only.split(",") if label]
    if set(only) - set(LABELS):
        print(
            f"bench_gpu.py: --only: unknown run {', '.join(sorted(set(only) - set(LABELS)))} "
            f"(runs: {', '.join(LABELS)})",
            file=sys.stderr,
        )
        return 2
    if not Path(args.clip).is_file():
        print(f"bench_gpu.py: no clip at {args.clip}", file=sys.stderr)
        return 2
    frames = DRY_FRAMES if args.dry_run else args.frames
    args.out.mkdir(parents=True, exist_ok=True)
    runs, start, longest = [], time.monotonic(), 0.0
    # each run's own JSON in a folder of its own: a device call brings back few files
    work = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    for label, bench_args, cores in RUNS:
        if only and label not in only:
            continue
        left = args.budget_s - (time.monotonic() - start)
        if left < longest + MARGIN_S and runs:  # the next run would likely not finish in time
            runs.append({"label": label, "skipped": f"{left:.0f} s of the budget left"})
            print(f"=== {label}: skipped, {left:.0f} s of the budget left", flush=True)
            continue
        record = run_one(
            label,
            bench_args,
            cores,
            clip=args.clip,
            frames=frames,
            work=work,
            dry_run=args.dry_run,
            timeout_s=max(10.0, min(LONGEST_RUN_S, left)),
        )
        longest = max(longest, record["seconds"])
        runs.append(record)
    summary = {
        "dry_run": args.dry_run,
        "clip": args.clip,
        "frames": frames,
        "host": platform.node(),
        "seconds": round(time.monotonic() - start, 1),
        "runs": runs,
    }
    path = args.out / "bench_gpu.json"
    path.write_text(json.dumps(summary, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    failed = [r["label"] for r in runs if r.get("returncode", 0) != 0]
    print(f"wrote {path} ({summary['seconds']} s; failed: {', '.join(failed) or 'none'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
