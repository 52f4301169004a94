"""MediaPipe's start-up chatter on fd 2 is dropped inside `quiet_stderr`, for both the 0.10
(TFLite) and the 1.x (LiteRT) runtimes, and every other line is passed on."""

from __future__ import annotations

import subprocess
import sys

# Lines as MediaPipe 0.10.21 and 1.2.3 write them while their graphs start.
NOISE = [
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "W0000 00:00:1732722135.143 4242 inference_feedback_manager.cc:114] Feedback manager "
    "requires a model with a single signature inference. Disabling support for feedback tensors.",
    "WARNING: Logging before InitGoogle() is written to STDERR",
    "INFO: [environment.cc:36] Creating LiteRT environment with options",
    "INFO: [accelerator_registry.cc:54] RegisterAccelerator: ptr=0x7f4c28002720, "
    "name=CpuAccelerator",
    "INFO: [cpu_registry.cc:75] XNNPACK CPU accelerator registered.",
    "INFO: [compiled_model.cc:1022] Flatbuffer model initialized directly from incoming litert "
    "model.",
    "W0000 00:00:1795804554.258242 20319 inference_runner_litert.cc:1433] Input tensor memory is "
    "not aligned according to LiteRt's memory alignment requirements. Reallocating memory and "
    "copying data.",
]
KEPT = [
    "E0000 00:00:1795804554.258242 20319 inference_runner_litert.cc:1500] Invoke failed",
    "INFO: [interpreter.cc:12] something new",
    "Traceback (most recent call last):",
]

SCRIPT = """
import os, sys
from reenact.landmarks.native_stderr import quiet_stderr
with quiet_stderr():
    os.write(2, sys.stdin.buffer.read())
"""


def test_only_known_native_noise_is_dropped() -> None:
    lines = [x for pair in zip(NOISE, KEPT + [""] * len(NOISE)) for x in pair if x]
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input="".join(f"{line}\n" for line in lines).encode(),
        capture_output=True,
        check=True,
    )
    assert run.stderr.decode().splitlines() == KEPT
