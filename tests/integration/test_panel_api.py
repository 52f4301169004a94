"""The panel's API against a real `reenact live` on a real looping clip, over loopback.

Settings, actions, previews (MJPEG), the gallery and uploads (checked like any target), the OBS
output page. Security rules are in test_panel_security.py, bounds in test_control_bounds.py.
"""

from __future__ import annotations

import http.client

import cv2
import numpy as np
import pytest

from tests.panel_session import LiveSession


@pytest.fixture(scope="module")
def session(tmp_path_factory, clips_dir, portraits_dir):
    work = tmp_path_factory.mktemp("panel")
    live = LiveSession(
        clips_dir / "lp_d0.mp4",
        work,
        targets=[portraits_dir / "lp_s0.jpg", portraits_dir / "lp_s1.jpg"],
        extra=["--set", "panel.upload_max_mb=2", "--set", "panel.upload_max_megapixels=30"],
    )
    try:
        live.wait_for(lambda s: "render" in s.get("stages_ms", {}))  # calibrated, rendering
        yield live
    finally:
        live.close()


def read_mjpeg(session: LiveSession, path: str, parts: int) -> list[np.ndarray]:
    """The first `parts` JPEG frames of a multipart/x-mixed-replace stream, decoded (BGR)."""
    connection = http.client.HTTPConnection("127.0.0.1", session.port, timeout=60)
    connection.request("GET", path, headers={"X-Reenact-Token": session.token})
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("multipart/x-mixed-replace")
    images = []
    try:
        while len(images) < parts:
            line = response.fp.readline()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                response.fp.readline()  # the blank line after the part's headers
                images.append(
                    cv2.imdecode(
                        np.frombuffer(response.fp.read(length), np.uint8), cv2.IMREAD_COLOR
                    )
                )
    finally:
        connection.close()
    return images


def test_status_carries_state_stats_and_engine(session):
    status = session.wait_for(lambda s: s.get("fps", 0) > 0 and s.get("delay_ms"))
    assert status["fps"] > 0 and status["delay_ms"] > 0
    assert {"track", "render", "composite"} <= set(status["stages_ms"])
    assert status["renderer"] == "warp" and status["device"] == "cpu"
    assert status["render_ahead"] is False  # the warp has no network to run on a second thread
    assert isinstance(status["face_found"], bool) and isinstance(status["calibrating"], bool)
    assert [t["name"] for t in status["targets"]][1:] == ["lp_s0.jpg", "lp_s1.jpg"]


def test_settings_apply_between_frames_and_show_in_status(session):
    code, body, _ = session.call(
        "POST", "/settings", {"stream.intensity": 0.35, "smoothing.min_cutoff": 2.5}
    )
    assert code == 200, body
    status = session.wait_for(lambda s: s["settings"]["stream.intensity"] == 0.35)
    assert status["intensity"] == 0.35 and status["settings"]["smoothing.min_cutoff"] == 2.5
    code, table, _ = session.call("GET", "/settings")
    rows = {row["key"]: row for row in table["settings"]}
    assert rows["stream.intensity"]["kind"] == "slider" and rows["stream.intensity"]["max"] == 1.5
    assert rows["paused"]["kind"] == "toggle"


@pytest.mark.parametrize(
    "body, key",
    [
        ({"stream.intensty": 0.5}, "stream.intensty"),
        ({"stream.intensity": 7}, "stream.intensity"),
        ({"stream.intensity": "loud"}, "stream.intensity"),
        ({"smoothing.enabled": "yes"}, "smoothing.enabled"),
        ({"smoothing.min_cutoff": 0}, "smoothing.min_cutoff"),
    ],
)
def test_bad_settings_get_400_naming_the_key(session, body, key):
    code, reply, _ = session.call("POST", "/settings", body)
    assert code == 400 and reply["error"].startswith(key)


def test_settings_body_must_be_json(session):
    code, reply, _ = session.call(
        "POST", "/settings", b"intensity=1", headers={"Content-Type": "application/json"}
    )
    assert code == 400 and "JSON" in reply["error"]


def test_action_api_is_kept(session):
    assert session.call("POST", "/action/pause")[0] == 200
    assert session.wait_for(lambda s: s["paused"])["paused"]
    assert session.call("POST", "/action/pause")[0] == 200
    assert not session.wait_for(lambda s: not s["paused"])["paused"]
    code, reply, _ = session.call("POST", "/action/explode")
    assert code == 400 and "unknown action" in reply["error"]


def test_previews_stream_the_newest_frames(session):
    session.call("POST", "/settings", {"stream.intensity": 1.0})
    outputs = read_mjpeg(session, "/stream/output.mjpg?fps=4", 6)  # over about 1.5 s
    assert all(o is not None and o.shape[2] == 3 for o in outputs)
    changes = [np.abs(outputs[0].astype(int) - o.astype(int)).mean() for o in outputs[1:]]
    assert max(changes) > 0.1  # the face moves: each part is a new frame, not a repeat
    camera = read_mjpeg(session, "/stream/camera.mjpg?fps=10", 2)
    assert max(camera[0].shape[:2]) <= 640  # scaled down for the page
    green = (camera[-1][:, :, 1] > 200) & (camera[-1][:, :, 0] < 60) & (camera[-1][:, :, 2] < 60)
    assert green.sum() > 100  # the landmarks are drawn
    assert session.status()["browser_delay_ms"] > 0


def test_panel_previews_are_one_image_at_the_preview_height(session):
    status = session.status()
    height = status["preview_height"]
    both = read_mjpeg(session, "/stream/previews.mjpg?fps=10", 2)[-1]
    alone = read_mjpeg(session, "/stream/preview.mjpg?fps=10", 1)[0]
    assert both.shape[0] == alone.shape[0] == height
    assert both.shape[1] > alone.shape[1]  # the camera beside the output
    camera = both[:, alone.shape[1] :]
    green = (camera[:, :, 1] > 200) & (camera[:, :, 0] < 60) & (camera[:, :, 2] < 60)
    assert green.sum() > 100  # the landmarks are drawn on the camera's side
    made = session.status()["jpegs"]
    assert made["previews"] >= 2 and made["preview"] >= 1
    assert made["output"] == status["jpegs"]["output"]  # the OBS feed made none meanwhile


@pytest.mark.parametrize("fps", ["fast", "nan", "inf"])
def test_stream_rate_must_be_a_number(session, fps):
    code, body, _ = session.call("GET", f"/stream/previews.mjpg?fps={fps}")
    assert code == 400 and "fps" in body["error"]


def test_gallery_switches_target(session):
    code, body, _ = session.call("GET", "/targets")
    assert code == 200 and len(body["targets"]) >= 3
    code, thumb, headers = session.call("GET", "/targets/1/thumb.jpg")
    assert code == 200 and headers["content-type"] == "image/jpeg"
    assert session.call("POST", "/targets/1/select")[0] == 200
    assert session.wait_for(lambda s: s["target"] == "lp_s0.jpg")["target"] == "lp_s0.jpg"
    assert session.call("POST", "/targets/99/select")[0] == 404


def _png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def test_upload_becomes_the_target(session, portraits_dir):
    data = (portraits_dir / "lp_s2.jpg").read_bytes()
    code, body, _ = session.call("POST", "/targets?name=../../me%20new.jpg", data)
    assert code == 200, body
    name = body["targets"][body["index"]]["name"]
    assert name == "me_new.png"  # no path, no odd characters
    assert (session.targets_dir / name).is_file()
    assert not (session.work.parent / "me new.jpg").exists()
    assert sorted(p.name for p in session.targets_dir.iterdir() if p.name.startswith(".")) == []
    assert session.wait_for(lambda s: s["target"] == name)["target"] == name


@pytest.mark.parametrize(
    "case", ["no_face", "two_faces", "not_an_image", "too_many_bytes", "too_many_pixels"]
)
def test_refused_uploads_say_why(session, portraits_dir, case):
    bodies = {
        "no_face": _png(np.full((400, 400, 3), 90, np.uint8)),
        "two_faces": _png(
            np.hstack(
                [
                    cv2.resize(cv2.imread(str(portraits_dir / name)), (360, 360))
                    for name in ("lp_s3.jpg", "lp_s4.jpg")
                ]
            )
        ),
        "not_an_image": b"#!/bin/sh\necho this is not a picture\n" * 10,
        "too_many_bytes": np.random.default_rng(0).bytes(3_000_000),
        "too_many_pixels": _png(np.zeros((6000, 6000), np.uint8)),  # 36 Mpx in a small file
    }
    expected = {
        "no_face": (400, "no face found"),
        "two_faces": (400, "2 faces found"),
        "not_an_image": (400, "not an image"),
        "too_many_bytes": (413, "MB"),
        "too_many_pixels": (413, "6000x6000"),
    }
    before = sorted(p.name for p in session.targets_dir.iterdir())
    code, body, _ = session.call("POST", f"/targets?name={case}.png", bodies[case])
    assert (code, expected[case][1] in body["error"]) == (expected[case][0], True), body
    assert body["error"].startswith(f"{case}.png")
    assert sorted(p.name for p in session.targets_dir.iterdir()) == before  # nothing written


def test_obs_output_page_shows_only_the_output(session):
    connection = http.client.HTTPConnection("127.0.0.1", session.port, timeout=30)
    connection.request("GET", f"/output?token={session.token}")
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200 and "set-cookie" in {k.lower() for k in response.headers}
    assert '<img id="output"' in page and "settings" not in page and "<button" not in page
    assert session.call("GET", "/static/output.js")[0] == 200


def test_run_on_a_live_paced_source_serves_the_panel(tmp_path, clips_dir):
    import subprocess
    import sys
    from pathlib import Path

    reenact = str(Path(sys.executable).with_name("reenact"))
    common = [
        "--sink",
        "null",
        "--renderer",
        "warp",
        "--max-frames",
        "8",
        "--set",
        "panel.port=0",
        "--set",
        f"stream.output_dir={tmp_path}",
    ]
    paced = subprocess.run(
        [
            reenact,
            "run",
            "--source",
            f"video:{clips_dir / 'lp_d0.mp4'}",
            "--set",
            "source.realtime=true",
            *common,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert paced.returncode == 0, paced.stderr
    assert "panel at http://127.0.0.1:" in paced.stderr
    offline = subprocess.run(
        [reenact, "run", "--source", f"video:{clips_dir / 'lp_d0.mp4'}", *common],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert offline.returncode == 0, offline.stderr
    assert "panel at" not in offline.stderr  # an offline run of a file has no one to watch it
