"""Pure torch modules: Phi (landmark fusion), D_J, Omega (U-net) (the PatchGAN and the losses are
the lab's: `reenact_lab.nn`).

No I/O and no config here; `reenact.engine` owns devices, precision and weights.
"""

from reenact.nn.common import ShapeError, num_parameters
from reenact.nn.fusion import LandmarkDiscriminator, LandmarkFusionAE, crop_to_unit, unit_to_crop
from reenact.nn.registry import UnknownNetworkError, build, names, register
from reenact.nn.unet import UNetGenerator

__all__ = [
    "LandmarkDiscriminator",
    "LandmarkFusionAE",
    "ShapeError",
    "UNetGenerator",
    "UnknownNetworkError",
    "build",
    "crop_to_unit",
    "names",
    "num_parameters",
    "register",
    "unit_to_crop",
]
