"""What the browser panel shows and changes, fed by the render loop once per frame.

The render loop calls `Panel.on_frame` after each frame: one `FrameFeed.offer` per feed (each a
flag test unless a browser is waiting for that feed) and, twice a second, a snapshot of the
stats. The feeds: `output` full size for OBS's Browser Source (/output); for the panel, at
`panel.preview_fps` and scaled down to about the size the page shows them at, `previews` (the
output and the camera with its landmarks side by side, one image: what the page shows),
`preview` (the output alone: the page with the camera preview off) and `camera` (the camera
alone, for scripts). Only the feeds a browser streams are copied and encoded. The server's threads
read only the snapshot and the feeds, never the loop's live structures.
"""

from __future__ import annotations

import time

import numpy as np

from reenact.stream.frame_feed import FrameFeed, SideBySideFeed, draw_landmarks
from reenact.stream.live_settings import describe_settings

STATS_EVERY_NS = 500_000_000
CAMERA_SIDE = 384  # /stream/camera.mjpg's longer side (scripts; the page shows `previews`)


def describe_output(sink) -> dict:
    """Where the audience's frames go, for the panel: {"kind": the sink's name (file, stream,
    virtualcam, window, null, or a plugin's), "where": its file, URL or device, or ""}."""
    where = next(
        (
            value
            for value in (
                getattr(sink, "output_path", None),
                getattr(sink, "url", None),
                getattr(sink, "device", None),
            )
            if value
        ),
        "",
    )
    return {"kind": getattr(sink, "name", None), "where": str(where)}


class Panel:
    """The panel's view of a live session: controls, gallery, previews and stats."""

    def __init__(
        self,
        controls,
        gallery,
        *,
        preview_fps: float,
        output_fps: float,
        preview_height: int = 320,
        output: dict | None = None,
    ) -> None:
        self.controls = controls
        self.destination = output or {"kind": None, "where": ""}  # see `describe_output`
        self.closed = False  # the session ended: /events says so and ends
        self.gallery = gallery
        self.preview_fps = preview_fps
        self.output_fps = output_fps
        self.output = FrameFeed(quality=85)
        self.preview_height = preview_height
        self.preview = SideBySideFeed(quality=75, max_side=preview_height)
        self.previews = SideBySideFeed(quality=75, max_side=preview_height)
        self.camera = FrameFeed(quality=70, max_side=CAMERA_SIDE, draw=draw_landmarks)
        self.frames = 0
        self._stats: dict = {}
        self._last_ns = 0
        self._last_frames = 0
        r = controls.reenactor
        renderer = r.renderer
        self._engine = {
            "renderer": getattr(
                renderer, "name", type(renderer).__name__.removesuffix("Renderer").lower()
            ),
            "backend": getattr(renderer, "backend_name", "numpy"),
            "device": str(getattr(renderer, "device", "cpu")),
            "fuser": type(r.fuser).__name__,
            "render_ahead": bool(getattr(r, "render_ahead", False)),
        }

    @property
    def feeds(self) -> dict[str, FrameFeed]:
        return {
            "output": self.output,
            "previews": self.previews,
            "preview": self.preview,
            "camera": self.camera,
        }

    @property
    def reenactor(self):
        return self.controls.reenactor

    def on_frame(self, output: np.ndarray, frame, result) -> None:
        """The loop's newest output (and camera frame, None during a stall); loop thread."""
        capture_ns = frame.timestamp_ns if frame is not None else 0
        self.output.offer(output, capture_ns=capture_ns)
        self.preview.offer(output, capture_ns=capture_ns, extra=(None, None))
        landmarks = self.reenactor.shown_landmarks  # this frame's (render ahead: not the newest)
        camera = frame.image if frame is not None else None
        self.previews.offer(output, capture_ns=capture_ns, extra=(camera, landmarks))
        if camera is not None:
            self.camera.offer(camera, capture_ns=capture_ns, extra=landmarks)
        self.frames += 1
        now = time.perf_counter_ns()
        if now - self._last_ns >= STATS_EVERY_NS:
            self._snapshot(result, now)

    def _snapshot(self, result, now: int) -> None:
        fps = 0.0
        if self._last_ns:
            fps = (self.frames - self._last_frames) / ((now - self._last_ns) / 1e9)
        latency = list(result.latency_ms)[-30:] if result is not None else []
        stages = {
            name: round(v["median_ms"], 2) for name, v in self.reenactor.timer.summary().items()
        }
        self._stats = {
            "fps": round(fps, 2),
            "delay_ms": round(float(np.median(latency)), 1) if latency else None,
            "stages_ms": stages,
            "capture_status": getattr(result, "capture_status", ""),
        }
        self._last_ns, self._last_frames = now, self.frames

    def status(self) -> dict:
        """GET /status (and GET /events): the controls' state, settings, stats, engine, gallery
        and where the output goes (`output`)."""
        status = self.controls.status()
        status.update(self._stats)
        status.update(self._engine)
        status["frames"] = self.frames
        status["face_found"] = not status["face_lost"]
        age = self.output.median_age_ms()  # the OBS page's; else the panel's previews'
        for feed in (self.previews, self.preview):
            age = feed.median_age_ms() if age is None else age
        status["browser_delay_ms"] = None if age is None else round(age, 1)
        status["preview_fps"] = self.preview_fps
        status["preview_height"] = self.preview_height
        status["jpegs"] = {name: feed.encoded for name, feed in self.feeds.items()}
        status["output"] = self.destination
        if self.gallery is not None:
            status["targets"] = self.gallery.items()
        return status

    def settings(self) -> list[dict]:
        return describe_settings(self.reenactor)

    def close(self) -> None:
        self.closed = True
        for feed in self.feeds.values():
            feed.close()
