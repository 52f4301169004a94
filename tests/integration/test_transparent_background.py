"""compose.background: the avatar kept and the rest cleared (transparent), or a chroma colour.

Real runs through `reenact run` (real clip, real MediaPipe tracking and segmentation, the warp)
into two sinks installed for real as a third-party plugin (a module and its dist-info on
sys.path): `rgbaprobe` declares `alpha` (instance attribute, as a file sink writing alpha
would), `rgbprobe` does not. Both keep every frame they get, as a .npy file.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from reenact.cli.main import main
from reenact.imageio import load_image, save_image
from reenact.config import load_config
from reenact.landmarks.tracker import detect_target_face
from reenact.plugin_api import SINK_GROUP, entry_points
from tests.helpers import decode_rgb, write_clip

PLUGIN = """
from dataclasses import dataclass

import numpy as np

from reenact.plugin_api import BaseSink


class _Probe(BaseSink):
    @dataclass(frozen=True)
    class Options:
        probe_path: str = "frames.npy"

    def __init__(self, options, *, width, height, fps):
        super().__init__(width=width, height=height, fps=fps)
        self.options = options
        self.frames = []

    def write(self, image):
        self.frames.append(np.array(image, copy=True))
        self.frames_written += 1

    def _close(self):
        np.save(self.options.probe_path, np.stack(self.frames))


class RgbaProbe(_Probe):
    name = "rgbaprobe"

    def __init__(self, options, *, width, height, fps):
        super().__init__(options, width=width, height=height, fps=fps)
        self.alpha = True


class RgbProbe(_Probe):
    name = "rgbprobe"
"""

SIDE = 384  # stream.max_output_side: small frames, a fast test
MAGENTA = (255, 0, 255)
GREEN = (0, 255, 0)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    info = site / "probe_sink-0.1.dist-info"
    info.mkdir()
    (site / "probe_sink.py").write_text(textwrap.dedent(PLUGIN))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-sink\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[reenact.sinks]\nrgbaprobe = probe_sink:RgbaProbe\nrgbprobe = probe_sink:RgbProbe\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        assert {"rgbaprobe", "rgbprobe"} <= set(entry_points(SINK_GROUP))
        yield site


@pytest.fixture(scope="module")
def run(probes, clips_dir, tmp_path_factory):
    """run(target, sink, *settings) -> the frames the sink got, (N, H, W, C) uint8 (cached)."""
    folder = tmp_path_factory.mktemp("runs")
    done: dict[tuple, np.ndarray] = {}

    def _run(
        target: Path,
        sink: str,
        *settings: str,
        clip: Path | None = None,
        renderer: str = "warp",
        frames: int = 6,
    ) -> np.ndarray:
        key = (str(target), sink, settings, str(clip), renderer)
        if key not in done:
            out = folder / f"{len(done)}.npy"
            clip = clip or clips_dir / "lp_d1.mp4"
            args = [
                "run",
                "--source",
                f"video:{clip}",
                "--sink",
                sink,
                "--target",
                str(target),
                "--renderer",
                renderer,
                "--max-frames",
                str(frames),
                "--set",
                f"sink.probe_path={out}",
                "--set",
                f"stream.max_output_side={SIDE}",
                "--set",
                "calibration.neutral_frames=2",
                "--set",
                "calibration.neutral_window=2",
                "--set",
                f"stream.output_dir={folder}",
            ]
            for setting in settings:
                args += ["--set", setting]
            assert main(args) == 0
            done[key] = np.load(out)
        return done[key]

    return _run


@pytest.fixture(scope="module")
def photo(portraits_dir) -> Path:
    return portraits_dir / "lp_s1.jpg"  # a head and shoulders before a plain wall


def _face(rgb: np.ndarray) -> np.ndarray:
    """(478, 2) the face's landmarks in the frame, tracked for real."""
    config = load_config(None, [])
    return detect_target_face(np.ascontiguousarray(rgb), config.tracker, source_name="out")[:, :2]


def _on_face(alpha: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """alpha at the nose tip, the eyes' inner corners and the chin's middle."""
    points = np.round(landmarks[[1, 133, 362, 17]]).astype(int)
    return alpha[points[:, 1], points[:, 0]]


def _far(alpha: np.ndarray) -> np.ndarray:
    """(H, W) bool: transparent in the picture and beyond where the head's motion reaches."""
    return cv2.distanceTransform((alpha == 0).astype(np.uint8), cv2.DIST_L2, 5) > SIDE * 0.15


def _corners(image: np.ndarray) -> np.ndarray:
    return np.stack([image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]])


@pytest.fixture(scope="module")
def cartoon(photo, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """An RGBA avatar: the photo at SIDE, cut to an ellipse about its face (soft edge), the rest
    alpha 0 and black; (its PNG, its alpha (H, W) uint8)."""
    bgr = cv2.imread(str(photo))
    bgr = cv2.resize(bgr, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    face = _face(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    centre = face.mean(0)
    axes = (face.max(0) - face.min(0)) * 0.75
    alpha = np.zeros((SIDE, SIDE), np.uint8)
    cv2.ellipse(
        alpha, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])), 0, 0, 360, 255, -1
    )
    alpha = cv2.GaussianBlur(alpha, (7, 7), 0)
    bgra = np.dstack([bgr, alpha])
    bgra[alpha == 0, :3] = 0
    path = tmp_path_factory.mktemp("cartoon") / "cartoon.png"
    cv2.imwrite(str(path), bgra)
    return path, alpha


def test_transparent_photo_clears_the_background_and_keeps_the_face(run, photo):
    frames = run(photo, "rgbaprobe", "compose.background=transparent")
    assert frames.shape[-1] == 4 and len(frames) == 6
    for frame in frames:
        alpha = frame[:, :, 3]
        top = _corners(alpha)[:2]
        assert (top == 0).all(), top  # the wall above the shoulders
        assert (_on_face(alpha, _face(frame[:, :, :3])) == 255).all()
        assert 0.15 < (alpha > 127).mean() < 0.85  # a person, not the whole frame


def test_picture_is_the_frame_as_before_and_transparent_only_adds_alpha(run, photo):
    picture = run(photo, "rgbprobe")
    transparent = run(photo, "rgbaprobe", "compose.background=transparent")
    assert picture.shape[-1] == 3
    np.testing.assert_array_equal(picture, transparent[..., :3])


def test_colour_replaces_the_background_for_a_sink_without_alpha(run, photo):
    coloured = run(
        photo, "rgbprobe", "compose.background=colour", "compose.background_colour=#ff00ff"
    )
    transparent = run(photo, "rgbaprobe", "compose.background=transparent")
    assert coloured.shape[-1] == 3
    assert (_corners(coloured[-1])[:2] == MAGENTA).all()
    solid = transparent[..., 3] == 255
    np.testing.assert_array_equal(coloured[solid], transparent[..., :3][solid])
    clear = transparent[..., 3] == 0
    assert (coloured[clear] == MAGENTA).all()


def test_an_rgba_cartoon_keeps_its_own_alpha_end_to_end(run, cartoon):
    path, alpha = cartoon
    frames = run(path, "rgbaprobe", "compose.background=transparent")
    assert frames.shape[1:] == (SIDE, SIDE, 4)
    np.testing.assert_array_equal(frames[0, :, :, 3], alpha)  # calibrating: the picture as is
    far = _far(alpha)
    for frame in frames:
        assert (frame[:, :, 3][far] == 0).all()  # no segmentation's guess: the picture's own
        assert (_on_face(frame[:, :, 3], _face(frame[:, :, :3])) == 255).all()


def test_an_rgba_cartoon_on_a_sink_without_alpha_gets_the_chroma_colour(run, cartoon):
    path, alpha = cartoon
    flat = run(path, "rgbprobe", "compose.background=transparent")  # default colour: green
    assert flat.shape[-1] == 3
    assert (flat[0, alpha == 0] == GREEN).all()  # calibrating: the picture as is
    assert (flat[:, _far(alpha)] == GREEN).all()
    picture = run(path, "rgbprobe")  # as before: its transparent pixels mid-grey
    assert (picture[0, alpha == 0] == 128).all()


def test_a_bad_colour_is_one_line_naming_the_key(probes, photo, capsys):
    code = main(
        [
            "run",
            "--source",
            f"image:{photo}",
            "--sink",
            "rgbprobe",
            "--target",
            str(photo),
            "--set",
            "compose.background=colour",
            "--set",
            "compose.background_colour=#12345",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and "compose.background_colour" in err[0] and "Traceback" not in err[0]


@pytest.fixture(scope="module")
def gap_clip(clips_dir, tmp_path_factory) -> Path:
    """lp_d1 with the face gone (black) in frames 6-9: the face is lost, then found again."""
    frames = decode_rgb(clips_dir / "lp_d1.mp4")[:12]
    for i in range(6, 10):
        frames[i] = np.zeros_like(frames[i])
    return write_clip(tmp_path_factory.mktemp("gap") / "gap.mp4", frames, fps=25)


def test_while_the_face_is_lost_the_held_avatar_keeps_its_mask(run, photo, gap_clip):
    frames = run(photo, "rgbaprobe", "compose.background=transparent", clip=gap_clip, frames=12)
    assert len(frames) == 12
    for frame in frames[6:10]:  # held, then fading to the target's neutral
        alpha = frame[:, :, 3]
        assert (_corners(alpha)[:2] == 0).all()
        assert (_on_face(alpha, _face(frame[:, :, :3])) == 255).all()


def test_rendered_ahead_each_frame_leaves_with_its_own_mask(run, photo):
    ahead = run(
        photo,
        "rgbaprobe",
        "compose.background=transparent",
        "stream.render_ahead=on",
        renderer="generator",
    )
    assert ahead.shape[-1] == 4 and len(ahead) == 6
    for frame in ahead:
        alpha = frame[:, :, 3]
        assert (_corners(alpha)[:2] == 0).all()
        assert (_on_face(alpha, _face(frame[:, :, :3])) == 255).all()


def test_an_image_with_alpha_is_read_as_rgba_only_when_asked(cartoon, tmp_path):
    path, alpha = cartoon
    rgba = load_image(path, alpha=True)
    assert rgba.shape == (SIDE, SIDE, 4)
    np.testing.assert_array_equal(rgba[:, :, 3], alpha)
    assert (rgba[alpha == 0, :3] == 128).all()  # its black where clear: mid-grey, as flattened
    flat = load_image(path)  # as before: flattened onto mid-grey
    assert flat.shape == (SIDE, SIDE, 3)
    np.testing.assert_array_equal(flat[alpha == 255], rgba[alpha == 255, :3])
    saved = save_image(tmp_path / "kept.png", rgba)  # a gallery's upload keeps its alpha
    np.testing.assert_array_equal(load_image(saved, alpha=True), rgba)
