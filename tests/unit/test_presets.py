"""Presets: the stored form, the mixer's envelope and modes, and the control table."""

from __future__ import annotations

import numpy as np
import pytest

from reenact.errors import InputError
from reenact.fusion.presets import (
    load_library,
    load_preset,
    make_preset,
    normalise,
    denormalise,
    region_mask,
    save_preset,
)
from reenact.landmarks.expression import feature_deltas
from reenact.pipeline.presets import PresetMixer
from reenact.stream import preset_controls


@pytest.fixture(scope="module")
def target():
    """The built-in astronaut, tracked by the real face mesh."""
    from reenact.config import load_config
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config())


@pytest.fixture(scope="module")
def library():
    return load_library()


def mouth_width(lm: np.ndarray) -> float:
    iod = np.hypot(*((lm[263, :2] + lm[362, :2]) / 2 - (lm[33, :2] + lm[133, :2]) / 2))
    return float(np.hypot(*(lm[61, :2] - lm[291, :2])) / iod)


def test_shipped_presets_carry_their_expression(library):
    """Each shipped preset was recorded from a real face and moves what its name says."""
    assert set(library) >= {"smile", "surprise", "wink", "pout", "angry", "sad"}
    deltas = {n: feature_deltas(*reversed(p.landmarks(256))) for n, p in library.items()}
    assert deltas["smile"]["mouth_width"] > 0.15
    assert deltas["surprise"]["mouth_open"] > 0.2 and deltas["surprise"]["brow_left"] > 0.03
    assert (
        deltas["wink"]["eye_left"] < -0.1
        and deltas["wink"]["eye_right"] > 0.3 * deltas["wink"]["eye_left"]
    )
    assert deltas["pout"]["mouth_width"] < -0.05
    assert deltas["angry"]["brow_left"] + deltas["angry"]["brow_right"] < -0.02
    for name, preset in library.items():
        assert preset.source, name  # says where it came from


def test_normalised_form_is_size_free(target):
    lm = target.landmarks_crop
    assert np.allclose(denormalise(normalise(lm, 256), 256), lm, atol=1e-3)
    assert np.allclose(denormalise(normalise(lm, 256), 512), lm * [2, 2, 2], atol=1e-2)


def test_region_mask_confines_a_preset(library):
    mask = region_mask(("mouth",))
    assert mask[61] == 1.0 and mask[291] == 1.0
    assert mask[159] < 0.2 and mask[386] < 0.2  # eyelids barely move
    with pytest.raises(InputError):
        region_mask(("tail",))


def test_save_and_load_round_trip(library, tmp_path):
    smile = library["smile"]
    neutral, expression = smile.landmarks(256)
    made = make_preset("grin", neutral, expression, 256, source="test", regions=("mouth",))
    loaded = load_preset(save_preset(made, tmp_path))
    assert loaded.name == "grin" and loaded.regions == ("mouth",) and loaded.source == "test"
    assert np.allclose(loaded.deviation, smile.deviation, atol=1e-5)
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="broken.npz"):
        load_preset(tmp_path / "broken.npz")
    with pytest.raises(InputError):
        make_preset("../evil", neutral, expression, 256, source="x")


def test_envelope_rises_over_blend_time_and_falls_on_release(library, target):
    mixer = PresetMixer(library, keys=("smile",), blend_s=0.15, size=256)
    neutral = target.landmarks_crop
    base = mouth_width(neutral)
    mixer.press("smile")
    widths = [mouth_width(mixer.apply(neutral, neutral, t)) for t in (10.0, 10.05, 10.1, 10.15)]
    assert widths[0] == pytest.approx(base)  # the envelope starts at the first frame
    assert widths[1] < widths[2] < widths[3]
    full = widths[3]
    assert full - base > 0.1
    assert mouth_width(mixer.apply(neutral, neutral, 11.0)) == pytest.approx(full)
    mixer.release("smile")
    mixer.apply(neutral, neutral, 11.1)
    assert mixer.active
    assert mouth_width(mixer.apply(neutral, neutral, 11.16)) == pytest.approx(base, abs=1e-4)
    assert not mixer.active


def test_add_keeps_the_live_expression_replace_overrides_it(library, target):
    neutral = target.landmarks_crop
    live = neutral.copy()
    live[[61, 291], 1] += 6.0  # the actor's mouth corners down a little
    add = PresetMixer(library, blend_s=0.0, mode="add")
    replace = PresetMixer(library, blend_s=0.0, mode="replace")
    for m in (add, replace):
        m.press("smile")
    a, r = add.apply(live, neutral, 0.0), replace.apply(live, neutral, 0.0)
    delta = library["smile"].delta_for(neutral, 256)
    assert np.allclose(a, live + delta, atol=1e-4)
    assert np.allclose(r, neutral + delta, atol=1e-4)


def test_control_table_parses_and_refuses(library):
    mixer = PresetMixer(library, keys=("smile", "wink"))
    assert preset_controls.apply(mixer, "preset_1") == "preset smile on"
    assert preset_controls.apply(mixer, "preset:smile") == "preset smile off"
    assert preset_controls.apply(mixer, "preset_on:wink") == "preset wink on"
    assert mixer.status()["on"] == ["wink"]
    assert preset_controls.apply(mixer, "recalibrate") is None
    assert preset_controls.apply(mixer, "preset_5") == "no preset on key 5"
    for bad in ("preset_on", "preset_1:x", "preset_on:nosuch", "preset_mode:blend"):
        with pytest.raises(ValueError):
            preset_controls.check(mixer, bad)


def test_pixel_rr_blends_the_crop_inside_the_face_only(target):
    """presets.pixel_rr=shipped: a fired smile also blends the smile model's crop, face only."""
    from reenact.config import load_config

    mixer = PresetMixer.from_config(
        load_config(None, ["presets.pixel_rr=shipped", "presets.blend_s=0"])
    )
    crop = target.crop
    assert mixer.blend_crop(crop, crop, target.landmarks_crop) is crop  # nothing fired
    mixer.press("smile")
    mixer.advance(0.0)
    out = mixer.blend_crop(crop, crop, target.landmarks_crop)
    expected = mixer.crop_models["smile"].apply(crop)
    mouth = (slice(150, 200), slice(100, 156))
    assert np.abs(out[mouth].astype(int) - expected[mouth]).max() <= 1
    assert np.array_equal(out[:6], crop[:6])  # the crop border is outside the face mask
    with pytest.raises(InputError, match="presets.pixel_rr"):
        PresetMixer.from_config(load_config(None, ["presets.pixel_rr=/nonexistent"]))


def test_the_table_describes_every_action():
    rows = {
        f"{a.verb}:NAME" if a.takes_arg else a.verb for a in preset_controls.PRESET_ACTIONS.values()
    }
    assert {"preset_1", "preset:NAME", "preset_on:NAME", "preset_off:NAME", "presets_off"} <= rows
