"""A sink from another package, with an option of its own, works through the front door.

The test installs one for real: a module and its `*.dist-info` (with `entry_points.txt` in the
`reenact.sinks` group) in a folder put on sys.path, as pip would lay them out. Nothing in reenact
names it; its option `sink.every` is defined, typed and checked by the plugin's own `Options`.
"""

from __future__ import annotations

import textwrap

import pytest

from reenact.cli.main import main
from reenact.config import load_config
from reenact.errors import ConfigError
from reenact.plugin_api import SINK_GROUP, entry_points

PLUGIN = '''
from dataclasses import dataclass
from pathlib import Path

from reenact.plugin_api import BaseSink


class TallySink(BaseSink):
    """Writes one line per `every` frames to `tally_path`."""

    name = "tally"

    @dataclass(frozen=True)
    class Options:
        tally_path: str = "tally.txt"
        every: int = 1

    def __init__(self, options, *, width, height, fps):
        super().__init__(width=width, height=height, fps=fps)
        self.options = options
        self._file = Path(options.tally_path).open("w")

    def write(self, image):
        self.check_frame(image)
        self.frames_written += 1
        if self.frames_written % self.options.every == 0:
            self._file.write(f"{self.frames_written} {image.shape[1]}x{image.shape[0]}\\n")

    def _close(self):
        self._file.close()
'''


@pytest.fixture
def tally_installed(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "tally_sink-0.1.dist-info").mkdir(parents=True)
    (site / "tally_sink.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "tally_sink-0.1.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tally-sink\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[reenact.sinks]\ntally = tally_sink:TallySink\n")
    monkeypatch.syspath_prepend(str(site))
    assert "tally" in entry_points(SINK_GROUP)
    return site


def test_a_third_party_sink_takes_its_own_option(tally_installed, clips_dir, tmp_path, capsys):
    tally = tmp_path / "tally.txt"
    code = main(
        [
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d1.mp4'}",
            "--sink",
            "tally",
            "--renderer",
            "warp",
            "--max-frames",
            "6",
            "--set",
            f"sink.tally_path={tally}",
            "--set",
            "sink.every=2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    lines = tally.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["2", "4", "6"]


def test_its_option_is_checked_at_config_load(tally_installed):
    with pytest.raises(ConfigError, match="sink.every"):
        load_config(None, ["sink.kind=tally", "sink.every=often"])
    with pytest.raises(ConfigError, match="sink.evry.*every"):
        load_config(None, ["sink.kind=tally", "sink.evry=2"])
    # another sink's key is not an error: a preset for one sink stays usable with another
    assert load_config(None, ["sink.kind=tally", "sink.crf=18"]).sink.kind == "tally"
