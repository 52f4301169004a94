"""Fusers and renderers are picked by name from registries; the config's choices are the names."""

from __future__ import annotations

import pytest

from reenact.config import Config, FusionConfig, RendererConfig, field_choices, load_config, replace
from reenact.errors import ConfigError
from reenact.fusion import build_fuser, fuser_names
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.render import renderer_names


def test_the_configs_choices_are_the_registered_names():
    assert set(field_choices(RendererConfig, "kind")) == {"auto", *renderer_names()}
    assert set(field_choices(FusionConfig, "kind")) == {"auto", *fuser_names()}


def test_a_choice_is_checked_once_at_load_and_names_the_valid_ones():
    with pytest.raises(
        ConfigError, match="renderer.kind: 'wrap' is not one of auto, generator, warp"
    ):
        load_config(None, ["renderer.kind=wrap"])
    with pytest.raises(ConfigError, match="stream.target_end.*loop, hold, still"):
        load_config(None, ["stream.target_end=forever"])
    with pytest.raises(ConfigError, match="fusion.kind"):
        replace(Config(), fusion={"kind": "magic"})


def test_fusers_are_built_by_name():
    fuser = build_fuser(replace(Config(), fusion={"kind": "training_free"}))
    assert isinstance(fuser, TrainingFreeFusion) and fuser.name == "training_free"
