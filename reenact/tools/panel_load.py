"""What the browser panel costs the render loop, and how far behind the camera the browser is.

    python -m reenact.tools.panel_load --clip ../shared/media/clips/lp_d0.mp4 \
        --seconds 30 --rounds 3

Runs `reenact live` on the looping clip (its default renderer, or `--renderer`) into the null sink, as fast as it goes (source.realtime
off: every frame processed, so any time the panel takes shows as fewer frames), in alternating
rounds to spread the machine's other load evenly: no browser, and the panel open in headless
Chromium (the page as a user first sees it: previews at the default stream.preview_fps). The
fps is the render loop's, from /status's frame count over `--seconds` once the page streams.
Each round also prints the CPU (in cores) of the reenact process and of Chromium over the same
seconds, the JPEGs the server made, and the machine's load average: on a shared machine the fps
spread is large, the CPU the panel adds much less so. Then the median per mode, the fps change
against the issue's goal (a loss of at most 5 %), and one camera-paced run (source.realtime on)
with the OBS page open: its fps and the delays from `/status`, capture -> output and capture ->
JPEG sent to the browser. Needs Debian's chromium + chromium-driver and selenium (the dev extra).
"""

from __future__ import annotations

import argparse
import json
import os
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
GOAL_LOSS_PCT = 5.0  # issue 17: the panel open costs the render loop at most this much fps
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` (0 when gone); Linux /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _descendants(pid: int) -> list[int]:
    """`pid`'s child processes, their children, ... (Chromium's renderer, GPU, ... processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _browser_cpu_s(reenact_pid: int) -> float:
    """CPU seconds of everything this process started but reenact (chromedriver, Chromium).
    Chromium's processes that have exited meanwhile are not counted (none do while a page is
    open)."""
    return sum(_cpu_s(p) for p in _descendants(os.getpid()) if p != reenact_pid)


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


def run_once(clip: Path, seconds: float, browser: str | None, *, realtime: bool = False,
             settings: tuple[str, ...] = (), renderer: str | None = None) -> dict:
    """One `reenact live` with the panel on; `browser` = None or the page open in Chromium
    ("/" the panel, "/output" the OBS page). The render loop's fps over `seconds`, measured
    from /status's frame count once the page streams; the CPU of reenact and of the browser
    over the same seconds (cores), the JPEGs made per second, the load average; the delays at
    the end."""
    out = Path(tempfile.mkdtemp(prefix="panel-load-"))
    command = [str(Path(sys.executable).with_name("reenact")), "live", "--source",
               f"video:{clip}", "--sink", "null",
               "--set", f"source.realtime={str(realtime).lower()}",
               "--set", f"stream.output_dir={out}", "--set", "stream.control_port=0"]
    if renderer is not None:
        command += ["--renderer", renderer]
    for setting in settings:
        command += ["--set", setting]
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
        first, start = _status(url, token), time.perf_counter()
        cpu = (_cpu_s(process.pid), _browser_cpu_s(process.pid))
        time.sleep(seconds)
        last = _status(url, token)
        elapsed = time.perf_counter() - start
        cpu = [(after - before) / elapsed for before, after in
               zip(cpu, (_cpu_s(process.pid), _browser_cpu_s(process.pid)))]
        load = os.getloadavg()[0]
        fps = (last["frames"] - first["frames"]) / elapsed
        jpegs = sum(last.get("jpegs", {}).values()) - sum(first.get("jpegs", {}).values())
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
    return {"fps": fps, "reenact_cores": cpu[0], "browser_cores": cpu[1] if browser else 0.0,
            "jpegs_per_s": jpegs / elapsed, "load": load, "delay_ms": last.get("delay_ms"),
            "browser_delay_ms": last.get("browser_delay_ms")}


def _round_line(round_: int, mode: str, r: dict) -> str:
    return (f"round {round_} {mode:<10} {r['fps']:6.2f} fps  CPU: reenact "
            f"{r['reenact_cores']:.2f} cores, browser {r['browser_cores']:.2f}  "
            f"JPEGs {r['jpegs_per_s']:4.1f}/s  load average {r['load']:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to `reenact live` in every run, e.g. stream.preview_fps=15")
    parser.add_argument("--renderer", default=None,
                        help="passed to `reenact live` (default: its own default renderer, what a "
                             "user gets; `warp` is the cheapest loop, where the panel's share shows "
                             "most)")
    parser.add_argument("--no-paced", action="store_true", help="skip the camera-paced delay run")
    args = parser.parse_args(argv)
    args.clip = args.clip.resolve()
    settings = tuple(args.settings)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"renderer: {args.renderer or 'the default'}", flush=True)
    modes = {"no browser": None, "panel open": "/"}
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for round_ in range(args.rounds):
        for mode, page in modes.items():
            runs[mode].append(run_once(args.clip, args.seconds, page, settings=settings,
                                         renderer=args.renderer))
            print(_round_line(round_ + 1, mode, runs[mode][-1]), flush=True)
    median = {mode: {key: statistics.median(r[key] for r in values) for key in values[0]
                     if key not in ("delay_ms", "browser_delay_ms")}
              for mode, values in runs.items()}
    base = median["no browser"]["fps"]
    for mode, values in runs.items():
        fps = [r["fps"] for r in values]
        m = median[mode]
        print(f"{mode:<10} median {m['fps']:6.2f} fps  min {min(fps):6.2f}  max {max(fps):6.2f}  "
              f"({100 * (m['fps'] - base) / base:+.1f} % vs no browser)  CPU: reenact "
              f"{m['reenact_cores']:.2f} cores, browser {m['browser_cores']:.2f}")
    loss = 100 * (base - median["panel open"]["fps"]) / base
    print(f"fps lost with the panel open: {loss:.1f} % (goal: at most {GOAL_LOSS_PCT:g} %): "
          f"{'met' if loss <= GOAL_LOSS_PCT else 'NOT met'} on this machine "
          f"(load average now {os.getloadavg()[0]:.1f})")
    if not args.no_paced:
        paced = run_once(args.clip, args.seconds, "/output", realtime=True, settings=settings,
                             renderer=args.renderer)
        print(f"camera-paced, OBS page open: {paced['fps']:.2f} fps, capture->output "
              f"{paced['delay_ms']} ms, capture->JPEG sent to the browser "
              f"{paced['browser_delay_ms']} ms (medians over the last frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
