"""`reenact doctor`: what this install can do, what it lacks, and the command that adds it.

Required checks print [ok  ] or [FAIL] (and make the exit code 1); the parts a machine may lack
(cameras, a virtual camera) print [warn]; the optional extras ([cuda], [train], [eval],
[hotkeys]) print [optional] when absent, with the pip command that adds them for the way reenact
was installed here: an editable checkout (`pip install -e 'CHECKOUT[cuda]'`), a wheel file that
is still there, or an index (`pip install 'reenact[cuda]'`). What is declared comes from the
installed package's metadata, so the advice follows pyproject.toml; torch is imported only when
it is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

DIST = "reenact"
# Used when the installed metadata does not list an extra (reenact run from a bare checkout).
FALLBACK_EXTRAS = {
    "cuda": ("torch",),
    "train": ("reenact-lab", "torch", "tensorboard"),
    "eval": ("reenact-lab", "dlib-bin", "face-recognition-models", "matplotlib"),
    "hotkeys": ("pynput",),
}
EXTRA_PURPOSE = {
    "cuda": "the CUDA renderer",
    "train": "reenact train",
    "eval": "reenact eval",
    "hotkeys": "global hotkeys, hotkeys.enabled",
}


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


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, list[str]]:
    """reenact's requirements by extra ("" = core): {extra: ["numpy<2,>=1.24", ...]}, from the
    installed metadata; empty when reenact is not installed as a distribution."""
    try:
        lines = metadata.requires(DIST) or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, list[str]] = {}
    for line in lines:
        requirement, _, marker = line.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if _applies(line, extra.group(1) if extra else ""):
            found.setdefault(extra.group(1) if extra else "", []).append(requirement.strip())
    return found


def _applies(line: str, extra: str) -> bool:
    """Whether a requirement's marker holds on this interpreter: reenact declares different
    mediapipe, numpy and OpenCV pins per Python version (True when `packaging` is missing)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return True
    marker = Requirement(line).marker
    return marker is None or marker.evaluate({"extra": extra})


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return _norm(match.group(1)) if match else ""


def requirement_for(dist: str, extra: str = "") -> str:
    """How reenact declares `dist` ("numpy<2,>=1.24"), or the bare name."""
    return next((r for r in declared().get(extra, []) if _name(r) == _norm(dist)), dist)


def satisfies(dist: str, version: str) -> bool:
    """Whether `version` meets reenact's declared requirement on `dist` (True when it cannot be
    told: no metadata, or no `packaging` to read the specifier)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return True
    requirement = requirement_for(dist)
    if requirement == dist:
        return True
    return Requirement(requirement).specifier.contains(version, prereleases=True)


def extra_dists(extra: str) -> tuple[str, ...]:
    """The packages an extra brings: the metadata's (other extras named inside it left out), or
    FALLBACK_EXTRAS."""
    listed = [r for r in declared().get(extra, []) if _name(r) != DIST]
    return tuple(_name(r) for r in listed) or FALLBACK_EXTRAS.get(extra, ())


def _quote(text: str) -> str:
    return f'"{text}"' if os.name == "nt" else f"'{text}'"


def pip_command() -> str:
    """`pip` when the pip on PATH is this interpreter's, else `PYTHON -m pip`."""
    found = shutil.which("pip")
    if found and Path(found).parent == Path(sys.executable).parent:
        return "pip"
    return f"{sys.executable} -m pip"


def install_origin() -> tuple[str, str]:
    """How reenact was installed: ("editable", CHECKOUT), ("file", WHEEL OR FOLDER) or
    ("index", "") from its direct_url.json (PEP 610)."""
    try:
        text = metadata.distribution(DIST).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if not text:
        return "index", ""
    try:
        info = json.loads(text)
    except ValueError:
        return "index", ""
    url = urlsplit(str(info.get("url", "")))
    path = unquote(url.path) if url.scheme == "file" else ""
    if (info.get("dir_info") or {}).get("editable") and path:
        return "editable", path
    if path and Path(path).exists():
        return "file", path
    return "index", ""


def install_extra_command(extra: str) -> str:
    """The command that adds `extra` to this install."""
    pip = pip_command()
    kind, where = install_origin()
    if kind == "editable":
        here = "." if Path.cwd().resolve() == Path(where).resolve() else where
        return f"{pip} install -e {_quote(f'{here}[{extra}]')}"
    if kind == "file":
        return f"{pip} install {_quote(f'{where}[{extra}]')}"
    return f"{pip} install {_quote(f'{DIST}[{extra}]')}"


def check_python() -> bool:
    version = platform.python_version()
    wanted = ""
    try:
        wanted = metadata.metadata(DIST).get("Requires-Python") or ""
    except metadata.PackageNotFoundError:
        pass
    ok = sys.version_info[:2] >= (3, 10)
    if wanted:
        try:
            from packaging.specifiers import SpecifierSet

            ok = SpecifierSet(wanted).contains(version, prereleases=True)
        except ImportError:
            pass
    return _check(
        ok, "python", version, f"use a Python that reenact supports ({wanted or '>=3.10'})"
    )


def check_mediapipe() -> bool:
    version = _version("mediapipe")
    spec = importlib.util.find_spec("mediapipe")
    fix = f"{pip_command()} install {_quote(requirement_for('mediapipe'))}"
    if version is None or spec is None or not spec.submodule_search_locations:
        return _check(False, "mediapipe", "not installed", fix)
    root = Path(list(spec.submodule_search_locations)[0])
    model = root / "modules" / "face_landmark" / "face_landmark_with_attention.tflite"
    hint = " (later releases download models at run time)"
    if (
        int(version.split(".")[0]) >= 1
    ):  # 1.x has no legacy solution: the tracker runs reenact's bundle
        from reenact.landmarks.tasks_mesh import BUNDLE as model

        hint = ""
    ok = satisfies("mediapipe", version) and model.is_file()
    _check(
        ok,
        "mediapipe",
        f"{version}, face mesh model {'present' if model.is_file() else 'MISSING'}",
        fix + hint,
    )
    pb, np_ = _version("protobuf") or "?", _version("numpy") or "?"
    ok_deps = satisfies("protobuf", pb) and satisfies("numpy", np_) and "?" not in (pb, np_)
    fix = (
        f"{pip_command()} install {_quote(requirement_for('protobuf'))} "
        f"{_quote(requirement_for('numpy'))}"
    )
    return _check(ok_deps, "protobuf/numpy", f"protobuf {pb}, numpy {np_}", fix) and ok


def check_onnxruntime() -> bool:
    """The CPU generator's runtime, a core dependency."""
    if importlib.util.find_spec("onnxruntime") is None:
        return _check(
            False,
            "onnxruntime",
            "not installed (the generator on the CPU)",
            f"{pip_command()} install {_quote(requirement_for('onnxruntime'))}",
        )
    try:
        import onnxruntime
    except ImportError as exc:
        return _check(
            False,
            "onnxruntime",
            f"cannot import ({exc})",
            f"{pip_command()} install --force-reinstall {_quote(requirement_for('onnxruntime'))}",
        )
    providers = ", ".join(onnxruntime.get_available_providers())
    return _check(True, "onnxruntime", f"{onnxruntime.__version__} ({providers})")


def check_torch() -> bool:
    """torch, for the CUDA renderer and training: looked at only when it is installed (absent,
    `check_extras` says so); installed but broken fails, as any code that probes it would."""
    if importlib.util.find_spec("torch") is None:
        return True
    try:
        import torch
    except ImportError as exc:
        return _check(
            False,
            "torch",
            f"installed but cannot be imported ({exc})",
            f"reinstall it: {install_extra_command('cuda')}",
        )
    cuda = torch.cuda.is_available()
    detail = f"{torch.__version__}, " + (
        f"CUDA {torch.version.cuda} on {torch.cuda.get_device_name(0)}"
        if cuda
        else "CPU only (a CPU build: the CUDA renderer needs torch's CUDA build)"
        if torch.version.cuda is None
        else "CPU only (no CUDA device found)"
    )
    return _check(True, "torch", detail)


def check_extras() -> bool:
    """One line per optional extra: ok, or [optional] with what is missing and the command."""
    for extra, purpose in EXTRA_PURPOSE.items():
        missing = [d for d in extra_dists(extra) if _version(d) is None]
        if not missing:
            print(f"[ok  ] {extra} (optional): {purpose}")
            continue
        print(
            f"[optional] {extra}: {', '.join(missing)} not installed ({purpose})\n"
            f"       -> {install_extra_command(extra)}"
        )
    return True


def check_cameras() -> bool:
    """The cameras by name (the webcam source's own list; indexes opened where none exists)."""
    from reenact.plugin_api import SOURCE_GROUP, load_plugin

    cameras = load_plugin(SOURCE_GROUP, "webcam").cameras(probe=True)
    shown = ", ".join(f'{c["device"]} "{c["name"]}"' for c in cameras)
    return _check(
        bool(cameras),
        "cameras",
        f"{shown} (--source webcam:N)" if cameras else "none found",
        "plug in a webcam, or use --source video:FILE; on Linux "
        "check `ls -l /dev/video*` and that you are in the 'video' group",
        optional=True,
    )


def check_virtualcam() -> bool:
    from reenact.plugin_api import SINK_GROUP, load_plugin

    reason = load_plugin(SINK_GROUP, "virtualcam").probe(None)
    return _check(
        reason is None,
        "virtual camera",
        "usable" if reason is None else reason,
        "or use --sink stream and add a Media Source in OBS (see README: Going live)",
        optional=True,
    )


def check_weights() -> bool:
    from reenact.engine.shipped import shipped_weights

    gen, fus = shipped_weights("generator", 256), shipped_weights("fusion")
    detail = f"generator: {gen.name if gen else 'none'}, fusion: {fus.name if fus else 'none'}"
    return _check(True, "default models", detail + ("" if gen else " (the warp renderer is used)"))


CHECKS = (
    check_python,
    check_mediapipe,
    check_onnxruntime,
    check_torch,
    check_cameras,
    check_virtualcam,
    check_weights,
    check_extras,
)


def cmd_doctor(args) -> int:
    """Exit 1 when a required check printed [FAIL]; the others only print [warn] or
    [optional]."""
    failed = sum(not check() for check in CHECKS)  # every check runs and prints its line
    if failed:
        print(f"\nnot ready: {failed} required check(s) failed; see the arrows above")
        return 1
    print("\nready")
    return 0
