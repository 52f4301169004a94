"""A real `reenact live` session in a subprocess, for the panel's API, security and browser tests.

The source is a real clip, looping and paced like a camera; the sink is null; the renderer is the
warp (fast on a loaded CPU). The panel's address is read from what reenact prints.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDRESS = re.compile(r"panel at (http://127\.0\.0\.1:(\d+))/\?token=(\S+)")


class LiveSession:
    """`reenact live` running; `call()` talks to its panel server over loopback."""

    def __init__(
        self,
        clip: Path,
        work: Path,
        *,
        targets: list[Path] = (),
        extra: list[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.work = work
        self.targets_dir = work / "targets"
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        for path in targets:  # test inputs in the test's temp folder, never in the repository
            shutil.copy(path, self.targets_dir / path.name)
        command = [
            str(Path(sys.executable).with_name("reenact")),
            "live",
            "--source",
            f"video:{clip}",
            "--sink",
            "null",
            "--renderer",
            "warp",
            "--set",
            "panel.port=0",
            "--set",
            f"stream.targets_dir={self.targets_dir}",
            "--set",
            f"stream.output_dir={work / 'out'}",
            "--set",
            "stream.duration_s=240",
            "--set",
            "stream.crossfade_s=0.1",
            *extra,
        ]
        self.stderr_lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.url, self.port, self.token = self._wait_for_address()

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def _wait_for_address(self, timeout_s: float = 120.0) -> tuple[str, int, str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = ADDRESS.search(self.stderr)
            if match:
                return match.group(1), int(match.group(2)), match.group(3)
            if self.process.poll() is not None:
                raise RuntimeError(f"reenact live exited early:\n{self.stderr}")
            time.sleep(0.1)
        raise RuntimeError(f"reenact live printed no panel address:\n{self.stderr}")

    def call(
        self,
        method: str,
        path: str,
        body: bytes | dict | None = None,
        *,
        token: str | None = "",
        headers: dict | None = None,
    ) -> tuple[int, dict, dict]:
        """(status, JSON body or {}, response headers); token "" = the session's, None = none."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if token is not None:
            all_headers["X-Reenact-Token"] = token or self.token
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                parsed = {"raw": data}
            return response.status, parsed, dict(response.getheaders())
        finally:
            connection.close()

    def status(self) -> dict:
        code, body, _ = self.call("GET", "/status")
        assert code == 200, body
        return body

    def wait_for(self, predicate, timeout_s: float = 60.0) -> dict:
        """Poll /status until predicate(status) holds; the last status either way."""
        deadline = time.monotonic() + timeout_s
        status = self.status()
        while not predicate(status) and time.monotonic() < deadline:
            time.sleep(0.2)
            status = self.status()
        return status

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.call("POST", "/action/quit")
                self.process.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)
