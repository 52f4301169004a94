"""Network weights as safetensors files with the architecture in their metadata. Never unpickles.

A file holds a state dict (contiguous CPU tensors, optionally stored as fp16) and string
metadata: the module's `arch_meta()` (arch, variant, ngf, size, ...) plus anything the caller
adds (steps, dataset, ...), and `format` / `storage_dtype` written here. Loading checks, in
order: the file exists; it is not a pickle / torch.save zip (refused before anything parses it);
its header and data are whole; its metadata matches what the caller expects; every float is
finite (no NaN / inf); and, for `load_into`, its keys and shapes match the module. Each failure is
one WeightsError line that names the file.

Reading without torch (numpy arrays, the checks themselves): `reenact.engine.arrays`.

The same tensors and metadata always give the same bytes: safetensors (0.8.0) writes the
metadata in a random order each process (safetensors issue #584), so `save_weights` puts the
header's metadata keys in sorted order before writing. A refit that changes nothing then leaves
the file, and its checksum, unchanged.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_save

from reenact.engine.arrays import FORMAT, check_container as _check_container, check_meta
from reenact.engine.arrays import RESERVED as _RESERVED, SHOW as _SHOW
from reenact.engine.arrays import nonfinite_message, read_safetensors
from reenact.errors import WeightsError

__all__ = [
    "FORMAT",
    "check_finite",
    "check_meta",
    "check_state_dict",
    "load_into",
    "load_weights",
    "resave_weights",
    "save_module",
    "save_weights",
]


def _stringify_meta(meta: Mapping[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in meta.items():
        if not isinstance(key, str):
            raise TypeError(f"weights metadata keys must be str, got {key!r}")
        if key in _RESERVED:
            raise ValueError(f"weights metadata key {key!r} is reserved")
        out[key] = str(value)
    return out


def _to_storage(state_dict: Mapping[str, torch.Tensor], dtype: torch.dtype | None) -> dict:
    """Detached, contiguous CPU copies (shared storage un-shared); floats cast to `dtype`."""
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        t = value.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        t = t.contiguous()
        storage = t.untyped_storage().data_ptr()
        if storage and storage in seen:
            t = t.clone()  # safetensors refuses tensors that share storage (tied weights)
        seen.add(t.untyped_storage().data_ptr())
        tensors[key] = t
    return tensors


def save_weights(
    path: str | os.PathLike[str],
    state_dict: Mapping[str, torch.Tensor],
    meta: Mapping[str, object],
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write `state_dict` and `meta` (values stored as str) to `path` as safetensors.

    dtype: e.g. torch.float16 to store floating tensors at half size (None keeps each dtype).
    The file is written to a temporary name beside `path` and renamed when complete.
    Returns the path written.
    """
    path = Path(path)
    metadata = _stringify_meta(meta)
    metadata["format"] = FORMAT
    metadata["storage_dtype"] = str(dtype).replace("torch.", "") if dtype else "native"
    payload = _sorted_metadata(safetensors_save(_to_storage(state_dict, dtype), metadata=metadata))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _sorted_metadata(payload: bytes) -> bytes:
    """safetensors bytes with the header's `__metadata__` keys in sorted order (the module doc).

    The header is 8 bytes of little-endian length, then that many bytes of JSON padded with
    spaces; reordering keys keeps its length, so the tensors' offsets stay as they are. Should
    the JSON come out longer than safetensors wrote it (it never has), the payload is returned
    as it is."""
    (size,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8 : 8 + size])
    meta = header.pop("__metadata__", None)
    if not meta:
        return payload
    text = json.dumps(
        {"__metadata__": dict(sorted(meta.items())), **header},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    if len(text) > size:
        return payload
    return payload[:8] + text.ljust(size) + payload[8 + size :]


def save_module(
    path: str | os.PathLike[str],
    module: torch.nn.Module,
    meta: Mapping[str, object] | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """`save_weights` of `module.state_dict()` with `module.arch_meta()` merged under `meta`."""
    arch = module.arch_meta() if callable(getattr(module, "arch_meta", None)) else {}
    return save_weights(path, module.state_dict(), {**arch, **(meta or {})}, dtype=dtype)


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return read_safetensors(path, "pt")


def check_finite(path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor]) -> None:
    """WeightsError naming the file and the first tensor holding NaN or an infinity (a run that
    diverged, or a damaged file): such weights would render a blank face without a word."""
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise WeightsError(nonfinite_message(path, key))


def load_weights(
    path: str | os.PathLike[str],
    *,
    expected: Mapping[str, object] | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors weights file: (state_dict of CPU tensors, metadata as str -> str).

    expected: metadata that must match (values compared as str), e.g. `module.arch_meta()`.
    dtype: cast floating tensors to it (None keeps the stored dtype, e.g. fp16).
    Raises WeightsError (one line naming the file) for a missing, pickled, truncated or corrupt
    file, or metadata that does not match `expected`.
    """
    path = Path(path)
    _check_container(path)
    tensors, meta = _read(path)
    if expected:
        check_meta(path, meta, expected)
    check_finite(path, tensors)
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    return tensors, meta


def resave_weights(
    path: str | os.PathLike[str], output: str | os.PathLike[str], *, dtype: torch.dtype
) -> float:
    """Rewrite the weights at `path` to `output` with floats stored as `dtype`, keeping their
    metadata (plus `exported_from`). Returns the largest change of a stored value."""
    tensors, meta = load_weights(path)
    meta = {k: v for k, v in meta.items() if k not in _RESERVED}
    meta.setdefault("exported_from", Path(path).name)
    save_weights(output, tensors, meta, dtype=dtype)
    stored, _ = load_weights(output)
    return max(
        (
            (stored[k].float() - v.float()).abs().max().item()
            for k, v in tensors.items()
            if v.is_floating_point()
        ),
        default=0.0,
    )


def check_state_dict(
    path: str | os.PathLike[str], module: torch.nn.Module, state_dict: Mapping[str, torch.Tensor]
) -> None:
    """WeightsError listing the first missing / unexpected keys and shape mismatches."""
    own = module.state_dict()
    problems = [f"missing {k}" for k in own if k not in state_dict][:_SHOW]
    problems += [f"unexpected {k}" for k in state_dict if k not in own][:_SHOW]
    problems += [
        f"{k} is {tuple(state_dict[k].shape)}, expected {tuple(v.shape)}"
        for k, v in own.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ][:_SHOW]
    if problems:
        name = type(module).__name__
        raise WeightsError(
            f"{path}: does not fit {name} ({'; '.join(problems)}); "
            "use weights saved from the same architecture"
        )


def load_into(
    module: torch.nn.Module,
    path: str | os.PathLike[str],
    expected: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Load `path` into `module` (strict) and return the file's metadata.

    expected: metadata to match; None = `module.arch_meta()` when the module has one.
    Raises WeightsError for anything `load_weights` refuses and for key / shape mismatches.
    """
    if expected is None and callable(getattr(module, "arch_meta", None)):
        expected = module.arch_meta()
    state_dict, meta = load_weights(path, expected=expected)
    check_state_dict(path, module, state_dict)
    module.load_state_dict(state_dict, strict=True)
    return meta
