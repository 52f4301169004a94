"""Global hotkeys: the real hotkey module and real Controls on a real Reenactor, with pynput's
Listener replaced by a stand-in that emits presses and releases (there is no keyboard here)."""

from __future__ import annotations

import platform
import sys
from types import SimpleNamespace

import pytest

from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.stream import hotkeys
from reenact.stream.controls import Controls
from reenact.stream.hotkeys import GlobalHotkeys, parse_bindings, start_hotkeys

from tests.helpers import reenactor


def key(name: str) -> SimpleNamespace:
    """A pynput `Key` (ctrl_l, alt_r, ...): named, no char."""
    return SimpleNamespace(name=name)


def char(text: str) -> SimpleNamespace:
    """A pynput `KeyCode` for a character."""
    return SimpleNamespace(char=text, vk=None)


class FakeListener:
    """pynput.keyboard.Listener's surface: callbacks in, start / stop / wait, and `emit`."""

    def __init__(self, *, on_press, on_release) -> None:
        self.on_press, self.on_release = on_press, on_release
        self.running = False

    def start(self) -> None:
        self.running = True

    def wait(self) -> None:
        pass

    def is_alive(self) -> bool:
        return self.running

    def stop(self) -> None:
        self.running = False

    def press(self, *keys) -> list:
        return [self.on_press(k) for k in keys]

    def release(self, *keys) -> list:
        return [self.on_release(k) for k in keys]


@pytest.fixture(scope="module")
def target():
    from reenact.pipeline.target import prepare_target

    return prepare_target("", load_config())


@pytest.fixture
def live(target):
    """(Controls, listener) with the default `hotkeys.keys`, listening."""
    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    controls = Controls(reenactor(config, target))
    bound = GlobalHotkeys(
        parse_bindings(config.hotkeys.keys), controls, listener_class=FakeListener
    )
    bound.start()
    return controls, bound.listener


def held(controls: Controls) -> list[str]:
    controls.apply_pending()
    return controls.reenactor.presets.status()["on"]


def test_a_preset_is_on_while_its_keys_are_held(live) -> None:
    controls, keys = live
    keys.press(key("ctrl_l"), key("alt_l"), char("1"))
    assert held(controls) == ["smile"]
    keys.press(char("1"), char("1"))  # the keyboard's auto-repeat
    assert held(controls) == ["smile"]
    keys.press(char("2"))  # a second preset joins while the first is held
    assert sorted(held(controls)) == ["smile", "surprise"]
    keys.release(char("1"))
    assert held(controls) == ["surprise"]
    keys.release(key("alt_l"))  # the combination is broken: the second is released too
    assert held(controls) == []
    assert controls.reenactor.presets.active  # fading out over presets.blend_s, not cut


def test_a_press_and_release_between_two_frames_keep_the_last(live) -> None:
    controls, keys = live
    keys.press(key("ctrl_r"), key("alt_gr"), char("1"))
    keys.release(char("1"))
    keys.press(char("1"))
    assert held(controls) == ["smile"]  # still down at the frame: on
    keys.release(char("1"))
    assert held(controls) == []


def test_other_actions_fire_once_per_press(live) -> None:
    controls, keys = live
    r = controls.reenactor
    keys.press(key("ctrl_l"), key("alt_l"), char("P"))  # shift's capital still means p
    keys.press(char("p"), char("p"))  # held down: auto-repeat does not toggle it back
    controls.apply_pending()
    assert r.paused and controls.state.message == "paused: pass-through"
    keys.release(char("p"))
    keys.press(char("p"))
    controls.apply_pending()
    assert not r.paused
    keys.press(char("c"))
    controls.apply_pending()
    assert r.calibrating
    keys.release(char("c"), char("p"), key("alt_l"), key("ctrl_l"))
    keys.press(char("p"))  # no modifiers: an ordinary key, not a hotkey
    controls.apply_pending()
    assert not r.paused and held(controls) == []


def test_bindings_from_the_config(target) -> None:
    config = load_config(
        None,
        [
            "renderer.kind=warp",
            "fusion.kind=training_free",
            'hotkeys.keys=["<cmd>+f9=preset:wink", "ctrl++=quit"]',
        ],
    )
    controls = Controls(reenactor(config, target))
    bound = GlobalHotkeys(
        parse_bindings(config.hotkeys.keys), controls, listener_class=FakeListener
    )
    bound.listener.press(key("cmd"), key("f9"))
    assert held(controls) == ["wink"]
    bound.listener.release(key("f9"))
    bound.listener.press(key("ctrl_r"), char("+"))
    controls.apply_pending()
    assert controls.state.quit and held(controls) == []


@pytest.mark.parametrize(
    "line, says",
    [
        ("ctrl+alt+1", "is not KEYS=ACTION"),
        ("ctrl+hyper+1=pause", "unknown key 'hyper'"),
        ("ctrl+alt+1=dance", "unknown action 'dance'"),
        ("ctrl+alt+1=preset_on", "write it as preset_on:NAME"),
    ],
)
def test_a_bad_binding_is_one_line(line: str, says: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_bindings([line])
    message = str(exc.value)
    assert message.startswith("hotkeys.keys: ") and says in message and "\n" not in message


def test_the_same_keys_twice_are_refused() -> None:
    with pytest.raises(ConfigError, match="ctrl\\+alt\\+1 is bound twice"):
        parse_bindings(["alt+ctrl+1=preset_1", "ctrl+alt+1=pause"])


def test_an_unknown_preset_is_refused_before_listening(live, monkeypatch) -> None:
    controls, _ = live
    monkeypatch.setattr(hotkeys, "load_listener", lambda: pytest.fail("listened"))
    with pytest.raises(ConfigError, match="unknown preset 'moonwalk'"):
        start_hotkeys(parse_bindings(["f8=preset:moonwalk"]), controls)


def test_without_pynput_one_line_names_the_extra(live, monkeypatch, capsys) -> None:
    controls, _ = live
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setattr(platform, "system", lambda: "Windows")  # nothing else in the way
    monkeypatch.setitem(sys.modules, "pynput", None)  # as if the extra were not installed
    assert start_hotkeys(parse_bindings(["f8=pause"]), controls) is None
    err = capsys.readouterr().err
    assert err == (
        "reenact: global hotkeys are off: pynput is not installed: pip install 'reenact[hotkeys]'\n"
    )


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "no X display (DISPLAY is not set)"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "a Wayland session"),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "a Wayland session"),
    ],
)
def test_on_linux_without_x_one_line_says_why(live, monkeypatch, capsys, env, says) -> None:
    controls, _ = live
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(hotkeys, "load_listener", lambda: pytest.fail("pynput was tried"))
    assert start_hotkeys(parse_bindings(["f8=pause"]), controls) is None
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("reenact: global hotkeys are off: ")
    assert says in lines[0]


def test_macos_without_the_accessibility_permission(live, monkeypatch, capsys) -> None:
    controls, _ = live

    class Untrusted(FakeListener):
        IS_TRUSTED = False  # what pynput's macOS listener says without the permission

    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(hotkeys, "load_listener", lambda: Untrusted)
    assert start_hotkeys(parse_bindings(["f8=pause"]), controls) is None
    err = capsys.readouterr().err
    assert "Accessibility permission" in err and err.count("\n") == 1


def test_nothing_fires_after_stop(target) -> None:
    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    controls = Controls(reenactor(config, target))
    bound = GlobalHotkeys(parse_bindings(["f8=pause"]), controls, listener_class=FakeListener)
    bound.start()
    bound.stop()
    assert bound.listener.press(key("f8")) == [False]  # pynput ends a listener told False
    controls.apply_pending()
    assert not controls.reenactor.paused
