"""The lab beside the product: training, evaluation and their measures, as the `reenact-lab`
distribution (`pip install 'reenact[train]'`, or `pip install -e reenact-lab` in a checkout).

It imports `reenact`, never the reverse. Its commands (`reenact prepare`, `train`, `eval`,
`pixel-rr`, `avatar train`) reach the `reenact` command through the `reenact.commands` entry
points declared in its pyproject.toml.
"""

from __future__ import annotations

import logging


def get_logger(name: str) -> logging.Logger:
    """The logger of the lab's module `name` (its `__name__`) below reenact's package logger, as
    `reenact.lab.<module>`: the `reenact` command shows its lines as its own (`reenact.log`)."""
    return logging.getLogger("reenact.lab." + (name.partition(".")[2] or name))  # or __main__
