"""Outputs and stop signals as a hostile new user meets them through the real `reenact` command
(issue 85: cases 1, 4, 7, 13 (part), 18): two runs on one output, a closed terminal, a stop
signal sent three times, a preset in the output's folder, an empty sink path, no face at all."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import pytest

from reenact.cli.main import main
from tests.helpers import ctrl_c_as_default, run_cli, write_clip

REENACT = [sys.executable, "-m", "reenact.cli.main"]
WROTE = re.compile(r"^wrote (\S+) \((\d+) frames\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def clip(clips_dir: Path) -> Path:
    return clips_dir / "lp_d0.mp4"


class Run:
    """The real `reenact` in a child process, Ctrl-C reaching it as from a terminal; its stderr
    (the progress bar) read as it comes, on a thread."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [*REENACT, *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=ctrl_c_as_default,
        )
        self.pid = self.process.pid
        self._err: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self._err.extend(iter(lambda: self.process.stderr.read1(4096), b""))

    def stderr(self) -> str:
        return b"".join(self._err).decode(errors="replace")

    def wait_for_frames(self, frames: int = 10, timeout: float = 180) -> None:
        """Until the progress bar shows `frames` frames written (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = re.findall(r"reenact: (\d+)frame", self.stderr())
            if shown and int(shown[-1]) >= frames:
                return
            if self.process.poll() is not None:
                pytest.fail(f"the run ended before writing: {self.stderr()[-2000:]}")
            time.sleep(0.1)
        pytest.fail(f"the run showed no {frames} frames in {timeout} s: {self.stderr()[-2000:]}")

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once it has ended; killed after `timeout` s."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        out = self.process.stdout.read().decode(errors="replace")
        return self.process.returncode, out, self.stderr()


def frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def leftovers(folder: Path) -> list[str]:
    """Temporary or lock files left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".partial", ".lock")))


def one_error_line(code: int, err: str, names: Path | str, says: str = "") -> str:
    """Exactly one `reenact: error:` line naming `names`, no traceback, a non-zero exit."""
    lines = [l for l in err.splitlines() if l.startswith("reenact: error:")]
    assert code != 0 and len(lines) == 1 and "Traceback" not in err, err
    assert str(names) in lines[0] and says.lower() in lines[0].lower(), lines[0]
    return lines[0]


def test_a_second_run_on_the_same_output_is_refused_and_the_first_keeps_its_recording(
    tmp_path, clip
):
    """Case 1: two `reenact run` in one folder, both on the default out/reenact.mp4. The
    second used to share `.reenact.mp4.partial` with the first, which then said "wrote
    out/reenact.mp4 (150 frames)" over a file of the second's 60 frames."""
    first = Run(
        tmp_path,
        "run",
        "--source",
        f"video:{clip}",
        "--renderer",
        "warp",
        "--set",
        "source.loop=true",
    )
    try:
        first.wait_for_frames()
        code, err, peak_mib = run_cli(
            "run",
            "--source",
            f"video:{clip}",
            "--renderer",
            "warp",
            "--max-frames",
            "5",
            cwd=tmp_path,
        )
        line = one_error_line(code, err, "out/reenact.mp4", says="another reenact run")
        assert f"(pid {first.pid})" in line
        assert peak_mib <= 300  # refused before any model is loaded (issue 85's goal)
        assert "frame/s" not in err  # refused before its first frame
        first.process.send_signal(signal.SIGTERM)
    finally:
        code, out, err = first.finish()
    assert code == 143, err[-3000:]
    wrote = WROTE.search(out)
    assert wrote and wrote.group(1) == "out/reenact.mp4", out
    assert frames_in(tmp_path / "out" / "reenact.mp4") == int(wrote.group(2))
    assert leftovers(tmp_path / "out") == []


STOPS = {  # (command, signal, how many, in a row, exit code, last line)
    "run-sighup": (
        "run",
        signal.SIGHUP,
        1,
        129,
        "reenact: hung up (SIGHUP); output closed cleanly",
    ),
    "run-sigterm-x3": (
        "run",
        signal.SIGTERM,
        3,
        143,
        "reenact: terminated (SIGTERM); output closed cleanly",
    ),
    "run-sigint-x3": ("run", signal.SIGINT, 3, 130, "reenact: interrupted; output closed cleanly"),
    "live-sigterm": (
        "live",
        signal.SIGTERM,
        1,
        143,
        "reenact: terminated (SIGTERM); output closed cleanly",
    ),
}


@pytest.mark.parametrize("case", list(STOPS))
def test_a_stop_signal_closes_the_recording_and_writes_the_run_files(tmp_path, clip, case):
    """Cases 4 and 18: SIGHUP (a closed terminal) used to lose the whole recording (rc 129, a
    partial file of 48 bytes); three quick SIGTERMs lost the summary, `.config.yaml` and
    `.timing.json`; three SIGINTs ended in a traceback, or counted a frame fewer than the file
    held; `reenact live` exited 0 however it was stopped. Now each stop closes the file, the
    count said is the file's, the run files are written, and the exit code is 128 + signal."""
    command, stop, times, code, said = STOPS[case]
    run = Run(
        tmp_path,
        command,
        "--source",
        f"video:{clip}",
        "--renderer",
        "warp",
        "--sink",
        "file:out/x.mp4",
        "--set",
        "source.loop=true",
    )
    try:
        run.wait_for_frames()
        for _ in range(times):  # 5 ms apart: the later ones land while the run is closing
            run.process.send_signal(stop)
            time.sleep(0.005)
    finally:
        returncode, out, err = run.finish()
    assert returncode == code, err[-3000:]
    assert "Traceback" not in err and err.rstrip().endswith(said), err[-3000:]
    out_dir = tmp_path / "out"
    stem = "x" if command == "run" else "live"
    timing = json.loads((out_dir / f"{stem}.timing.json").read_text())
    assert timing["interrupted"] and (out_dir / f"{stem}.config.yaml").is_file()
    assert frames_in(out_dir / "x.mp4") == timing["frames_out"] > 0
    if command == "run":
        assert f"wrote out/x.mp4 ({timing['frames_out']} frames)" in out
    assert leftovers(out_dir) == []


@pytest.mark.parametrize("preset_name", ["x.config.yaml", "x.timing.json", "live.config.yaml"])
def test_the_run_files_never_overwrite_the_preset(capsys, tmp_path, clip, preset_name):
    """Case 7: `-c out/x.config.yaml` with the output out/x.mp4 used to overwrite the preset
    with the run's resolved config; the files beside the output are now checked as it is."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    preset = out_dir / preset_name
    preset.write_text("renderer:\n  kind: warp\n")
    before = preset.read_bytes()
    if preset_name.startswith("live"):
        args = ["live", "--sink", "null", "--set", f"stream.output_dir={out_dir}"]
    else:
        args = ["run", "--sink", f"file:{out_dir / 'x.mp4'}"]
    code = main([*args, "--source", f"video:{clip}", "--max-frames", "2", "-c", str(preset)])
    one_error_line(code, capsys.readouterr().err, preset, says="same file as the preset")
    assert preset.read_bytes() == before and sorted(out_dir.iterdir()) == [preset]


def test_a_sink_spec_with_an_empty_path_is_one_error(capsys, tmp_path, clip, monkeypatch):
    """Case 13: `--sink file:` used to write out/reenact.mp4."""
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--source", f"video:{clip}", "--sink", "file:", "--max-frames", "2"])
    one_error_line(code, capsys.readouterr().err, "--sink 'file:'", says="needs a path")
    assert list(tmp_path.iterdir()) == []


def test_a_run_without_any_face_says_so(capsys, tmp_path):
    """Case 13: a source in which no frame has a face used to end "wrote ... (N frames)" with
    nothing said (frames_with_face 0/N only in the timing file)."""
    from skimage import data

    coffee = cv2.resize(data.coffee(), (320, 240), interpolation=cv2.INTER_AREA)
    faceless = write_clip(tmp_path / "coffee.mp4", [coffee] * 6)
    output = tmp_path / "out" / "coffee_as.mp4"
    code = main(
        ["run", "--source", f"video:{faceless}", "--sink", f"file:{output}", "--renderer", "warp"]
    )
    err = capsys.readouterr().err
    warnings = [l for l in err.splitlines() if l.startswith("reenact: warning: no face")]
    assert code == 0 and len(warnings) == 1, err
    assert f"any of the 6 frames of {faceless}" in warnings[0]
    assert frames_in(output) == 6
