"""`lab.eye_cues` on real Yale stills: the pasted rows read what their pixels show.

The unchanged target (identity) reads no widening; pasting the real wide-eyed stills' pixels
back over it reads more the more is pasted, and the real stills read most of it: the measure
tells a drawing that lacks the cues from one that has them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.renderers import IdentityRenderer
from reenact.landmarks.head_pose import EYE_RINGS
from reenact.landmarks.tracker import FaceTracker
from reenact.render.warp import WarpRenderer
from lab.eye_cues import REGIONS, ROWS, cues, paste_weight
from lab.render_carry import subject_stills

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup(media_dir):
    config = load_config(None)
    subjects = subject_stills(media_dir / "expressions", ["02", "03", "05"], config)
    with FaceTracker(config.tracker, static=True) as tracker:
        yield config, subjects, tracker


def test_pasting_the_real_eyes_restores_the_read(setup):
    config, subjects, tracker = setup
    read = cues({"identity": IdentityRenderer(size=config.renderer.size)}, tracker, subjects)[
        "identity"
    ]
    assert list(read) == list(ROWS) and read["drawn"]["eyes"] >= 3
    widening = [read[row]["eyes_widening"] for row in ROWS]
    assert abs(widening[0]) < 0.15, widening  # the unchanged target: nothing
    assert widening[-1] > 0.7, widening  # the real stills
    assert widening[-2] > widening[1] + 0.2, widening  # up to the brow, over the opening alone
    assert read["drawn"]["eyes_closing"] < 0.15 < 0.7 < read["real"]["eyes_closing"]


def test_the_warp_reads_between_the_unchanged_target_and_the_real_stills(setup):
    config, subjects, tracker = setup
    read = cues(
        {
            "identity": IdentityRenderer(size=config.renderer.size),
            "warp": WarpRenderer(size=config.renderer.size),
        },
        tracker,
        subjects,
    )
    still, warp = read["identity"], read["warp"]
    assert still["drawn"]["eyes_widening"] + 0.3 < warp["drawn"]["eyes_widening"]
    assert warp["drawn"]["eyes_widening"] < warp["real"]["eyes_widening"]
    assert warp["real"] == still["real"]  # the real row is the stills, whatever draws


def test_each_pasted_region_holds_the_one_before_it(setup):
    config, subjects, _ = setup
    _, landmarks, _ = subjects[0]
    size = config.renderer.size
    weights = [paste_weight(landmarks, tuple(grow), size)[..., 0] for _, *grow in REGIONS]
    for smaller, larger in zip(weights, weights[1:]):
        assert np.all(larger >= smaller - 1e-6) and larger.sum() > smaller.sum()
    for ring in EYE_RINGS:  # every eye point is pasted; a corner of the crop is not
        x, y = np.round(landmarks[ring, :2]).astype(int).T
        assert np.all(weights[0][y, x] > 0.5)
    assert weights[-1][0, 0] == 0.0 and weights[-1][-1, -1] == 0.0


def test_a_missing_stills_folder_is_a_one_line_error(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.eye_cues",
            "--stills",
            str(tmp_path),
            "--subjects",
            "02",
        ],
        capture_output=True,
        cwd=REPO,  # `python -m lab.*` runs from a checkout's root
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and str(tmp_path) in done.stderr
