"""The panel-cost verdict of `lab.panel_load`: ABBA windows, per-pair changes."""

import pytest

from lab.panel_load import abba, verdict


def test_abba_alternates_in_pairs():
    assert abba(8) == [False, True, True, False, False, True, True, False]
    assert abba(3) == [False, True, True]


def test_a_panel_that_costs_nothing_meets_the_goal_whatever_the_drift():
    # the machine slows down steadily; the panel itself costs nothing: ABBA pairs cancel it
    fps = [30.0 - i for i in range(8)]
    result = verdict(fps, abba(8))
    assert abs(result["loss_pct"]) < 1.0
    assert result["met"]


def test_a_panel_that_costs_ten_percent_fails():
    panel = abba(8)
    fps = [27.0 if p else 30.0 for p in panel]
    result = verdict(fps, panel)
    assert result["loss_pct"] == pytest.approx(10.0)
    assert not result["met"]
    assert len(result["changes_pct"]) == 4


def test_one_slow_window_does_not_decide():
    panel = abba(12)
    fps = [29.0 if p else 30.0 for p in panel]
    fps[5] = 10.0  # one panel window disturbed by something else
    result = verdict(fps, panel)
    assert result["loss_pct"] == pytest.approx(100 / 30)
    assert result["met"]


def test_windows_without_a_reference_are_refused():
    with pytest.raises(ValueError):
        verdict([30.0, 30.0], [True, True])
    with pytest.raises(ValueError):
        verdict([30.0], [False, True])
