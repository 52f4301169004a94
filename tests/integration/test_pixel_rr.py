"""The pixel-regression model on the real Yale stills: trains in closed form with subjects 14 and
15 held out, saves and loads safetensors only, and moves a held-out face's mouth towards the
subject's own smile."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reenact.cli.main import main
from reenact.errors import WeightsError
from reenact.render import build_renderer, renderer_names
from reenact.render.pixel_rr import PixelRRRenderer, gaussian_features, load_pixel_rr
from reenact_lab.train.cache import read_cache


@pytest.fixture(scope="module")
def cache(media_dir, tmp_path_factory):
    """The Yale stills tracked by the real face mesh and cached at 256 (reenact prepare)."""
    out = tmp_path_factory.mktemp("yale")
    assert (
        main(
            [
                "prepare",
                str(media_dir / "expressions"),
                "--out",
                str(out),
                "--format",
                "npz",
                "--set",
                "train.progress=false",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def trained(cache, tmp_path_factory):
    runs = {}
    for kind in ("linear", "gaussian"):
        out = tmp_path_factory.mktemp(kind)
        assert (
            main(
                [
                    "train",
                    "pixel-rr",
                    "--data",
                    str(cache),
                    "--out",
                    str(out),
                    "--set",
                    f"pixel_rr.kind={kind}",
                    "--set",
                    "pixel_rr.classes=[smile,sad]",
                ]
            )
            == 0
        )
        runs[kind] = out
    return runs


@pytest.fixture(scope="module")
def subject_14(cache):
    entry = next(e for e in read_cache(cache) if e.identity.endswith("14"))
    labels = list(entry.expression)
    crops = entry.load_crops()
    n, h = labels.index("neutral"), labels.index("happy")
    return crops[n], crops[h], entry.landmarks[n]


def test_trains_without_the_held_out_subjects(trained):
    summary = json.loads((trained["linear"] / "pixel_rr.json").read_text())
    smile = summary["classes"]["smile"]
    assert smile["pairs"] == 26  # 13 subjects x (pair + its mirror image)
    assert not any(s.startswith(("expressions_14", "expressions_15")) for s in smile["sources"])
    for kind, folder in trained.items():
        files = sorted(p.name for p in folder.glob("*.safetensors"))
        assert files == ["pixel_rr_sad_256.safetensors", "pixel_rr_smile_256.safetensors"]
        model = load_pixel_rr(folder / "pixel_rr_smile_256.safetensors")
        assert model.kind == kind and model.weights.dtype == np.float32
    # stored as fp16: 256 x 256 x (w, b) x 2 bytes, plus the header
    assert (trained["linear"] / "pixel_rr_smile_256.safetensors").stat().st_size < 300_000


def test_loads_from_safetensors_only(trained, tmp_path):
    model = load_pixel_rr(trained["linear"] / "pixel_rr_smile_256.safetensors")
    pickled = tmp_path / "pixel_rr_smile_256.safetensors"
    torch.save({"weights": torch.from_numpy(model.weights)}, pickled)
    with pytest.raises(WeightsError, match="pixel_rr_smile_256"):
        load_pixel_rr(pickled)
    with pytest.raises(WeightsError):  # another network's safetensors is refused by its arch
        from reenact.engine.weights import save_weights

        save_weights(tmp_path / "other.safetensors", {"w": torch.zeros(2)}, {"arch": "unet"})
        load_pixel_rr(tmp_path / "other.safetensors")


def mouth_box(landmarks: np.ndarray) -> tuple[slice, slice]:
    lips = landmarks[[61, 291, 0, 17], :2]
    x0, y0 = lips.min(0) - 6
    x1, y1 = lips.max(0) + 6
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def test_held_out_mouth_moves_towards_the_real_smile(trained, subject_14):
    neutral, happy, landmarks = subject_14
    box = mouth_box(landmarks)
    l1 = lambda a, b: float(np.abs(a[box].astype(np.float32) - b[box]).mean())
    for kind, folder in trained.items():
        model = load_pixel_rr(folder / "pixel_rr_smile_256.safetensors")
        out = model.apply(neutral)
        assert l1(out, neutral) > 2.0, kind  # the mouth changes ...
        assert l1(out, happy) < l1(neutral, happy), kind  # ... towards the subject's real smile
        sad = load_pixel_rr(folder / "pixel_rr_sad_256.safetensors").apply(neutral)
        assert l1(sad, happy) > l1(out, happy), kind  # and the smile model, not any model, does


def test_gaussian_apply_matches_its_formula(trained, subject_14):
    """The OpenCV fast path computes y = x + sum_k w_k phi_k(x) + b exactly (grey input)."""
    model = load_pixel_rr(trained["gaussian"] / "pixel_rr_smile_256.safetensors")
    neutral = subject_14[0]
    x = neutral.astype(np.float64) / 255.0
    phi = gaussian_features(x, model.weights.shape[-1])
    ref = x + np.einsum("hwck,hwk->hwc", phi, model.weights) + model.bias[..., None]
    ref = np.clip(np.round(ref * 255.0), 0, 255)
    assert np.abs(model.apply(neutral).astype(np.float64) - ref).max() <= 1.0


def test_is_a_registered_renderer(trained, subject_14):
    assert "pixel-rr" in renderer_names()
    model = load_pixel_rr(trained["linear"] / "pixel_rr_smile_256.safetensors")
    from reenact.config import load_config

    folder = trained["linear"]
    renderer = build_renderer(
        load_config(None, ["renderer.kind=pixel-rr", f"pixel_rr.models={folder}"])
    )
    assert isinstance(renderer, PixelRRRenderer) and renderer.expression == "smile"
    neutral, _happy, landmarks = subject_14
    renderer.set_target(neutral, landmarks)
    assert np.array_equal(renderer.render(landmarks), model.apply(neutral))
