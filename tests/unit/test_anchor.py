"""The generator's colour anchor (`reenact.render.anchor`): a broad colour cast against the warp
is taken out, detail finer than the anchor's scale is kept, and the device version agrees with
the CPU one; the chroma step keeps the render's brightness under the warp's colour, so the
shipped generator draws a black-and-white photo grey. The pictures are real portraits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from reenact.render.anchor import (
    ChromaChoice,
    TorchAnchor,
    anchor_numpy,
    chroma_numpy,
    chroma_torch,
    colourless,
    luma_weights,
)
from tests.conftest import media_root


@pytest.fixture(scope="module")
def warped() -> np.ndarray:
    image = cv2.imread(str(media_root() / "portraits" / "sadtalker_people_0.png"))
    return cv2.cvtColor(
        cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
    )


def glow(image: np.ndarray) -> np.ndarray:
    """A washed-out face: brighter and bluer towards the right, over tens of pixels."""
    ramp = np.linspace(1.0, 1.35, 256, dtype=np.float32)[None, :, None]
    tint = np.array([0.95, 1.0, 1.1], np.float32)
    return np.clip(image * ramp * tint, 0, 255).astype(np.uint8)


def detail(seed: int = 0) -> np.ndarray:
    """Fine texture a network might draw (a 2 px pattern, +-12 levels)."""
    rng = np.random.default_rng(seed)
    return cv2.resize(
        rng.uniform(-12, 12, (128, 128, 1)).astype(np.float32),
        (256, 256),
        interpolation=cv2.INTER_NEAREST,
    )[..., None]


def test_a_broad_colour_cast_is_taken_out(warped):
    render = glow(warped)
    before = np.abs(render.astype(np.float32) - warped).mean()
    after = np.abs(anchor_numpy(render, warped, 8.0).astype(np.float32) - warped).mean()
    assert before > 10  # the cast is there to take out
    assert after < 0.25 * before


def test_detail_finer_than_the_anchor_is_kept(warped):
    texture = detail()
    render = np.clip(glow(warped) + texture, 0, 255).astype(np.uint8)
    out = anchor_numpy(render, warped, 8.0).astype(np.float32)
    kept = out - warped
    high = kept - cv2.GaussianBlur(kept, (0, 0), 3.0)
    ref = texture[..., 0] - cv2.GaussianBlur(texture[..., 0], (0, 0), 3.0)
    r = np.corrcoef(high[..., 1].ravel(), ref.ravel())[0, 1]
    assert r > 0.85


def test_off_the_warp_a_render_that_matches_is_left_alone(warped):
    out = anchor_numpy(warped, warped, 8.0)
    assert np.abs(out.astype(int) - warped).max() <= 1


@pytest.mark.parametrize("sigma_px", [8.0, 16.0])
def test_the_device_anchor_matches_the_cpu_one(warped, sigma_px):
    render = np.clip(glow(warped) + detail(1), 0, 255).astype(np.uint8)
    expected = anchor_numpy(render, warped, sigma_px).astype(np.float32)
    anchor = TorchAnchor(256, sigma_px, "cpu")
    as_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)
    got = anchor.apply(as_t(render), as_t(warped)).clamp(0, 255).permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 1.5


def test_the_shipped_generator_is_anchored_unless_switched_off():
    from reenact.config import load_config
    from reenact.render.generator import build_generator

    anchored = build_generator(load_config(None, ["renderer.backend=torch"]))
    assert anchored.anchor_px > 0 and not anchored.shifts_colours  # no compositor match on top
    plain = build_generator(load_config(None, ["renderer.backend=torch", "renderer.anchor_px=0"]))
    assert plain.anchor_px == 0 and plain.shifts_colours  # the compositor's match, as before


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)


def chroma_spread(image: np.ndarray) -> np.ndarray:
    """Each pixel's distance from grey in Cr, Cb (0 for R = G = B)."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    return np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128)


def test_chroma_keeps_the_renders_brightness_under_the_warps_colour(warped):
    render = np.clip(glow(warped)[:, ::-1] + detail(2), 0, 255).astype(np.uint8)
    grey = np.repeat(luma(warped)[..., None], 3, axis=2).astype(np.uint8)
    out = chroma_numpy(render, grey)
    inside = np.all((out > 0) & (out < 255), axis=2)  # not clipped
    assert chroma_spread(render)[inside].mean() > 5  # a colour to take out
    assert chroma_spread(out)[inside].max() <= 1.0  # the grey warp's: none
    assert np.abs(luma(out) - luma(render))[inside].max() <= 1.0  # the render's brightness
    # the warp's own colour is kept, not only grey: a render of the warp itself is left alone
    assert np.abs(chroma_numpy(warped, warped).astype(int) - warped).max() == 0


def test_the_device_chroma_matches_the_cpu_one(warped):
    render = np.clip(glow(warped)[:, ::-1] + detail(3), 0, 255).astype(np.uint8)
    expected = chroma_numpy(render, warped).astype(np.float32)
    as_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)
    got = (
        chroma_torch(as_t(render), as_t(warped), luma_weights("cpu"))
        .clamp(0, 255)
        .permute(1, 2, 0)
        .numpy()
    )
    assert np.abs(got - expected).max() <= 1.0


def portrait_target(name: str):
    from reenact.config import Config
    from reenact.pipeline.target import prepare_target

    return prepare_target(str(media_root() / "portraits" / name), Config())


def test_a_black_and_white_picture_is_told_from_a_faded_colour_one():
    grey = portrait_target("lp_s2.jpg")  # an old black-and-white photo
    assert colourless(grey.crop, grey.landmarks_crop)
    # the same face through a colour JPEG at a middling quality: still grey
    bgr = cv2.cvtColor(grey.crop, cv2.COLOR_RGB2BGR)
    _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 60])
    again = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert colourless(again, grey.landmarks_crop)
    # a faded colour photo of a photo (the least colourful face of the shared portraits)
    faded = portrait_target("lp_s11.jpg")
    assert not colourless(faded.crop, faded.landmarks_crop)
    # and the grey face tinted by 3 levels of Cr: colour
    ycc = cv2.cvtColor(grey.crop, cv2.COLOR_RGB2YCrCb)
    ycc[..., 1] += 3
    assert not colourless(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), grey.landmarks_crop)


def test_auto_keeps_the_networks_colours_on_a_colour_face():
    from reenact.config import load_config
    from reenact.render.generator import build_generator

    target = portrait_target("lp_s1.jpg")
    renderer = build_generator(load_config(None, []))
    renderer.set_target(target.crop, target.landmarks_crop)
    assert renderer.chroma.mode == "auto" and not renderer.chroma.on
    grey = portrait_target("lp_s2.jpg")
    renderer.set_target(grey.crop, grey.landmarks_crop)
    assert renderer.chroma.on


@pytest.mark.parametrize(
    "mode, shipped, avatar",
    [("auto", True, False), ("warp", True, True), ("network", False, False)],
)
def test_the_chroma_choice_per_target_and_avatar(mode, shipped, avatar):
    grey, colour = portrait_target("lp_s2.jpg"), portrait_target("lp_s1.jpg")
    choice = ChromaChoice(mode)
    assert not choice.on  # no target yet
    choice.target(grey.crop, grey.landmarks_crop)
    assert choice.on == shipped
    choice.avatar(object())  # a personal avatar on the same picture: its own colours
    assert choice.on == avatar
    choice.avatar(None)
    assert choice.on == shipped
    choice.target(colour.crop, colour.landmarks_crop)
    assert choice.on == (mode == "warp")


@pytest.mark.parametrize("chroma, tinted", [("network", True), ("auto", False)])
def test_the_shipped_generator_draws_a_black_and_white_photo_grey(chroma, tinted):
    """lp_s2, an old black-and-white photo, nodded by 12 degrees: the network alone paints rosy
    and blue patches on it; with the warp's chroma (the default) not one pixel has colour."""
    from reenact.config import load_config
    from reenact.pipeline.head_motion import HeadPose, turn_centre
    from reenact.pipeline.target import prepare_target
    from reenact.render.generator import build_generator

    config = load_config(None, [f"renderer.chroma={chroma}"])
    target = prepare_target(str(media_root() / "portraits" / "lp_s2.jpg"), config)
    assert chroma_spread(target.crop).max() <= 1.0  # the picture is grey
    renderer = build_generator(config)
    renderer.set_target(target.crop, target.landmarks_crop)
    rest = target.landmarks_crop
    nodded = HeadPose(pitch=-12.0, yaw=0.0).turn(rest, turn_centre(rest))
    out = np.array(renderer.render(nodded))
    face = np.zeros(out.shape[:2], np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(nodded[:, :2].astype(np.int32)), 1)
    spread = np.percentile(chroma_spread(out)[face > 0], 99)
    assert (spread > 6.0) if tinted else (spread <= 1.0)
