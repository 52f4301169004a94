"""Reading weights files as numpy arrays, without torch (`reenact.engine.weights` writes them).

The CPU runtime (the fusers, the neutral estimate, the generator's metadata) reads weights
through here so that it runs where torch is not installed; `reenact.engine.weights` adds the
torch side (saving, loading into modules) on top of the same checks. The checks, in order: the
file exists; it is not a pickle / torch.save zip (refused before anything parses it); its header
and data are whole; its metadata matches what the caller expects; every float is finite; and,
for `check_arrays`, its keys and shapes match what the caller needs. Each failure is one
WeightsError line that names the file.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from reenact.errors import WeightsError

FORMAT = "reenact.weights/1"
RESERVED = ("format", "storage_dtype")
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default (zip) format
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
SHOW = 3  # mismatches listed in one message
_NOT_SAFETENSORS = "{path}: not a safetensors file (bad header); expected .safetensors weights"


def check_container(path: Path) -> None:
    """Refuse missing files, pickles and anything whose header is not safetensors JSON."""
    if not path.is_file():
        raise WeightsError(
            f"{path}: weights file not found; check the path, or train / download the weights first"
        )
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    if head[8:9] != b"{":  # safetensors: u64 header length, then the JSON header
        if is_pickle(head):
            raise WeightsError(
                f"{path}: is a pickled torch.save checkpoint, which reenact refuses to load "
                "(unpickling runs code); convert it to .safetensors with "
                "safetensors.torch.save_file where you trust it"
            )
        if size < 9:
            raise WeightsError(f"{path}: truncated or not a safetensors file ({size} bytes)")
        raise WeightsError(_NOT_SAFETENSORS.format(path=path))
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len > _MAX_HEADER:
        raise WeightsError(_NOT_SAFETENSORS.format(path=path))
    if 8 + header_len > size:
        raise WeightsError(
            f"{path}: truncated file ({size} bytes, its header alone needs {8 + header_len}); "
            "copy or download it again"
        )


def is_pickle(head: bytes) -> bool:
    """torch.save's zip container, or a raw pickle (protocol 2..5: b"\\x80" + protocol)."""
    return head.startswith(_ZIP_MAGIC) or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def read_safetensors(
    path: Path, framework: str, *, tensors: bool = True
) -> tuple[dict, dict[str, str]]:
    """(tensors of `framework` "np" or "pt", metadata) of a checked container; WeightsError
    naming the file when its data are damaged. tensors False: the metadata only."""
    try:
        with safe_open(str(path), framework=framework, device="cpu") as f:
            meta = dict(f.metadata() or {})
            out = {key: f.get_tensor(key) for key in f.keys()} if tensors else {}
    except (SafetensorError, json.JSONDecodeError, OSError, ValueError, TypeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsError(
            f"{path}: truncated or corrupt safetensors file ({detail}); copy or download it again"
        ) from None
    return out, meta


def nonfinite_message(path: str | os.PathLike[str], key: str) -> str:
    return (
        f"{path}: tensor {key} holds NaN or infinite values (a diverged training run or a "
        "damaged file); use an earlier checkpoint or other weights"
    )


def check_finite_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """WeightsError naming the file and the first array holding NaN or an infinity."""
    for key, value in arrays.items():
        if np.issubdtype(value.dtype, np.floating) and not bool(np.isfinite(value).all()):
            raise WeightsError(nonfinite_message(path, key))


def _describe(values: Mapping[str, object], keys: list[str]) -> str:
    return " ".join(f"{k}={values.get(k, '?')}" for k in keys)


def check_meta(
    path: str | os.PathLike[str], meta: Mapping[str, str], expected: Mapping[str, object]
) -> None:
    """WeightsError unless every key of `expected` is in `meta` with the same (str) value."""
    wrong = [k for k, v in expected.items() if meta.get(k) != str(v)]
    if not wrong:
        return
    shown = [k for k in wrong if k != "arch"]
    built_arch = meta.get("arch", "an unknown network")
    built = " ".join(filter(None, [built_arch, _describe(meta, shown)]))
    want_arch = str(expected.get("arch", built_arch))
    want = " ".join(filter(None, [want_arch, _describe(expected, shown)]))
    raise WeightsError(
        f"{path}: built for {built}, expected {want}; use weights trained with these settings "
        "or change the settings to match the weights"
    )


def read_meta(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata of a weights file, its tensors left unread (the container still checked)."""
    path = Path(path)
    check_container(path)
    return read_safetensors(path, "np", tensors=False)[1]


def load_arrays(
    path: str | os.PathLike[str],
    *,
    expected: Mapping[str, object] | None = None,
    dtype: np.dtype | type | None = np.float32,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors weights file: (arrays, metadata as str -> str), as
    `reenact.engine.weights.load_weights` does but with numpy arrays.

    expected: metadata that must match (values compared as str).
    dtype: floating arrays cast to it (default float32, what the CPU runtime computes in;
    None keeps the stored dtype).
    """
    path = Path(path)
    check_container(path)
    arrays, meta = read_safetensors(path, "np")
    if expected:
        check_meta(path, meta, expected)
    check_finite_arrays(path, arrays)
    if dtype is not None:
        arrays = {
            k: v.astype(dtype) if np.issubdtype(v.dtype, np.floating) else v
            for k, v in arrays.items()
        }
    return arrays, meta


def check_arrays(
    path: str | os.PathLike[str],
    name: str,
    arrays: Mapping[str, np.ndarray],
    shapes: Mapping[str, tuple[int, ...]],
) -> None:
    """WeightsError listing the first missing / unexpected keys and shape mismatches of
    `arrays` against `shapes` (what network `name` needs), as `weights.check_state_dict` does."""
    problems = [f"missing {k}" for k in shapes if k not in arrays][:SHOW]
    problems += [f"unexpected {k}" for k in arrays if k not in shapes][:SHOW]
    problems += [
        f"{k} is {tuple(arrays[k].shape)}, expected {tuple(v)}"
        for k, v in shapes.items()
        if k in arrays and tuple(arrays[k].shape) != tuple(v)
    ][:SHOW]
    if problems:
        raise WeightsError(
            f"{path}: does not fit {name} ({'; '.join(problems)}); "
            "use weights saved from the same architecture"
        )
