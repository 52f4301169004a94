"""Phi as an expression-code autoencoder (`reenact.fusion.coded`), on real faces tracked by the
real face mesh: what it must keep (a neutral actor, the head's pose, the expression features)
and what it must beat (the training-free transfer's error on people it never saw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact.engine.shipped import shipped_weights
from reenact.fusion.coded import CodeFusion
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.landmarks.expressiveness import relative
from reenact.landmarks.head_pose import rotation_matrix
from reenact.pipeline.factory import build_fuser
from tests.helpers import open_mouth_actor

SIZE = 256
NEUTRAL_STILLS = ("normal", "noglasses", "centerlight")
LABELS = ("happy", "sad", "sleepy", "surprised", "wink")


@pytest.fixture(scope="module")
def phi() -> CodeFusion:
    fuser = build_fuser(load_config(None, ["fusion.kind=network"]))
    assert isinstance(fuser, CodeFusion), "the shipped Phi is the expression-code autoencoder"
    return fuser


@pytest.fixture(scope="module")
def faces(clips_dir: Path) -> dict[str, np.ndarray]:
    """A real actor whom Phi never saw (its most open-mouthed frame and its neutral) and another
    person's neutral."""
    return open_mouth_actor(clips_dir, "lp_d13", frames=24, size=SIZE)


def _turned(face: np.ndarray, pitch: float, yaw: float, roll: float) -> np.ndarray:
    centre = face.mean(axis=0)
    return ((face - centre) @ rotation_matrix(pitch, yaw, roll).T + centre).astype(np.float32)


def test_a_neutral_actor_leaves_the_target_neutral(phi, faces):
    out = phi.fuse(faces["neutral"], faces["neutral"], faces["target"], 1.0)
    np.testing.assert_allclose(out, faces["target"], atol=1e-3)


def test_the_head_pose_passes_as_the_transfer_passes_it(phi, faces):
    """A neutral actor who only turns their head: Phi moves the target exactly as the
    training-free transfer does (the pose is not expression, so nothing of it is damped)."""
    turned = _turned(faces["neutral"], 8.0, -12.0, 5.0)
    free = TrainingFreeFusion().fuse(turned, faces["neutral"], faces["target"], 1.0)
    out = phi.fuse(turned, faces["neutral"], faces["target"], 1.0)
    assert np.abs(free - faces["target"]).max() > 5.0  # the turn does move the landmarks
    np.testing.assert_allclose(out, free, atol=0.05)


def test_the_expression_features_are_carried_whole(phi, faces):
    """The open mouth (and every other feature) arrives at its own size on the other face, as
    much as the training-free transfer carries, and intensity scales it."""
    args = faces["source"], faces["neutral"], faces["target"]
    actor = relative(faces["source"], faces["neutral"])
    carried = relative(phi.fuse(*args, 1.0), faces["target"])
    free = relative(TrainingFreeFusion().fuse(*args, 1.0), faces["target"])
    assert actor[0] > 0.1  # the mouth is open
    assert abs(carried[0] - actor[0]) < 0.1 * actor[0]
    assert np.abs(carried - actor).max() <= np.abs(free - actor).max() + 0.02
    half = relative(phi.fuse(*args, 0.5), faces["target"])
    assert abs(half[0] - 0.5 * carried[0]) < 0.05 * carried[0]


def test_the_expression_is_not_copied_point_for_point(phi, faces):
    """What the code does not explain is passed through damped (beta < 1): the fused face is
    not the transfer's, but differs from it far less than the expression itself."""
    args = faces["source"], faces["neutral"], faces["target"]
    free = TrainingFreeFusion().fuse(*args, 1.0)
    out = phi.fuse(*args, 1.0)
    expression = np.linalg.norm((free - faces["target"])[:, :2], axis=1).mean()
    gap = np.linalg.norm((out - free)[:, :2], axis=1).mean()
    assert phi.beta < 1.0
    assert 0.02 * expression < gap < 0.5 * expression


def _people(aligned_still, media_dir: Path, subject: str):
    stills = media_dir / "expressions"
    found = [stills / f"{subject}_{c}.png" for c in NEUTRAL_STILLS]
    neutral = np.median([aligned_still(p)[1] for p in found if p.exists()], axis=0).astype(
        np.float32
    )
    return neutral, {c: aligned_still(stills / f"{subject}_{c}.png")[1] for c in LABELS}


def test_phi_beats_the_transfer_on_people_it_never_saw(phi, aligned_still, media_dir):
    """Yale subjects 14 and 15 (held out of Phi's fit) make the same five expressions; each
    drives the other's neutral, scored against the other's real still: Phi's landmark error is
    below the training-free transfer's, a fuser that leaves the target neutral is far worse."""
    people = {s: _people(aligned_still, media_dir, s) for s in ("14", "15")}
    free = TrainingFreeFusion()
    errors = {"phi": [], "free": [], "still": []}
    for a, b in (("14", "15"), ("15", "14")):
        (n_a, e_a), (n_b, e_b) = people[a], people[b]
        iod = np.linalg.norm(n_b[263, :2] - n_b[33, :2])
        for label in LABELS:
            for name, out in (
                ("phi", phi.fuse(e_a[label], n_a, n_b, 1.0)),
                ("free", free.fuse(e_a[label], n_a, n_b, 1.0)),
                ("still", n_b),
            ):
                errors[name].append(np.linalg.norm((out - e_b[label])[:, :2], axis=1).mean() / iod)
    means = {k: float(np.mean(v)) for k, v in errors.items()}
    assert means["phi"] < 0.97 * means["free"] < means["still"], means


def test_the_shipped_phi_never_saw_the_held_out_people():
    from reenact.engine.weights import load_weights
    from reenact_lab.train.splits import read_splits

    _, meta = load_weights(shipped_weights("fusion"))
    assert meta["arch"] == "fusion_code"
    trained_on = set(meta["trained_on"].split())
    assert len(trained_on) > 50 and not trained_on & set(read_splits().held_out)


def test_a_lift_code_carries_the_corners_rise(faces):
    """A code whose only row decodes the smile's lift (corners up by a known share of the mouth's
    width on the mean face; every other feature row zero, no directions, beta 0, so nothing else
    passes): an actor whose corners rise by that much gets the same lift on the target. Read
    without the lift (six rows, as the shipped weights), the same actor leaves the target as it
    is: the seventh row is what carries it."""
    from reenact.landmarks.expressiveness import MOUTH_CORNERS, lift
    from reenact_lab.train.pairs import unit_landmarks

    neutral, target = faces["neutral"], faces["target"]
    mean_face = unit_landmarks(neutral, SIZE)
    row = np.zeros((478, 3), np.float32)
    row[list(MOUTH_CORNERS), 1] = -np.linalg.norm(  # one unit of lift: a mouth width up
        mean_face[MOUTH_CORNERS[0], :2] - mean_face[MOUTH_CORNERS[1], :2]
    )
    decoder = np.zeros((7, 478 * 3), np.float32)
    decoder[6] = row.reshape(-1)
    smiling = neutral.copy()
    smiling[list(MOUTH_CORNERS), 1] -= 0.1 * np.linalg.norm(
        neutral[MOUTH_CORNERS[0], :2] - neutral[MOUTH_CORNERS[1], :2]
    )
    assert abs(lift(smiling, neutral) - 0.1) < 1e-6
    seven = CodeFusion({"mean_face": mean_face, "decoder": decoder}, beta=0.0, size=SIZE, lift=True)
    assert abs(lift(seven.fuse(smiling, neutral, target), target) - 0.1) < 0.01
    six = CodeFusion({"mean_face": mean_face, "decoder": decoder[:6]}, beta=0.0, size=SIZE)
    np.testing.assert_allclose(six.fuse(smiling, neutral, target), target, atol=1e-3)


def test_incomplete_weights_name_the_file(tmp_path: Path):
    import torch

    from reenact.engine.weights import save_weights
    from reenact.errors import WeightsError

    path = tmp_path / "broken.safetensors"
    save_weights(path, {"mean_face": torch.zeros(478, 3)}, {"arch": "fusion_code", "beta": 0.7})
    with pytest.raises(WeightsError, match="broken.safetensors"):
        build_fuser(load_config(None, ["fusion.kind=network", f"fusion.weights={path}"]))
