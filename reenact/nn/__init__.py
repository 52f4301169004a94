"""Pure torch modules: Phi (landmark fusion), D_J, Omega (U-net), the PatchGAN, their losses.

No I/O and no config here; `reenact.engine` owns devices, precision and weights.
"""

from reenact.nn.common import ShapeError, num_parameters
from reenact.nn.fusion import LandmarkDiscriminator, LandmarkFusionAE, crop_to_unit, unit_to_crop
from reenact.nn.patchgan import PatchDiscriminator, patch_map_side
from reenact.nn.registry import UnknownNetworkError, build, names, register
from reenact.nn.unet import UNetGenerator

__all__ = [
    "LandmarkDiscriminator",
    "LandmarkFusionAE",
    "PatchDiscriminator",
    "ShapeError",
    "UNetGenerator",
    "UnknownNetworkError",
    "build",
    "crop_to_unit",
    "names",
    "num_parameters",
    "patch_map_side",
    "register",
    "unit_to_crop",
]
