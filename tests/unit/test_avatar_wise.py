"""The avatar's final weights: the best fine-tuned ones averaged with the shipped ones (WiSE-FT),
unless the average validates below the shipped generator."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from reenact_lab.train import avatar_fit  # noqa: E402
from reenact_lab.train.avatar_fit import FitResult, _Run, wise_state  # noqa: E402


def test_floats_are_averaged_and_counters_kept() -> None:
    tuned = {"w": torch.tensor([2.0, 4.0]), "n": torch.tensor(7)}
    start = {"w": torch.tensor([0.0, 0.0]), "n": torch.tensor(3)}
    out = wise_state(tuned, start, 0.25)
    assert torch.equal(out["w"], torch.tensor([0.5, 1.0]))
    assert out["n"].item() == 7 and out["n"].dtype == tuned["n"].dtype
    assert torch.equal(wise_state(tuned, start, 1.0)["w"], tuned["w"])


def _run(monkeypatch, average_ssim: float) -> _Run:
    model = torch.nn.Linear(2, 1)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    tuned = {k: v + 1.0 for k, v in start.items()}
    run = object.__new__(_Run)
    run.model, run.pairs, run.device = model, None, torch.device("cpu")
    run.start_state, run.best_state = start, tuned
    run.result = FitResult(model=model, meta={})
    run.result.start = {"shipped": {"ssim": 0.70, "psnr": 20.0}}
    run.result.best = {"shipped": {"ssim": 0.70}, "personal": {"ssim": 0.80, "psnr": 22.0}}
    scores = {"ssim": average_ssim, "psnr": 21.0}
    monkeypatch.setattr(avatar_fit, "personal_scores", lambda *a: scores)
    return run


def test_the_average_is_kept_when_it_validates_at_least_as_the_shipped(monkeypatch) -> None:
    run = _run(monkeypatch, 0.75)
    tuned = run.best_state
    run.average()
    assert run.result.best["personal"] == {"ssim": 0.75, "psnr": 21.0}
    assert run.result.fine_tuned == {"ssim": 0.80, "psnr": 22.0}
    for k, v in run.best_state.items():
        assert torch.allclose(v, (tuned[k] + run.start_state[k]) / 2)


def test_the_fine_tune_is_kept_when_the_average_falls_below_the_shipped(monkeypatch) -> None:
    run = _run(monkeypatch, 0.69)
    tuned = run.best_state
    run.average()
    assert run.result.best["personal"]["ssim"] == 0.80
    assert run.best_state is tuned
