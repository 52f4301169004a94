"""The Tasks stand-ins (reenact.landmarks.tasks_mesh, tasks_segmentation) left unclosed: a
forgotten tracker caught in a reference cycle is collected without hanging the process (MediaPipe
1.x's own `__del__`, run by the cyclic collector, waited forever on a worker thread that the same
collection had stopped), and the process exits quietly with them still open."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from reenact.landmarks import tasks_mesh
from reenact.landmarks.tracker import FaceTracker


class Holder:
    pass


for _ in range(2):
    holder = Holder()
    holder.me = holder  # a cycle: only the cyclic collector frees it
    holder.parts = [
        tasks_mesh.face_mesh.FaceMesh(),
        tasks_mesh.face_detection.FaceDetection(model_selection=1),
        tasks_mesh.selfie_segmentation.SelfieSegmentation(),
    ]
    del holder
    gc.collect()
kept = tasks_mesh.face_mesh.FaceMesh()  # still open at exit
print("collected", flush=True)
"""


def test_unclosed_tasks_in_a_cycle_are_collected_and_exit_quietly() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "collected"
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr
