"""Config: YAML presets, --set overrides, validation errors that name key and file, round trip."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import pytest
import yaml

from reenact.config import Config, config_to_dict, dump_config, load_config, replace
from reenact.config.load import CONFIG_DIR
from reenact.config.ranges import Range, check_ranges
from reenact.errors import ConfigError


def test_defaults_are_frozen_dataclasses():
    config = load_config()
    assert isinstance(config, Config)
    assert config.renderer.size == 256
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.renderer.size = 512  # type: ignore[misc]


def test_override_types_are_coerced_and_checked():
    config = load_config(None, ["renderer.size=512", "stream.intensity=1", "train.data=[a.mp4, b]"])
    assert config.renderer.size == 512
    assert config.stream.intensity == 1.0 and isinstance(config.stream.intensity, float)
    assert config.train.data == ("a.mp4", "b")


def test_round_trip_through_yaml(tmp_path):
    config = load_config(
        None, ["renderer.size=512", "sink.kind=null", "smoothing.beta=0.7", "eval.clips=[x.mp4]"]
    )
    path = dump_config(config, tmp_path / "run.config.yaml")
    assert load_config(path) == config
    assert yaml.safe_load(path.read_text())["renderer"]["size"] == 512
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("preset", sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
def test_every_shipped_preset_loads(preset):
    load_config(preset)


def test_unknown_key_in_file_names_key_and_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("renderer:\n  sise: 512\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "renderer.sise" in message and str(path) in message
    assert "size" in message  # the valid keys are listed
    assert "\n" not in message


def test_wrong_type_names_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("smoothing:\n  enabled: maybe\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*smoothing\.enabled.*expected bool"):
        load_config(path)


def test_unknown_section_and_bad_override():
    with pytest.raises(ConfigError, match="unknown key 'rendrer'"):
        load_config(None, ["rendrer.size=3"])
    with pytest.raises(ConfigError, match=r"--set renderer\.size=big.*expected int"):
        load_config(None, ["renderer.size=big"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["renderer.size"])


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("renderer: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml.*invalid YAML"):
        load_config(broken)


def test_replace_validates_and_keeps_other_sections():
    config = load_config(None, ["renderer.size=512"])
    changed = replace(config, sink={"kind": "null"})
    assert changed.sink.kind == "null" and changed.renderer.size == 512
    with pytest.raises(ConfigError):
        replace(config, sink={"kindd": "null"})


def test_dict_form_is_plain_data():
    data = config_to_dict(load_config(None, ["train.data=[a]"]))
    assert data["train"]["data"] == ["a"]
    yaml.safe_dump(data)  # only plain types


# --- ranges, declared in the schema and checked at load ----------------------------------


@pytest.mark.parametrize(
    "override, says",
    [
        (
            "renderer.size=300",
            "renderer.size: 300 is out of range; it must be a power of two in [64, 1024]",
        ),
        (
            "smoothing.crop_blend=1",
            "smoothing.crop_blend: 1.0 is out of range; it must be in [0, 1)",
        ),
        ("smoothing.min_cutoff=0", "smoothing.min_cutoff: 0.0 is out of range; it must be > 0"),
        ("tracker.face_index=-2", "tracker.face_index: -2 is out of range; it must be >= -1"),
        ("smoothing.beta=.nan", "smoothing.beta: nan is not a finite number"),
        ("train.fusion_mix=[0.5,-1]", "train.fusion_mix: -1.0 is out of range; it must be >= 0"),
        ("eyes.gaze_gain=3.5", "eyes.gaze_gain: 3.5 is out of range; it must be in [0, 3]"),
    ],
)
def test_out_of_range_values_are_refused_with_the_key(override: str, says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(None, [override])
    assert says in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "override",
    [
        "renderer.size=512",
        "smoothing.crop_blend=0.9",
        "stream.intensity=1.5",
        "tracker.face_index=-1",
        "eyes.gaze_gain=0",
        "eyes.gaze_gain=3",
    ],
)
def test_values_at_the_edges_of_their_range_load(override: str) -> None:
    load_config(None, [override])


def test_every_float_must_be_finite_without_declaring_a_range() -> None:
    """A new float key gets the finite check for free; ranges come from its annotation."""

    @dataclasses.dataclass(frozen=True)
    class NewSection:
        gain: float = 1.0
        side: Annotated[int, Range(16, 64, power_of_two=True)] = 32

    check_ranges(NewSection(), "new")
    with pytest.raises(ConfigError, match=r"new\.gain: inf is not a finite number"):
        check_ranges(NewSection(gain=float("inf")), "new")
    with pytest.raises(ConfigError, match=r"new\.side: 48 is out of range"):
        check_ranges(NewSection(side=48), "new")


def test_replace_checks_ranges_too() -> None:
    with pytest.raises(ConfigError, match="stream.intensity"):
        replace(load_config(None), stream={"intensity": 2.0})


def test_another_source_plugin_drops_the_presets_webcam_options(clips_dir) -> None:
    """`reenact live --source video:clip.mp4`: configs/live.yaml's webcam size (1280x720) is the
    webcam's, not the clip's. A portrait clip (lp_d13, 720 wide, 1280 high) came out squashed
    into 1280x720 and MediaPipe lost its face in half the frames. The real clip through the
    real video source keeps its own shape; the command's own options (a file in place of the
    camera loops, paced), options for the same plugin and options given on the command line
    are kept."""
    from reenact.cli.common import spec_overrides
    from reenact.stream.session import open_source

    clip = clips_dir / "lp_d13.mp4"
    live_base = {"source": {"kind": "webcam", "loop": True, "realtime": True}}  # cmd_live's
    config = load_config("live", base=live_base, flags=spec_overrides("source", f"video:{clip}"))
    assert config.source.kind == "video" and "width" not in config.source.options
    assert config.source.options["loop"] is True and config.source.options["realtime"] is True
    with open_source(config) as source:
        assert source.read().image.shape == (1280, 720, 3)

    resized = load_config(
        "live", ["source.width=360"], flags=spec_overrides("source", f"video:{clip}")
    )
    assert resized.source.options["width"] == 360
    with open_source(resized) as source:
        assert source.read().image.shape == (640, 360, 3)

    camera = load_config("live", flags=spec_overrides("source", "webcam:1"))
    assert (camera.source.options["width"], camera.source.options["height"]) == (1280, 720)
    sink = load_config("stream_obs", flags=spec_overrides("sink", "null"))
    assert sink.sink.kind == "null" and sink.sink.options == {}


@pytest.mark.parametrize("text, value", [("auto", "auto"), ("true", True), ("false", False)])
def test_track_ahead_is_auto_or_a_bool(text, value) -> None:
    assert load_config(None, [f"stream.track_ahead={text}"]).stream.track_ahead == value
    assert load_config(None).stream.track_ahead == "auto"


def test_track_ahead_rejects_other_words() -> None:
    with pytest.raises(ConfigError, match="stream.track_ahead"):
        load_config(None, ["stream.track_ahead=sometimes"])
