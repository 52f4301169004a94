"""The preview window: only what can be checked without a display (probe and refusal)."""

from __future__ import annotations

import platform

import pytest

from reenact.errors import DeviceError
from reenact_plugins.sinks.window import WindowSink


@pytest.mark.skipif(platform.system() != "Linux", reason="DISPLAY decides only on Linux")
def test_probe_without_a_display(monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    reason = WindowSink.probe(WindowSink.Options())
    assert reason is not None and "\n" not in reason
    assert "display" in reason.lower() or "GUI" in reason
    assert "--sink stream" in reason


def test_construct_refuses_where_probe_refuses() -> None:
    reason = WindowSink.probe(WindowSink.Options())
    if reason is None:
        pytest.skip("a display is available here; the window would open")
    with pytest.raises(DeviceError) as exc:
        WindowSink(WindowSink.Options(), width=64, height=48, fps=30.0)
    assert str(exc.value) == reason
