"""What the browser panel costs the render loop, and how far behind the camera the browser is.

    python -m reenact.tools.panel_load --clip ../shared/media/clips/lp_d0.mp4 --seconds 40

Runs `reenact live` on the looping clip into the null sink, as fast as it goes (source.realtime
off: every frame processed, so any time the panel takes shows as fewer frames), in alternating
rounds to spread the machine's other load evenly: no browser, and the panel open in headless
Chromium (both previews, as a user has it). The fps is the render loop's, from /status's frame
count over `--seconds` once the page streams. Prints median and spread per mode. Then one
camera-paced run (source.realtime on) with the OBS page open reads the delays from `/status`:
capture -> output, and capture -> JPEG sent to the browser. Needs Debian's chromium +
chromium-driver and selenium (the dev extra).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ADDRESS = re.compile(r"panel at (http://127\.0\.0\.1:\d+)/\?token=(\S+)")


def _browser(url: str):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,900"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.get(url)
    return driver


def _address(process: subprocess.Popen, lines: list[str]) -> tuple[str, str]:
    while process.poll() is None:
        match = ADDRESS.search("".join(lines))
        if match:
            return match.group(1), match.group(2)
        time.sleep(0.1)
    raise RuntimeError("reenact live printed no panel address:\n" + "".join(lines))


def _drain(process: subprocess.Popen, lines: list[str]) -> threading.Thread:
    """Read stderr all the time (a full pipe would block the run's progress bar, and its loop)."""
    thread = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    thread.start()
    return thread


def _status(url: str, token: str) -> dict:
    request = urllib.request.Request(f"{url}/status", headers={"X-Reenact-Token": token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run_once(clip: Path, seconds: float, browser: str | None, *, realtime: bool = False) -> dict:
    """One `reenact live` with the panel on; `browser` = None or the page open in Chromium
    ("/" the panel, "/output" the OBS page). The render loop's fps over `seconds`, measured
    from /status's frame count once the page streams, and the delays at the end."""
    out = Path(tempfile.mkdtemp(prefix="panel-load-"))
    command = [str(Path(sys.executable).with_name("reenact")), "live", "--source",
               f"video:{clip}", "--sink", "null", "--renderer", "warp",
               "--set", f"source.realtime={str(realtime).lower()}",
               "--set", f"stream.output_dir={out}", "--set", "stream.control_port=0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, cwd=out)
    driver, lines = None, []
    drain = _drain(process, lines)
    try:
        url, token = _address(process, lines)
        while _status(url, token)["calibrating"]:
            time.sleep(0.5)
        if browser is not None:
            driver = _browser(f"{url}{browser}?token={token}")
        time.sleep(3.0)  # the page streams; the loop settles
        first, start = _status(url, token)["frames"], time.perf_counter()
        time.sleep(seconds)
        last = _status(url, token)
        fps = (last["frames"] - first) / (time.perf_counter() - start)
        urllib.request.urlopen(urllib.request.Request(
            f"{url}/action/quit", method="POST", headers={"X-Reenact-Token": token}), timeout=10)
        process.wait(timeout=60)
        drain.join(timeout=10)
    finally:
        if driver is not None:
            driver.quit()
        if process.poll() is None:
            process.kill()
        shutil.rmtree(out, ignore_errors=True)
    return {"fps": fps, "delay_ms": last.get("delay_ms"),
            "browser_delay_ms": last.get("browser_delay_ms")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    args.clip = args.clip.resolve()
    modes = {"no browser": None, "panel open": "/"}
    fps: dict[str, list[float]] = {mode: [] for mode in modes}
    for round_ in range(args.rounds):
        for mode, page in modes.items():
            fps[mode].append(run_once(args.clip, args.seconds, page)["fps"])
            print(f"round {round_ + 1} {mode:<10} {fps[mode][-1]:6.2f} fps", flush=True)
    base = statistics.median(fps["no browser"])
    for mode, values in fps.items():
        median = statistics.median(values)
        print(f"{mode:<10} median {median:6.2f} fps  min {min(values):6.2f}  "
              f"max {max(values):6.2f}  ({100 * (median - base) / base:+.1f} % vs no browser)")
    paced = run_once(args.clip, args.seconds, "/output", realtime=True)
    print(f"camera-paced, OBS page open: {paced['fps']:.2f} fps, capture->output "
          f"{paced['delay_ms']} ms, capture->JPEG sent to the browser "
          f"{paced['browser_delay_ms']} ms (medians over the last frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
