"""Pure torch modules: Omega (U-net) and the learned regions' local generators (Phi and D_J, the
PatchGAN and the losses are the lab's: `reenact_lab.nn`).

No I/O and no config here; `reenact.engine` owns devices, precision and weights.
"""

from reenact.nn.common import ShapeError, num_parameters
from reenact.nn.registry import UnknownNetworkError, build, names, register
from reenact.nn.unet import UNetGenerator

__all__ = [
    "ShapeError",
    "UNetGenerator",
    "UnknownNetworkError",
    "build",
    "names",
    "num_parameters",
    "register",
]
