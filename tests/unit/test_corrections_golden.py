"""The warp's corrections draw what they drew when their goldens were captured (`tests/golden/`).

Five portraits of different kinds (a photo with glasses, a cartoon, a smile with teeth, a turned
head, an open mouth), each driven by ten moves of its own landmarks (`tests.golden.corrections`):
every correction's map overrides and layers, the CPU warp's render, the CUDA path's planes and
its render on CPU torch, and the generator's paste-over alphas must match what is stored:
exactly on the machine that stored them, and elsewhere (another CPU's float rounding) within one
step (a grey level, 1/255 of alpha, 1/16 px) on at most 0.1 % of the values.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.golden.corrections import (
    HERE,
    MOVE_NAMES,
    PORTRAITS,
    SIZE,
    fingerprint,
    frames_of,
    is_device_key,
    load,
    outputs,
    unit,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None
SHARE = 1e-3  # of all the values of a portrait that may differ by one step on another CPU


def differences(got: dict, want: dict, exact: bool) -> list[str]:
    """What differs between computed and stored outputs (the same keys, as `outputs` makes
    them): [] when they match (module doc)."""
    problems = []
    if set(got) != set(want):
        problems.append(f"keys differ: {sorted(set(got) ^ set(want))[:6]}")
    changed = total = 0
    for key in sorted(set(got) & set(want)):
        a, b = got[key], want[key]
        if a.shape != b.shape:
            problems.append(f"{key}: shape {a.shape} != {b.shape}")
            continue
        diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
        step = unit(key)
        if exact or step == 0:
            if diff.any():
                problems.append(f"{key}: {int((diff > 0).sum())} values differ, most {diff.max()}")
            continue
        changed += int((diff > 0).sum())
        total += diff.size
        if diff.max() > step:
            problems.append(f"{key}: differs by {diff.max() / step:.1f} steps")
    if total and changed > SHARE * total:
        problems.append(f"{changed} of {total} values differ (more than {SHARE:.1%})")
    return problems


@pytest.fixture(scope="module", params=sorted(PORTRAITS))
def case(request):
    """(computed, stored, exact) for one portrait: the current code's outputs, the golden's,
    and whether this machine is the one that stored them."""
    inputs, want, meta = load(HERE / f"{request.param}.npz")
    got = outputs(inputs["crop"], inputs["landmarks"], frames_of(inputs), device=HAS_TORCH)
    return got, want, meta["fingerprint"] == fingerprint()


def test_numpy_path_and_paste_over_match_the_goldens(case):
    got, want, exact = case
    host = {k: v for k, v in want.items() if not is_device_key(k)}
    assert differences({k: v for k, v in got.items() if not is_device_key(k)}, host, exact) == []


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed: the CUDA path is not checked")
def test_cuda_path_on_cpu_torch_matches_the_goldens(case):
    got, want, exact = case
    device = {k: v for k, v in want.items() if is_device_key(k)}
    assert device, "the goldens hold the CUDA path's planes and render"
    assert differences({k: v for k, v in got.items() if is_device_key(k)}, device, exact) == []


def test_the_goldens_see_every_correction_at_work():
    """Each correction drew on many of the stored moves, so the goldens cover what it draws."""
    drawn = dict.fromkeys(("lip_bands", "eyeballs", "irises", "lids", "mouth", "paste"), 0)
    for kind in PORTRAITS:
        _, want, _ = load(HERE / f"{kind}.npz")
        for move in MOVE_NAMES:
            for name in drawn:
                drawn[name] += int(want[f"{move}/{name}/n"][0])
    assert min(drawn.values()) >= 15, drawn


def test_the_comparison_sees_a_changed_correction(monkeypatch):
    """A correction drawing a little differently fails the check (the lids' lash line 10 %
    darker), on this machine and under another CPU's tolerance alike."""
    from reenact.render import lids

    inputs, want, _ = load(HERE / "glasses.npz")
    monkeypatch.setattr(lids.LidPainter, "prepare", _darker_lashes(lids.LidPainter.prepare))
    got = outputs(inputs["crop"], inputs["landmarks"], frames_of(inputs), device=False)
    host = {k: v for k, v in want.items() if not is_device_key(k)}
    assert differences(got, host, exact=True)
    assert differences(got, host, exact=False)


def _darker_lashes(prepare):
    def darker(self, *args, **kwargs):
        prepare(self, *args, **kwargs)
        self._lash = self._lash * 0.9

    return darker


def test_extras_skip_a_repeated_frame_but_not_a_new_target():
    """The CUDA planes are rewritten (and uploaded) only when the frame or the target changed."""
    from reenact.render.corrections.apply import WarpExtras
    from reenact.render.warp import WarpRenderer

    first, _, _ = load(HERE / "yawn.npz")
    second, _, _ = load(HERE / "glasses.npz")
    warp = WarpRenderer(size=SIZE)
    warp.set_target(first["crop"], first["landmarks"])
    extras = WarpExtras(warp, np.zeros((7, SIZE, SIZE), np.float32))
    xy = warp.follow(frames_of(first)["half_closed"])  # the eyes and the mouth drawn
    assert extras.fill(xy)
    before = extras.planes.copy()
    assert before[0].max() > 0.5 and before[6].max() > 0.5
    assert not extras.fill(xy.copy())  # nothing changed, nothing to upload
    np.testing.assert_array_equal(extras.planes, before)
    warp.set_target(second["crop"], second["landmarks"])
    assert extras.fill(xy)
    assert not np.array_equal(extras.planes, before)
