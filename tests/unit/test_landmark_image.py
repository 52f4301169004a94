"""The one-channel landmark image J_gen drawn from real tracked landmarks, and the mesh index
constants it is drawn from (checked against MediaPipe's own connection sets)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from reenact.landmarks.align import compute_alignment
from reenact.landmarks.landmark_image import draw_landmark_image
from reenact.landmarks.regions import CONTOURS, HOLE_TRIANGLES, REGIONS, TRIANGLES
from reenact.landmarks.tracker import FaceTracker
from tests.helpers import mouth_open_ratio


@pytest.fixture(scope="session")
def closed_and_open(clips_dir: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{size: (closed-mouth, open-mouth) aligned landmarks (478,3)} from lp_d0's first 50 frames
    (the mouth is shut at the start and opens around frame 30)."""
    tracked = []
    with av.open(str(clips_dir / "lp_d0.mp4")) as container, FaceTracker() as tracker:
        for frame in container.decode(video=0):
            tracked.append(tracker.track_one(frame.to_ndarray(format="rgb24")))
            if len(tracked) == 50:
                break
    ratios = [mouth_open_ratio(lm) for lm in tracked]
    closed, opened = tracked[int(np.argmin(ratios))], tracked[int(np.argmax(ratios))]
    assert max(ratios) > 0.15 > 0.02 > min(ratios), f"mouth ratios {min(ratios)}..{max(ratios)}"
    return {
        size: tuple(compute_alignment(lm, size).landmarks_to_crop(lm) for lm in (closed, opened))
        for size in (256, 512)
    }


@pytest.mark.parametrize("size", [256, 512])
def test_shape_dtype_and_lines_on_the_mouth(closed_and_open, size: int) -> None:
    closed, _ = closed_and_open[size]
    image = draw_landmark_image(closed, size)
    assert image.shape == (size, size) and image.dtype == np.uint8
    assert image.max() == 255 and image[:4, :4].max() == 0  # lines on black
    for x, y in closed[REGIONS["lips_outer"], :2]:
        col, row = int(round(x)), int(round(y))
        assert image[row - 1 : row + 2, col - 1 : col + 2].max() >= 128, f"no line at lip ({x},{y})"


def test_changes_when_the_mouth_opens(closed_and_open) -> None:
    closed, opened = closed_and_open[256]
    closed_image = draw_landmark_image(closed, 256)
    open_image = draw_landmark_image(opened, 256)
    gap = np.rint((opened[13, :2] + opened[14, :2]) / 2).astype(int)  # between the inner lips
    assert open_image[gap[1], gap[0]] == 0, "open mouth: the gap between the lips should be black"
    shut = np.rint((closed[13, :2] + closed[14, :2]) / 2).astype(int)
    assert closed_image[shut[1], shut[0]] > 100, "closed mouth: the lips' lines should meet"
    lo = np.floor(opened[REGIONS["lips_outer"], :2].min(0)).astype(int)
    hi = np.ceil(opened[REGIONS["lips_outer"], :2].max(0)).astype(int)
    box = (slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    changed = np.abs(open_image[box].astype(int) - closed_image[box].astype(int))
    assert (changed > 64).sum() > 50


def test_512_lines_are_twice_as_thick(closed_and_open) -> None:
    small = draw_landmark_image(closed_and_open[256][0], 256)
    large = draw_landmark_image(closed_and_open[512][0], 512)
    ratio = large.astype(np.float64).sum() / small.astype(np.float64).sum()
    assert 3.0 < ratio < 6.0  # twice as long, twice as thick (anti-aliasing adds a little)


def test_out_buffer_is_cleared_and_reused(closed_and_open) -> None:
    closed, opened = closed_and_open[256]
    buffer = np.full((256, 256), 77, dtype=np.uint8)
    first = draw_landmark_image(opened, 256, out=buffer)
    assert first is buffer
    np.testing.assert_array_equal(
        draw_landmark_image(closed, 256, out=buffer), draw_landmark_image(closed, 256)
    )
    with pytest.raises(ValueError):
        draw_landmark_image(closed, 256, out=np.zeros((512, 512), np.uint8))


def _edges(polyline: np.ndarray) -> set[frozenset[int]]:
    return {frozenset((int(a), int(b))) for a, b in zip(polyline[:-1], polyline[1:])}


_CONNECTIONS = (
    "LIPS",
    "LEFT_EYE",
    "RIGHT_EYE",
    "LEFT_EYEBROW",
    "RIGHT_EYEBROW",
    "FACE_OVAL",
    "LEFT_IRIS",
    "RIGHT_IRIS",
    "NOSE",
    "TESSELATION",
)


def _mediapipe_connections() -> dict[str, set[frozenset[int]]]:
    """MediaPipe's face-mesh connection sets by name: the legacy solution's tables (0.10.x), else
    the Tasks FaceLandmarker's (1.x, where the legacy solutions are gone)."""
    try:
        from mediapipe.python.solutions import face_mesh_connections as fmc
    except ImportError:
        from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as c

        return {
            name: {frozenset((e.start, e.end)) for e in getattr(c, f"FACE_LANDMARKS_{name}")}
            for name in _CONNECTIONS
        }
    return {name: {frozenset(e) for e in getattr(fmc, f"FACEMESH_{name}")} for name in _CONNECTIONS}


def test_regions_match_mediapipe() -> None:
    connections = _mediapipe_connections()
    drawn: set[frozenset[int]] = set()
    for polyline in CONTOURS:
        drawn |= _edges(polyline)
    expected = set()
    for name in _CONNECTIONS[:-1]:
        expected |= connections[name]
    assert drawn == expected
    ring = REGIONS["lips_inner"]
    assert _edges(np.append(ring, ring[0])) <= connections["LIPS"]
    oval = REGIONS["face_oval"]
    assert _edges(np.append(oval, oval[0])) == connections["FACE_OVAL"]
    tessellation = connections["TESSELATION"]
    triangle_edges = {
        frozenset((int(t[i]), int(t[(i + 1) % 3]))) for t in TRIANGLES for i in range(3)
    }
    assert triangle_edges == tessellation and len(TRIANGLES) == 852


def test_filled_mesh_is_one_consistently_oriented_surface() -> None:
    filled = np.concatenate([TRIANGLES, HOLE_TRIANGLES])
    directed = [(int(t[i]), int(t[(i + 1) % 3])) for t in filled for i in range(3)]
    assert len(filled) == 898 and len(set(directed)) == len(directed)
    boundary = {frozenset(e) for e in directed if (e[1], e[0]) not in set(directed)}
    oval = REGIONS["face_oval"]
    assert boundary == _edges(np.append(oval, oval[0]))  # only the face outline is open
