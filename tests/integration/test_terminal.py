"""What a user's terminal shows (issue 89, parts 4-5): reenact's own lines by default, nothing
from MediaPipe/TFLite/OpenCV unless -vv, -v for reenact's debug lines only, -q for warnings,
every sink saying where its output goes, `python -m reenact`, and `reenact doctor` on an install
without the optional extras."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import decode_rgb, write_clip

REPO = Path(__file__).resolve().parents[2]
REENACT = [sys.executable, "-m", "reenact"]
# absl/glog ("W0000 00:00:1795802958.176634 25723 file.cc:114] ..."), TFLite's INFO line, and
# OpenCV's "[ WARN:0@5.243] ..." / "[ERROR:0@0.02] ..."
NATIVE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |INFO: Created TensorFlow Lite|"
    r"WARNING: All log messages before absl|\[ ?(WARN|ERROR|INFO):\d+@)"
)


def reenact(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*REENACT, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def lines_of(stderr: str) -> list[str]:
    """stderr as lines, the progress bar's carriage-return redraws split off."""
    return [line for line in re.split(r"[\r\n]", stderr) if line.strip()]


def live(clip: Path, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    done = reenact(
        "live",
        "--source",
        f"video:{clip}",
        "--sink",
        "null",
        "--renderer",
        "warp",
        "--max-frames",
        "12",
        "--set",
        "panel.enabled=false",
        "--set",
        f"stream.output_dir={tmp_path / 'out'}",
        *flags,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def clip(clips_dir: Path) -> Path:
    return clips_dir / "lp_d0.mp4"


def test_a_live_run_shows_no_native_log_lines_by_default_and_all_of_them_with_vv(clip, tmp_path):
    quiet = lines_of(live(clip, tmp_path).stderr)
    assert not [line for line in quiet if NATIVE.match(line)], quiet
    assert not [
        line
        for line in quiet
        if not line.startswith("reenact")
        and "median ms" not in line
        and not re.match(r"^\w+ +[\d.]+ +[\d.]+ +\d+$", line)
        and not line.startswith("end-to-end")
    ], quiet  # reenact's lines, its table
    assert "reenact: output: none (--sink null)" in quiet, quiet
    started = next(line for line in quiet if line.startswith("reenact: live."))
    assert "preview" not in started and "Look at the camera" not in started, started  # a file

    loud = lines_of(live(clip, tmp_path, "-vv").stderr)
    native = [line for line in loud if NATIVE.match(line)]
    assert any("inference_feedback_manager" in line for line in native), loud
    # another library's Python debug line (which library logs depends on what is loaded)
    assert any(": DEBUG: " in line and not line.startswith("reenact") for line in loud), loud


def test_v_adds_reenacts_debug_lines_and_no_other_librarys(clip, tmp_path):
    err = lines_of(live(clip, tmp_path, "-v").stderr)
    assert any(line.startswith("reenact: DEBUG: source video at ") for line in err), err
    others = [line for line in err if "DEBUG" in line and not line.startswith("reenact: ")]
    assert not others, others
    assert not [line for line in err if NATIVE.match(line)], err


def test_q_leaves_warnings_only(clip, tmp_path):
    odd = write_clip(tmp_path / "fast.mp4", decode_rgb(clip)[:6], fps=1000)  # one warning
    done = reenact(
        "run",
        "--source",
        f"video:{odd}",
        "--renderer",
        "warp",
        "--sink",
        f"file:{tmp_path / 'out.mp4'}",
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    err = lines_of(done.stderr)  # no status lines, no timings, no progress bar
    assert len(err) == 1 and err[0].startswith("reenact: WARNING: ") and "1000 fps" in err[0], err
    assert done.stdout.startswith(f"wrote {tmp_path / 'out.mp4'}")  # the command's own output


def test_the_stream_sink_prints_the_address_its_frames_go_to(clip, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        port = receiver.getsockname()[1]
        receiver.settimeout(10)
        done = reenact(
            "run",
            "--source",
            f"video:{clip}",
            "--renderer",
            "warp",
            "--sink",
            f"stream:udp://127.0.0.1:{port}",
            "--max-frames",
            "5",
            "--set",
            f"stream.output_dir={tmp_path / 'out'}",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        packet = receiver.recv(2048)
    said = [line for line in lines_of(done.stderr) if line.startswith("reenact: output:")]
    assert said == [
        f"reenact: output: udp://127.0.0.1:{port} (MPEG-TS, h264; in OBS: a Media "
        "Source with this address)"
    ], done.stderr
    assert packet[0] == 0x47  # an MPEG-TS packet arrived at exactly that address


def test_the_file_sink_prints_its_path(clip, tmp_path):
    out = tmp_path / "clip.mp4"
    done = reenact(
        "run",
        "--source",
        f"video:{clip}",
        "--renderer",
        "warp",
        "--sink",
        f"file:{out}",
        "--max-frames",
        "3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"reenact: output: {out} (libx264)" in lines_of(done.stderr), done.stderr
    assert out.is_file()


def test_python_m_reenact_is_the_command(tmp_path):
    done = reenact("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "doctor" in done.stdout and "live" in done.stdout
    live_help = reenact("live", "--help", cwd=tmp_path).stdout
    assert "-q, --quiet" in live_help and "-vv" in live_help


def _venv_without(tmp_path: Path, left_out: tuple[str, ...]) -> Path:
    """A venv holding this one's packages (linked, so it takes a second) except `left_out`:
    a real install in which those packages are not there."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("needs the tests to run in a virtual environment")
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    here = Path(sysconfig.get_paths()["purelib"])
    there = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    for entry in here.iterdir():
        stem = re.split(r"[-.]", entry.name, maxsplit=1)[0].lower()
        if stem not in left_out:
            (there / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    assert python.exists(), python
    return python


def test_doctor_marks_an_absent_extra_optional_with_the_command_for_this_install(tmp_path):
    python = _venv_without(tmp_path, ("torch", "functorch", "torchgen", "pynput"))
    gone = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True)
    assert gone.returncode != 0  # torch really is absent there
    done = subprocess.run(
        [str(python), "-m", "reenact", "doctor"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ},
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert done.returncode == (1 if "[FAIL]" in done.stdout else 0), done.stdout
    assert not [line for line in lines if line.startswith("[FAIL] torch")], done.stdout
    for extra, package in (("cuda", "torch"), ("hotkeys", "pynput")):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"[optional] {extra}:"))
        assert f"{package} not installed" in lines[at], lines[at]
        fix = lines[at + 1].strip()
        assert fix.startswith(f"-> {python} -m pip install ") and f"[{extra}]'" in fix, fix
        if _editable_checkout() is not None:  # the extra comes from the same checkout
            assert fix.endswith(f" -e '{_editable_checkout()}[{extra}]'"), fix


def _editable_checkout() -> str | None:
    """The folder this environment has reenact installed from in editable mode, or None."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    info = json.loads(metadata.distribution("reenact").read_text("direct_url.json") or "{}")
    if not (info.get("dir_info") or {}).get("editable"):
        return None
    return unquote(urlsplit(info["url"]).path)
