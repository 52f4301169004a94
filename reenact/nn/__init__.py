"""Pure torch modules: Omega (U-net) and the learned regions' local generators (Phi and D_J, the
PatchGAN and the losses are the lab's: `reenact_lab.nn`).

No I/O and no config here; `reenact.engine` owns devices, precision and weights.
"""

from reenact.nn.common import ShapeError, num_parameters
from reenact.nn.registry import register
from reenact.nn.unet import UNetGenerator

__all__ = [
    "ShapeError",
    "UNetGenerator",
    "num_parameters",
    "register",
]
