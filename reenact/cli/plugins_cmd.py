"""`reenact plugins` (installed sources and sinks, usable here or not) and `reenact doctor`."""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
from importlib import metadata
from pathlib import Path

from reenact.plugin_api import SINK_GROUP, SOURCE_GROUP, entry_points


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins", help="list installed sources and sinks and whether each works here",
        description="Every source and sink installed through the `reenact.sources` / "
        "`reenact.sinks` entry points, with whether it is usable on this machine and, if not, "
        "what to do.",
    )
    p.set_defaults(handler=cmd_plugins)
    d = sub.add_parser(
        "doctor", help="check Python, torch/CUDA, MediaPipe models, cameras, virtual cameras",
        description="Checks what reenact needs and says what to do about each failure. Exits 1 "
        "when a required check fails ([FAIL]); the optional ones (ONNX Runtime, cameras, virtual "
        "cameras) print [warn] and name the way around them.",
    )
    d.set_defaults(handler=cmd_doctor)


def plugin_rows(group: str) -> list[tuple[str, str, str]]:
    """(name, where it comes from, 'ok' or the reason it is unusable) for each plugin of a group."""
    rows = []
    for name, ep in sorted(entry_points(group).items()):
        origin = ep.dist.name if ep.dist is not None else ep.value
        try:
            cls = ep.load()
            reason = cls.probe(None) if hasattr(cls, "probe") else None
        except Exception as exc:  # a broken third-party plugin must not hide the others
            reason = f"cannot load {ep.value}: {exc}"
        rows.append((name, origin, reason or "ok"))
    return rows


def cmd_plugins(args: argparse.Namespace) -> int:
    for title, group in (("sources", SOURCE_GROUP), ("sinks", SINK_GROUP)):
        print(f"{title} ({group}):")
        for name, origin, status in plugin_rows(group):
            print(f"  {name:<12} {status}   [{origin}]")
    return 0


def _check(ok: bool, label: str, detail: str, fix: str = "", optional: bool = False) -> bool:
    """Print the check's line; False only for a required check that failed."""
    mark = "ok  " if ok else "warn" if optional else "FAIL"
    line = f"[{mark}] {label}{' (optional)' if optional else ''}: {detail}"
    if not ok and fix:
        line += f"\n       -> {fix}"
    print(line)
    return ok or optional


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_python() -> bool:
    ok = sys.version_info[:2] in ((3, 10), (3, 11), (3, 12))
    return _check(ok, "python", platform.python_version(), "use Python 3.10-3.12 (mediapipe 0.10.21)")


def check_torch() -> bool:
    try:
        import torch
    except ImportError as exc:
        return _check(False, "torch", f"cannot import ({exc})", "pip install torch")

    cuda = torch.cuda.is_available()
    detail = f"torch {torch.__version__}, " + (
        f"CUDA {torch.version.cuda} on {torch.cuda.get_device_name(0)}" if cuda else "CPU only"
    )
    _check(True, "torch", detail)
    if not cuda and torch.version.cuda is None:
        print("       (CPU build: the generator runs on ONNX Runtime or torch on the CPU)")
    return True


def check_mediapipe() -> bool:
    version = _version("mediapipe")
    spec = importlib.util.find_spec("mediapipe")
    if version is None or spec is None or not spec.submodule_search_locations:
        return _check(False, "mediapipe", "not installed", "pip install mediapipe==0.10.21")
    root = Path(list(spec.submodule_search_locations)[0])
    model = root / "modules" / "face_landmark" / "face_landmark_with_attention.tflite"
    ok = version == "0.10.21" and model.is_file()
    _check(ok, "mediapipe", f"{version}, face mesh model {'present' if model.is_file() else 'MISSING'}",
           "pip install mediapipe==0.10.21 (later releases download models at run time)")
    pb, np_ = _version("protobuf") or "?", _version("numpy") or "?"
    ok_deps = pb.startswith(("4.", "3.")) and np_.startswith("1.")
    return _check(ok_deps, "protobuf/numpy", f"protobuf {pb}, numpy {np_}",
                  "pip install 'protobuf<5' 'numpy<2' (and onnx<1.23, which wants protobuf 6)") and ok


def check_onnxruntime() -> bool:
    try:
        import onnxruntime
    except ImportError:
        return _check(False, "onnxruntime", "not installed",
                      "pip install 'reenact[onnx]' for the fast CPU generator", optional=True)
    providers = ", ".join(onnxruntime.get_available_providers())
    return _check(True, "onnxruntime", f"{onnxruntime.__version__} ({providers})")


def check_cameras() -> bool:
    """The cameras by name (the webcam source's own list; indexes opened where none exists)."""
    from reenact.plugin_api import load_plugin

    cameras = load_plugin(SOURCE_GROUP, "webcam").cameras(probe=True)
    shown = ", ".join(f'{c["device"]} "{c["name"]}"' for c in cameras)
    return _check(bool(cameras), "cameras", f"{shown} (--source webcam:N)" if cameras
                  else "none found", "plug in a webcam, or use --source video:FILE; on Linux "
                  "check `ls -l /dev/video*` and that you are in the 'video' group", optional=True)


def check_virtualcam() -> bool:
    from reenact.plugin_api import load_plugin

    reason = load_plugin(SINK_GROUP, "virtualcam").probe(None)
    return _check(reason is None, "virtual camera", "usable" if reason is None else reason,
                  "or use --sink stream and add a Media Source in OBS (see README: Going live)",
                  optional=True)


def check_weights() -> bool:
    from reenact.engine.shipped import shipped_weights

    gen, fus = shipped_weights("generator", 256), shipped_weights("fusion")
    detail = f"generator: {gen.name if gen else 'none'}, fusion: {fus.name if fus else 'none'}"
    return _check(True, "default models", detail + ("" if gen else " (the warp renderer is used)"))


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 1 when a required check printed [FAIL]; the optional ones only print [warn]."""
    checks = (check_python, check_torch, check_mediapipe, check_onnxruntime, check_cameras,
              check_virtualcam, check_weights)
    failed = sum(not check() for check in checks)  # every check runs and prints its line
    if failed:
        print(f"\nnot ready: {failed} required check(s) failed; see the arrows above")
        return 1
    print("\nready")
    return 0
