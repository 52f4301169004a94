"""The actor's creases in the live loop (reenact.pipeline.creases through the Reenactor): a
real clip (lp_d13, who smiles broadly at frame 198) drives a real portrait with them on and
off; the panel's `compose.creases` turns them off and on between frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.config import load_config
from reenact.landmarks.clips import iter_frames
from reenact.fusion import build_fuser
from reenact.pipeline.reenactor import Reenactor
from reenact.pipeline.target import prepare_target
from reenact.pipeline.timing import StageTimer
from reenact.render.warp import WarpRenderer
from reenact.stream.live_settings import apply_setting, setting_values

SMILE = 198


def _reenactor(config, target) -> Reenactor:
    return Reenactor(
        config=config,
        target=target,
        fuser=build_fuser(config),
        renderer=WarpRenderer(size=config.renderer.size),
        timer=StageTimer(),
    )


def test_creases_darken_the_smiles_folds_and_follow_the_panel(media_dir: Path):
    config = load_config(None, ["compose.creases=1.0"])
    target = prepare_target(str(media_dir / "portraits" / "sadtalker_people_0.png"), config)
    on, off = _reenactor(config, target), _reenactor(config, target)
    assert setting_values(on)["compose.creases"] == 1.0
    apply_setting(off, "compose.creases", 0.0)
    differs = {}
    try:
        for index, image in enumerate(iter_frames(media_dir / "clips" / "lp_d13.mp4", SMILE + 1)):
            if index == SMILE - 20:
                apply_setting(on, "compose.creases", 0.0)  # off from the panel: as the off run
            if index == SMILE - 5:
                apply_setting(on, "compose.creases", 1.0)  # and on again
            tracked = off.track(image)
            a = off.process(image, index / 25, tracked).output.astype(np.int16)
            b = on.process(image, index / 25, tracked).output.astype(np.int16)
            differs[index] = b - a
    finally:
        on.close()
        off.close()
    assert not np.any(differs[0])  # calibrating: the target as it is
    assert all(not np.any(differs[i]) for i in range(SMILE - 19, SMILE - 5))
    change = differs[SMILE]
    darker, lighter = np.clip(-change, 0, None).sum(), np.clip(change, 0, None).sum()
    assert np.abs(change).max() > 10  # a fold beside the nose and mouth, in grey levels
    assert darker > 2 * lighter, (darker, lighter)
