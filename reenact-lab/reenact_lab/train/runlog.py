"""What a training run writes (rank 0 only): TensorBoard scalars, a metrics log, image grids,
validation results and the resolved config.

    <out_dir>/config.yaml          the resolved config of the run
    <out_dir>/metrics.jsonl        one JSON line per logged step (losses, images/s)
    <out_dir>/validation.json      every validation so far (a list, rewritten whole)
    <out_dir>/images/step_*.png    grids: a row per sample, columns as the trainer names them
    <out_dir>/tb/                  TensorBoard event files (`tensorboard --logdir <out_dir>/tb`)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from reenact.atomic import write_atomic
from reenact.config import dump_config
from reenact_lab import get_logger

log = get_logger(__name__)


def image_grid(rows: list[list[np.ndarray]], *, pad: int = 2) -> np.ndarray:
    """Tile (S,S,3) uint8 images: `rows` of equal-length lists -> one (H,W,3) uint8 image."""
    if not rows or not rows[0]:
        raise ValueError("an image grid needs at least one image")
    side = rows[0][0].shape[0]
    cols = len(rows[0])
    grid = np.full(((side + pad) * len(rows) + pad, (side + pad) * cols + pad, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            y, x = pad + r * (side + pad), pad + c * (side + pad)
            grid[y : y + side, x : x + side] = image
    return grid


class RunLogger:
    """Logs for one run; every method is a no-op when `enabled` is False (ranks other than 0)."""

    def __init__(self, out_dir: Path, *, enabled: bool, tensorboard: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.enabled = enabled
        self._writer = None
        self._validations: list[dict[str, Any]] = []
        if not enabled:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        val_path = self.out_dir / "validation.json"
        if val_path.is_file():  # a resumed run continues the list
            try:
                self._validations = json.loads(val_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                self._validations = []
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.out_dir / "tb"))
            except ImportError:
                log.warning("tensorboard is not installed; scalars go to metrics.jsonl only")

    def write_config(self, config: Any) -> None:
        if self.enabled:
            dump_config(config, self.out_dir / "config.yaml")

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        if not self.enabled:
            return
        with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(
                json.dumps({"step": step, **{f"{prefix}/{k}": v for k, v in values.items()}}) + "\n"
            )
        if self._writer is not None:
            for key, value in values.items():
                self._writer.add_scalar(f"{prefix}/{key}", value, step)

    def image(self, step: int, grid: np.ndarray) -> Path | None:
        """Save a (H,W,3) uint8 grid as images/step_XXXXXXXX.png (and to TensorBoard)."""
        if not self.enabled:
            return None
        import cv2

        ok, png = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError("PNG encoding failed")
        path = self.out_dir / "images" / f"step_{step:08d}.png"
        write_atomic(path, png.tobytes())
        if self._writer is not None:
            self._writer.add_image("samples", grid, step, dataformats="HWC")
        return path

    def validation(self, step: int, record: dict[str, Any]) -> None:
        """Append {"step": step, **record} to validation.json; numeric top-level keys and the
        numbers of nested dicts (baselines) go to TensorBoard as val/..."""
        if not self.enabled:
            return
        self._validations = [v for v in self._validations if v.get("step") != step]
        self._validations.append({"step": step, **record})
        data = json.dumps(self._validations, indent=1) + "\n"
        write_atomic(self.out_dir / "validation.json", data.encode())
        if self._writer is not None:
            for key, value in _flatten(record).items():
                self._writer.add_scalar(f"val/{key}", value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out
