"""Pictures of the evaluation: per-frame curves (matplotlib, Agg canvas) and sample strips.

Matplotlib is driven through `Figure` + `FigureCanvasAgg` directly, so no global backend is set
and no display is needed. Every PNG is written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np

from reenact_lab.eval.files import atomic_write_bytes, atomic_write_png

SAME_PERSON = 0.6
_HEADER_PX = 28


def _save_figure(figure, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return atomic_write_bytes(path, buffer.getvalue())


def _figure(rows: int):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2 * rows), layout="constrained")
    return figure, [figure.add_subplot(rows, 1, i + 1) for i in range(rows)]


def plot_self_ssim(
    curves: dict[str, tuple[list[int], list[float]]], title: str, path: Path
) -> Path:
    """SSIM per frame per renderer. curves: {renderer: (frame indices, SSIM values)}."""
    figure, (axes,) = _figure(1)
    for name, (frames, values) in curves.items():
        axes.plot(frames, values, marker=".", linewidth=1, label=name)
    axes.set(title=title, xlabel="clip frame", ylabel="SSIM vs ground truth (aligned crop)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _save_figure(figure, path)


def plot_cross(
    identity: dict[str, tuple[list[int], list[float]]],
    expression: dict[str, tuple[list[int], list[float]]],
    title: str,
    path: Path,
) -> Path:
    """Two panels: identity distance per sampled frame, expression error per frame."""
    figure, (top, bottom) = _figure(2)
    for name, (frames, values) in identity.items():
        top.plot(frames, values, marker="o", linewidth=1, label=name)
    top.axhline(SAME_PERSON, color="grey", linestyle="--", linewidth=1, label="same person < 0.6")
    top.set(title=title, ylabel="identity distance to the portrait")
    for name, (frames, values) in expression.items():
        bottom.plot(frames, values, marker=".", linewidth=1, label=name)
    bottom.set(xlabel="clip frame", ylabel="expression error (x IOD)")
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return _save_figure(figure, path)


ABSENT_GREY = 96  # a cell with nothing drawn: darker than a face, never black like a failure


def _cell_tile(cell: np.ndarray | str, tile: int) -> np.ndarray:
    """One (tile, tile, 3) cell: a crop resized, or `_absent(cell)` for a str."""
    if isinstance(cell, str):
        return _absent(cell, tile)
    return cv2.resize(cell, (tile, tile), interpolation=cv2.INTER_AREA)


def _absent(text: str, tile: int) -> np.ndarray:
    """A grey (tile, tile, 3) cell saying `text` in white, centred, wrapped between words (and
    smaller when one word is wider than the cell)."""
    cell = np.full((tile, tile, 3), ABSENT_GREY, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    words = text.split()
    longest = max(words, key=lambda w: cv2.getTextSize(w, font, 0.5, 1)[0][0], default="")
    while scale > 0.3 and cv2.getTextSize(longest, font, scale, 1)[0][0] > tile - 12:
        scale -= 0.05  # a word wider than the cell: the text smaller
    lines: list[str] = []
    for word in words:
        wider = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(wider, font, scale, 1)[0][0] <= tile - 12:
            lines[-1] = wider
        else:
            lines.append(word)
    step = cv2.getTextSize("Ag", font, scale, 1)[0][1] + 8
    top = (tile - step * len(lines)) // 2 + step - 4
    for i, line in enumerate(lines):
        width = cv2.getTextSize(line, font, scale, 1)[0][0]
        cv2.putText(
            cell,
            line,
            ((tile - width) // 2, top + i * step),
            font,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return cell


def _label(text: str, width: int) -> np.ndarray:
    """A (28, width, 3) white tile with `text` in black, shrunk to fit."""
    tile = np.full((_HEADER_PX, width, 3), 255, np.uint8)
    scale = 0.5
    font = cv2.FONT_HERSHEY_SIMPLEX
    while scale > 0.25 and cv2.getTextSize(text, font, scale, 1)[0][0] > width - 6:
        scale -= 0.05
    cv2.putText(
        tile, text, (3, _HEADER_PX - 9), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
    )
    return tile


def sample_strip(
    columns: dict[str, list[np.ndarray | str]],
    path: Path,
    *,
    tile: int = 192,
    row_labels: list[str] | None = None,
) -> Path:
    """A grid PNG: one column per entry of `columns` (label -> crops, one per row), a header row.

    columns: {label: [(S,S,3) uint8 RGB, or a str, ...]}, one entry per row; a str is a cell with
    nothing drawn (`_absent`: grey, the text saying why), as is a row past a column's end.
    row_labels: optional text per row, written in the corner of the row's first cell.
    """
    rows = max((len(v) for v in columns.values()), default=0)
    header = np.concatenate([_label(name, tile) for name in columns], axis=1)
    body = []
    for r in range(rows):
        cells = [
            _cell_tile(crops[r] if r < len(crops) else "n/a", tile) for crops in columns.values()
        ]
        if row_labels and r < len(row_labels) and cells:
            cv2.putText(
                cells[0],
                row_labels[r],
                (4, tile - 8),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                (255, 255, 0),
                1,
                cv2.LINE_AA,
            )
        body.append(np.concatenate(cells, axis=1))
    return atomic_write_png(path, np.ascontiguousarray(np.concatenate([header, *body], axis=0)))
