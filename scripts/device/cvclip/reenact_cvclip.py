"""A video source read through OpenCV's FFmpeg, for the lent GPU machine only.

That machine has OpenCV but no PyAV, and PyAV's wheel does not fit beside MediaPipe's in the
64 MiB a device call carries, so `reenact bench` there reads its clip with this plugin:
`--source cvclip:PATH`. `source.fps` replays the clip at another rate (60 = a 60 fps camera);
`source.realtime` paces it to the wall clock and drops late frames, like the built-in video
source. Not shipped: the product reads video through PyAV (`reenact.video`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from reenact.plugin_api import BaseSource, Frame, RealtimePacer


class CvClipSource(BaseSource):
    name = "cvclip"

    @dataclass(frozen=True)
    class Options:
        path: str = ""
        loop: bool = False
        realtime: bool = False
        fps: float = 0.0  # 0: the file's own rate

    def __init__(self, config: Options) -> None:
        super().__init__()
        self.path = config.path
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise OSError(f"{self.path}: OpenCV cannot open this video")
        self.loops, self.live = bool(config.loop), bool(config.realtime)
        self.fps = float(config.fps) or float(self._cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._pacer = RealtimePacer(fps=self.fps) if self.live else None
        self._read = 0

    def read(self) -> Frame | None:
        while not self._closed:
            ok, bgr = self._cap.read()
            if not ok:
                if not self.loops or self._read == 0:
                    return None
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            pts_s = self._read / self.fps
            self._read += 1
            if self._pacer is None or self._pacer.due(pts_s):
                return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), pts_s)
            self.dropped += 1
        return None

    def _close(self) -> None:
        self._cap.release()
