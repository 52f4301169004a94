"""A personal avatar goes wherever a target goes: prepared from its own picture and neutral, the
generator renderer runs its own network (and the shipped one again without it), `reenact run`
and `reenact live` with its panel take `--target NAME.avatar`, and the gallery lists avatars with
their score. Test avatars are the shipped generator with one bias shifted (tests/avatar_files.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.avatar import read_avatar
from reenact.config import Config, replace
from reenact.errors import InputError
from reenact.pipeline.target import prepare_target
from reenact.render import build_renderer
from tests.avatar_files import SHIPPED_INT8, make_avatar
from tests.helpers import decode_rgb
from tests.panel_session import LiveSession

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def picture(portraits_dir) -> Path:
    return portraits_dir / "lp_s0.jpg"


@pytest.fixture(scope="module")
def neutral(picture) -> np.ndarray:
    """The picture's own estimated neutral, moved 1 px down: the avatar's prepared neutral."""
    target = prepare_target(str(picture), Config())
    return target.neutral() + np.float32([0.0, 1.0, 0.0])


@pytest.fixture(scope="module")
def avatars(tmp_path_factory, picture, neutral) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("avatars")
    return {
        "shifted": make_avatar(folder / "shifted.avatar", picture, shift=0.5, neutral=neutral),
        "same": make_avatar(folder / "same.avatar", picture, neutral=neutral),
        "int8": make_avatar(
            folder / "int8.avatar", picture, neutral=neutral, int8=SHIPPED_INT8.read_bytes()
        ),
    }


def test_an_avatar_target_takes_its_picture_and_neutral(avatars, neutral, monkeypatch):
    def no_estimate(*args, **kwargs):
        raise AssertionError("the avatar's neutral is not estimated again")

    monkeypatch.setattr("reenact.pipeline.target.target_neutral", no_estimate)
    target = prepare_target(str(avatars["shifted"]), Config())
    avatar = target.avatar
    assert avatar is not None and target.name == "shifted.avatar"
    assert target.frame.shape[:2] == avatar.picture.shape[:2]
    assert np.array_equal(target.neutral_crop, avatar.neutral)
    assert np.allclose(target.neutral(), neutral) and target.estimated
    assert 0 < target.expression_removed < 0.1  # 1 px, in inter-ocular distances


def test_the_generator_runs_the_avatars_own_network(avatars):
    config = Config()  # renderer.kind auto: the generator
    target = prepare_target(str(avatars["shifted"]), config)
    renderer = build_renderer(config)
    assert renderer.name == "generator"
    renderer.set_target(target.crop, target.landmarks_crop)
    fused = target.landmarks_crop
    shipped = renderer.render(fused).copy()
    renderer.set_avatar(target.avatar)
    assert not renderer.eyes_from_warp and not renderer.mouth_from_warp  # its own eyes, mouth
    assert renderer.chroma.mode == "network"  # and its own colours
    personal = renderer.render(fused).copy()
    renderer.set_avatar(None)
    assert renderer.eyes_from_warp and renderer.mouth_from_warp and renderer.chroma.mode == "auto"
    assert np.array_equal(renderer.render(fused), shipped)  # the shipped network is back
    assert np.abs(personal.astype(float) - shipped).mean() > 2.0
    backend = None
    for _ in range(2):  # a second read of the same avatar reuses its session
        renderer.set_avatar(read_avatar(avatars["shifted"]))
        assert backend is None or renderer.backend is backend
        backend = renderer.backend
        renderer.set_avatar(None)


def test_an_avatar_runs_in_int8_beside_the_int8_shipped_generator_if_it_carries_one(avatars):
    renderer = build_renderer(Config())  # renderer.quantize: auto, the shipped INT8 model
    assert renderer.backend_name == "onnx-cpu-int8"
    for name, backend in (("int8", "onnx-cpu-int8"), ("same", "onnx-cpu")):
        target = prepare_target(str(avatars[name]), Config())
        renderer.set_target(target.crop, target.landmarks_crop)
        renderer.set_avatar(target.avatar)
        assert renderer.backend.name == backend, name
        renderer.set_avatar(None)
    off = build_renderer(replace(Config(), renderer={"quantize": "off"}))
    off.set_avatar(prepare_target(str(avatars["int8"]), Config()).avatar)
    assert off.backend.name == "onnx-cpu"


def test_warp_pasting_stays_where_the_config_asks_for_it(avatars):
    # fp32 for both: the shipped generator's INT8 model is not the avatar's export
    options = {"eyes": "warp", "mouth": "network", "chroma": "warp", "quantize": "off"}
    config = replace(Config(), renderer=options)
    target = prepare_target(str(avatars["same"]), config)
    renderer = build_renderer(config)
    renderer.set_target(target.crop, target.landmarks_crop)
    shipped = renderer.render(target.landmarks_crop).copy()
    renderer.set_avatar(target.avatar)
    assert renderer.eyes_from_warp and not renderer.mouth_from_warp and renderer.chroma.on
    # the same weights with the same pasting: the same picture
    assert np.array_equal(renderer.render(target.landmarks_crop), shipped)


def test_an_avatar_that_does_not_fit_the_renderer_is_refused(avatars):
    from reenact.render.avatar_backend import check_fits

    avatar = read_avatar(avatars["same"])
    with pytest.raises(InputError, match="same.avatar: its generator"):
        check_fits(avatar, size=512, variant="warp_guided", channels=7)


def test_the_device_renderer_swaps_the_avatars_weights_in_place(avatars):
    """The CUDA path's renderer (eager on the CPU here; on an H100 its CUDA graphs replayed the
    avatar's weights the same way, docs/experiments/2026-11-27-avatar-file.md)."""
    torch = pytest.importorskip("torch")
    from reenact.render.avatar_cuda import AvatarDeviceRenderer
    from reenact.render.generator import load_generator
    from tests.avatar_files import SHIPPED_WEIGHTS

    target = prepare_target(str(avatars["shifted"]), Config())
    model, meta = load_generator(SHIPPED_WEIGHTS)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    renderer = AvatarDeviceRenderer(
        model=model,
        meta=meta,
        weights=SHIPPED_WEIGHTS,
        device=device,
        anchor_px=32.0,
        chroma="warp",
    )
    renderer.set_target(target.crop, target.landmarks_crop)
    params = [p.data_ptr() for p in renderer.model.parameters()]
    assert renderer.chroma.on and float(renderer.chroma_weight) == 1.0
    shipped = renderer.render(target.landmarks_crop).copy()
    renderer.set_avatar(target.avatar)
    assert not renderer.eyes_from_warp and not renderer.mouth_from_warp
    # renderer.chroma=warp: for an avatar too
    assert renderer.chroma.on and float(renderer.chroma_weight) == 1.0
    personal = renderer.render(target.landmarks_crop).copy()
    renderer.set_avatar(None)
    assert renderer.chroma.on and float(renderer.chroma_weight) == 1.0
    assert np.array_equal(renderer.render(target.landmarks_crop), shipped)
    assert [p.data_ptr() for p in renderer.model.parameters()] == params  # in place
    assert np.abs(personal.astype(float) - shipped).mean() > 2.0


def run_frames(tmp_path: Path, clip: Path, target: Path, name: str) -> np.ndarray:
    from reenact.cli.main import main

    out = tmp_path / f"{name}.mp4"
    args = ["run", "--source", f"video:{clip}", "--target", str(target)]
    assert main([*args, "--sink", f"file:{out}", "--max-frames", "10", "-q"]) == 0
    frames = decode_rgb(out)
    assert len(frames) == 10
    return np.stack(frames).astype(np.float32)


def test_run_with_an_avatar_target(tmp_path, clips_dir, avatars):
    clip = clips_dir / "dpe_d.mp4"
    shifted = run_frames(tmp_path, clip, avatars["shifted"], "shifted")
    shipped = run_frames(tmp_path, clip, avatars["same"], "shipped")  # the shipped weights
    assert shifted.shape == shipped.shape
    # the frames rendered after calibration: a face's worth of pixels changed, not codec noise
    changed = (np.abs(shifted - shipped).max(axis=-1) > 20).mean(axis=(1, 2))
    assert changed.max() > 0.005, changed


def test_gallery_lists_avatars_with_their_score(tmp_path, avatars, picture, portraits_dir):
    from reenact.stream.gallery import Gallery, UploadError

    folder = tmp_path / "targets"
    folder.mkdir()
    for path in (avatars["shifted"], portraits_dir / "lp_s1.jpg"):
        (folder / path.name).write_bytes(path.read_bytes())
    config = replace(Config(), stream={"targets_dir": str(folder)})
    gallery = Gallery(prepare_target(str(picture), config), config)
    items = {item["name"]: item for item in gallery.items()}
    assert set(items) == {"lp_s0.jpg", "lp_s1.jpg", "shifted.avatar"}
    assert items["shifted.avatar"]["avatar"] == "avatar, SSIM 0.781 vs warp 0.715"
    assert "avatar" not in items["lp_s1.jpg"]
    assert gallery.thumbnail(2 if gallery.set.targets[2].avatar else 1)[:2] == b"\xff\xd8"
    with pytest.raises(UploadError, match="not uploaded through the panel"):
        gallery.add_upload(avatars["shifted"].read_bytes(), "shifted.avatar")


def test_live_with_an_avatar_target_and_the_panel(tmp_path, clips_dir, avatars, portraits_dir):
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        tmp_path,
        targets=[avatars["shifted"], portraits_dir / "lp_s1.jpg"],
        extra=["--renderer", "auto", "--target", str(avatars["shifted"]), "-v"],
    )
    try:
        status = live.wait_for(lambda s: "render" in s.get("stages_ms", {}), timeout_s=180)
        assert status["renderer"] == "generator" and status["target"] == "shifted.avatar"
        targets = {t["name"]: t for t in status["targets"]}
        assert targets["shifted.avatar"]["avatar"].startswith("avatar, SSIM 0.781")
        picture = targets["lp_s1.jpg"]["index"]
        assert live.call("POST", f"/targets/{picture}/select")[0] == 200
        assert live.wait_for(lambda s: s["target"] == "lp_s1.jpg")["target"] == "lp_s1.jpg"
        avatar = targets["shifted.avatar"]["index"]
        assert live.call("POST", f"/targets/{avatar}/select")[0] == 200
        assert (
            live.wait_for(lambda s: s["target"] == "shifted.avatar")["target"] == "shifted.avatar"
        )
    finally:
        live.close()
    # its own generator at start, the shipped one for the picture, its own again
    assert live.stderr.count("avatar shifted.avatar: its own generator") >= 2, live.stderr[-3000:]
    assert live.process.returncode == 0, live.stderr[-3000:]


def test_demo_with_an_avatar_target(tmp_path, avatars, capsys):
    from reenact.cli.main import main

    out = tmp_path / "demo.mp4"
    assert main(["demo", "--target", str(avatars["shifted"]), "--output", str(out), "-v"]) == 0
    assert out.stat().st_size > 10_000 and out.with_suffix(".png").is_file()
    assert "avatar shifted.avatar: its own generator" in capsys.readouterr().err
