"""What the warp's corrections draw, as arrays to store and compare (`tests/golden/`).

`outputs(crop, landmarks, frames)` runs the current code on one target crop and its driven
frames and returns every correction's map overrides and layers, the CPU warp's render, the CUDA
path's planes (`WarpExtras`) and its render on CPU torch (`TorchWarp`), and the generator's
paste-over alphas (`reenact.render.eye_keep`), all quantised to fixed steps (`STEPS`) so that
they store compactly and compare exactly on this machine. `make_goldens.py` stores them;
`tests/unit/test_corrections_golden.py` compares the current code with what is stored.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).parent
SIZE = 256
# the portraits (one of each kind) and what each shows
PORTRAITS = {
    "glasses": "lp_drv_d8.jpg",  # a photo, glasses, curly hair
    "cartoon": "lp_s7.jpg",  # a drawn face with large irises
    "teeth": "tpsmm_source.png",  # a smile with teeth: the seal closes it
    "turned": "lp_drv_d12.jpg",  # a turned head looking up
    "yawn": "lp_drv_d19.jpg",  # an open mouth: its own interior
}
# stored step per kind (1 / step units); one step is the tolerance on another CPU
STEPS = {"alpha": 255.0, "px": 16.0, "rgb": 1.0, "mask": 255.0}
# a stored integer is this many steps finer than the tolerance (alphas, pixel positions; the
# paste-over's large feathered masks and colours are stored at the tolerance's step)
FINE = 8
COARSE = ("rgb", "mask")
MOVE_NAMES = (
    "neutral",
    "smile",
    "mouth_open",
    "lips_closed",
    "blink",
    "half_closed",
    "wide_eyes",
    "glance_left",
    "glance_right",
    "frown",
)


def fingerprint() -> dict[str, str]:
    """What decides float rounding: the CPU and the numeric libraries' versions."""
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "none"
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "numpy": np.__version__,
        "cv2": cv2.__version__,
        "torch": torch_version,
    }


def _iris_glance(xy: np.ndarray, share: float) -> np.ndarray:
    """Both irises (468..477) moved sideways by `share` of their eye's width."""
    from reenact.landmarks.head_pose import EYE_RINGS

    out = xy.copy()
    for ring, iris in zip(EYE_RINGS, (range(468, 473), range(473, 478))):
        width = float(np.hypot(*(out[ring[8], :2] - out[ring[0], :2])))
        out[list(iris), 0] += share * width
    return out


def moves(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """The target's own (478,3) landmarks driven by each of MOVE_NAMES (`move_sweep.moved`'s
    moves, exaggerated and combined): name -> (478,3) float32."""
    from reenact_lab.eval.move_sweep import moved

    rest = np.asarray(landmarks, np.float32)

    def chain(*steps):
        out = rest
        for move, amount in steps:
            out = moved(out, move, amount)
        return out

    return {
        "neutral": rest.copy(),
        "smile": chain(("smile", 0.25), ("jaw", 0.06)),
        "mouth_open": chain(("jaw", 0.3)),
        "lips_closed": chain(("jaw", -0.15), ("smile", 0.1)),
        "blink": chain(("eyes", -0.3)),
        "half_closed": chain(("eyes", -0.1), ("jaw", 0.1)),
        "wide_eyes": chain(("eyes", 0.2), ("brows", 0.25)),
        "glance_left": _iris_glance(chain(("eyes", -0.05), ("jaw", 0.15)), -0.18),
        "glance_right": _iris_glance(chain(("eyes", 0.1), ("brows", -0.15)), 0.18),
        "frown": chain(("brows", -0.12), ("smile", -0.12), ("eyes", -0.05)),
    }


def _q(x: np.ndarray, kind: str) -> np.ndarray:
    """A float array as integers of FINE steps per STEPS[kind] unit (int32); uint8 as it is."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x
    scale = STEPS[kind] * (1 if kind in COARSE else FINE)
    return np.round(x.astype(np.float64) * scale).astype(np.int32)


def _boxes(found: list, prefix: str, out: dict, kinds: tuple[str, str]) -> None:
    """(box, a, b) triples as `prefix/k/box`, `prefix/k/a`, `prefix/k/b`; `prefix/n` their
    count."""
    out[f"{prefix}/n"] = np.array([len(found)], np.int32)
    for k, (box, a, b) in enumerate(found):
        out[f"{prefix}/{k}/box"] = np.asarray(box, np.int32)
        out[f"{prefix}/{k}/{kinds[0]}"] = _q(a, kinds[0])
        out[f"{prefix}/{k}/{kinds[1]}"] = _q(b, kinds[1])


def is_device_key(key: str) -> bool:
    """Whether `key` is the CUDA path's (its planes and its render on CPU torch)."""
    return "/planes/" in key or key.endswith("/torch_render")


def outputs(
    crop: np.ndarray, landmarks: np.ndarray, frames: dict[str, np.ndarray], device: bool = True
) -> dict:
    """Every correction's output on `crop` (S,S,3) uint8 with `landmarks` (478,3) driven by
    `frames` (name -> (478,3)), in order: name/what -> quantised array (module doc). device:
    include the CUDA path's (`is_device_key`; needs torch)."""
    from reenact.render.corrections.apply import keep_alpha, paste, patches
    from reenact.render.eye_keep import EyeKeep
    from reenact.render.warp import WarpRenderer

    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    by_name = {c.name: c for c in warp.corrections}
    eye_keep = EyeKeep(size=SIZE)
    on_device = _DevicePath(crop, landmarks) if device else None
    keep = np.zeros((SIZE, SIZE), np.float16)
    out: dict[str, np.ndarray] = {}
    for name, fused in frames.items():
        xy = warp.follow(fused)
        out[f"{name}/follow/px"] = _q(xy, "px")
        bands = by_name["lip_bands"].geometry(xy)  # stored as where the pixels read
        _boxes(
            [(b, a, warp.identity[b[1] : b[3], b[0] : b[2]] - shift) for b, a, shift in bands],
            f"{name}/lip_bands",
            out,
            ("alpha", "px"),
        )
        _boxes(by_name["eyes"].geometry(xy), f"{name}/eyeballs", out, ("alpha", "px"))
        for painter in ("irises", "lids", "mouth"):
            layers = by_name[painter].overlay(xy)
            _boxes(layers, f"{name}/{painter}", out, ("rgb", "alpha"))
        render = warp.render(fused)
        out[f"{name}/render"] = render.copy()
        if on_device is not None:
            on_device.run(fused, name, out)
        # the generator's paste-over: its patches' alphas and what they paste, its planes
        kept = patches(eye_keep.overlay(fused) + warp.kept_layers, render)
        out[f"{name}/paste/n"] = np.array([len(kept)], np.int32)
        for k, patch in enumerate(kept):
            x0, y0, x1, y1 = patch.box  # stored as (y0, y1, x0, x1)
            out[f"{name}/paste/{k}/box"] = np.asarray((y0, y1, x0, x1), np.int32)
            out[f"{name}/paste/{k}/mask"] = _q(patch.alpha, "mask")
        # what they paste is the render's pixels: one move's pasted image is enough
        if name == "smile":
            out[f"{name}/paste/image"] = paste(crop.copy(), kept)
        keep_alpha(keep, eye_keep.overlay(xy), warp.kept_layers)
        out[f"{name}/keep/mask"] = _q(keep.astype(np.float32), "mask")
    return out


class _DevicePath:
    """The CUDA generator's warp on CPU torch: the host planes (`WarpExtras`, filled frame
    after frame as the generator fills them) and the device warp's render with them."""

    def __init__(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        from reenact.render.corrections.apply import WarpExtras
        from reenact.render.warp import WarpRenderer
        from reenact.render.warp_torch import TorchWarp

        self.planes = np.zeros((7, SIZE, SIZE), np.float16)  # as the generator's host planes
        self.extras = WarpExtras(WarpRenderer(size=SIZE), self.planes)
        self.extras.warp.set_target(crop, landmarks)
        self.warp = TorchWarp(size=SIZE)
        self.warp.set_target(self.extras.warp)

    def run(self, fused: np.ndarray, name: str, out: dict) -> None:
        import torch

        planes, xy = self.planes, self.extras.warp.follow(fused)
        self.extras.fill(xy)
        out[f"{name}/planes/alpha"] = _q(planes[[0, 6]].astype(np.float32), "alpha")
        out[f"{name}/planes/px"] = _q(planes[1:3].astype(np.float32), "px")
        out[f"{name}/planes/rgb"] = _q(planes[3:6].astype(np.float32), "rgb")
        with torch.no_grad():
            self.warp.eyes.copy_(torch.from_numpy(planes[:3].astype(np.float32)))
            self.warp.overlay.copy_(torch.from_numpy(planes[3:].astype(np.float32)))
            lm = torch.from_numpy(np.array(fused, np.float32))  # a copy: fused stays as it is
            lm[:, :2] = torch.from_numpy(xy)
            image = self.warp(lm)[0].permute(1, 2, 0).numpy()
        out[f"{name}/torch_render"] = np.clip(image + 0.5, 0, 255).astype(np.uint8)


def unit(key: str) -> int:
    """How many stored steps make one tolerance step for `key`'s values (0: exact always:
    boxes and counts)."""
    last = key.rsplit("/", 1)[-1]
    if last in ("box", "n"):
        return 0
    return FINE if last in ("alpha", "px") else 1


def _pack(key: str, value: np.ndarray, result: dict, crop: np.ndarray) -> tuple[str, np.ndarray]:
    """How one output is stored: an image as its difference from the crop (the device render
    from the CPU render), an integer plane as differences along its rows (both compress to
    little where the values are smooth or unchanged)."""
    if value.dtype == np.uint8 and value.shape == crop.shape:
        base, tag = crop, "@crop"
        if key.endswith("torch_render"):
            base, tag = result[key.replace("torch_render", "render")], "@render"
        return key + tag, (value.astype(np.int16) - base).astype(np.int16)
    if value.dtype == np.int32 and value.ndim >= 2:
        rows = np.diff(value, axis=-1, prepend=0)
        if np.abs(rows).max(initial=0) < 2**15:
            rows = rows.astype(np.int16)
        return key + "@rows", rows
    return key, value


def _unpack(key: str, value: np.ndarray, result: dict, crop: np.ndarray) -> tuple[str, np.ndarray]:
    """`_pack` undone (`result` holds the CPU renders already unpacked)."""
    if key.endswith("@crop"):
        return key[:-5], (value + crop).astype(np.uint8)
    if key.endswith("@render"):
        key = key[:-7]
        return key, (value + result[key.replace("torch_render", "render")]).astype(np.uint8)
    if key.endswith("@rows"):
        return key[:-5], np.cumsum(value, axis=-1, dtype=np.int32)
    return key, value


def store(path: Path, inputs: dict, result: dict) -> None:
    """Write one portrait's inputs and outputs, compressed (`_pack`), atomically."""
    crop = inputs["crop"]
    arrays = {f"in/{k}": v for k, v in inputs.items()}
    for key, value in result.items():
        key, value = _pack(key, value, result, crop)
        arrays[f"out/{key}"] = value
    meta = json.dumps({"fingerprint": fingerprint(), "steps": STEPS, "fine": FINE})
    arrays["meta"] = np.frombuffer(meta.encode(), np.uint8)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def load(path: Path) -> tuple[dict, dict, dict]:
    """(inputs, outputs, meta) of a stored portrait, as `outputs` returns them."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    inputs = {k[3:]: v for k, v in arrays.items() if k.startswith("in/")}
    crop = inputs["crop"]
    result: dict[str, np.ndarray] = {}
    # the CPU renders first: the device renders are stored against them
    for key in sorted((k for k in arrays if k.startswith("out/")), key=lambda k: "@render" in k):
        name, value = _unpack(key[4:], arrays[key], result, crop)
        result[name] = value
    return inputs, result, meta


def frames_of(inputs: dict) -> dict[str, np.ndarray]:
    """The stored driven frames: name -> (478,3) float32."""
    return {name: inputs["frames"][k] for k, name in enumerate(MOVE_NAMES)}
