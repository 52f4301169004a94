"""reenact_lab.train.averaging: the warmed-up exponential average of a network's weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reenact.errors import ConfigError
from reenact_lab.train.averaging import WeightAverage, warmed_decay


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.norm = nn.BatchNorm1d(2)

    def arch_meta(self) -> dict:
        return {"arch": "net"}


def test_the_average_follows_the_warmed_decay_and_copies_the_buffers():
    net = Net()
    with torch.no_grad():
        net.linear.weight.fill_(0.0)
    average = WeightAverage(net, 0.9)
    expected = None
    for step in range(200):
        with torch.no_grad():
            net.linear.weight.fill_(float(step))
            net.norm.running_mean.fill_(float(-step))
        average.update(net)
        expected = (
            float(step)
            if expected is None
            else expected + (1 - warmed_decay(0.9, step)) * (step - expected)
        )
        assert float(average.module.linear.weight[0, 0]) == pytest.approx(expected, rel=1e-6)
        assert float(average.module.norm.running_mean[0]) == -step
    # warmed up: 0.1 .. 0.9 over the first updates, then the decay itself
    assert warmed_decay(0.9, 0) == pytest.approx(0.1) and warmed_decay(0.9, 80) == 0.9
    # after warm-up it lags a ramp by about decay / (1 - decay) steps, not by the whole run
    assert 7 < 199 - expected < 10
    assert not average.module.linear.weight.requires_grad
    assert average.arch_meta() == {"arch": "net"}


def test_the_average_round_trips_through_its_state_dict():
    net = Net()
    first = WeightAverage(net, 0.99)
    for _ in range(5):
        with torch.no_grad():
            net.linear.weight.add_(1.0)
        first.update(net)
    second = WeightAverage(Net(), 0.99)
    second.load_state_dict(first.state_dict())
    assert int(second.n_averaged) == 5
    assert torch.equal(second.module.linear.weight, first.module.linear.weight)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_a_decay_outside_zero_to_one_is_a_config_error(decay: float):
    with pytest.raises(ConfigError, match="train.ema"):
        WeightAverage(Net(), decay)
