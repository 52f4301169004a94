"""The network registry: each registered network builds from its name with keyword arguments and
names itself in arch_meta; a taken name or a class without arch_meta is refused."""

from __future__ import annotations

import pytest
import torch

import reenact_lab.nn.fusion  # noqa: F401  (registers the lab's Phi and D_J)
from reenact.nn import registry
from reenact.nn.unet import UNetGenerator

# Phi, D_J and the PatchGAN are the lab's (reenact_lab.nn): registered when the lab imports them
BUILTINS = {"fusion", "landmark_disc", "unet"}


def build(name: str, **kwargs: object) -> torch.nn.Module:
    """The network registered as `name`, constructed with `kwargs`."""
    return registry.NETWORKS[name](**kwargs)


def test_builtin_names() -> None:
    assert BUILTINS <= set(registry.NETWORKS)


def test_build_passes_keyword_arguments() -> None:
    model = build("unet", ngf=8, size=64, variant="warp_guided")
    assert isinstance(model, UNetGenerator)
    assert model.arch_meta() == {
        "arch": "unet",
        "variant": "warp_guided",
        "ngf": 8,
        "size": 64,
        "in_channels": 7,
        "out_channels": 3,
    }
    with pytest.raises(TypeError):
        registry.NETWORKS["unet"](8)  # constructors are keyword-only


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_arch_meta_names_the_registered_network(name: str) -> None:
    kwargs = {"ngf": 4, "size": 32} if name == "unet" else {}
    meta = build(name, **kwargs).arch_meta()
    assert meta["arch"] == name
    assert all(isinstance(v, (str, int)) for v in meta.values())


def test_register_rejects_a_taken_name_and_classes_without_meta() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @registry.register("unet")
        class OtherUNet(torch.nn.Module):
            def arch_meta(self) -> dict[str, str | int]:
                return {"arch": "unet"}

    with pytest.raises(TypeError, match="arch_meta"):
        registry.register("no_meta")(torch.nn.Identity)
    assert "no_meta" not in registry.NETWORKS
