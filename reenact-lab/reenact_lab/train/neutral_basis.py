"""Fit the target-neutral basis (`reenact.fusion.target_neutral`) from a landmark cache.

    python -m reenact_lab.train.neutral_basis --cache cache/landmarks \
        --out reenact/models/neutral_basis.safetensors

People as `reenact_lab.train.fusion_data.load_people` groups them (each clip person's neutral: the
median of their least expressive tenth of frames; labelled stills: the neutral ones), each also
mirrored. The expression directions come from up to `--frames` frames per person, each frame's
head pose undone against its person's neutral; the labelled stills (the strong expressions that
talking clips rarely hold: a wide "O", a grin, shut eyes) count `--stills-weight` times.
`--exclude` keeps people out (by default the splits file's `held_out`,
`configs/splits/fusion.yaml`; `--splits` names another), `--check` prints how close the estimate comes to the held-out people's own neutrals.
Closed form (two SVDs): seconds on a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from reenact.fusion.target_neutral import UNIT_IOD, NeutralEstimate, to_pixels, to_unit
from reenact.errors import one_line_errors
from reenact.landmarks.expressiveness import expressiveness
from reenact.landmarks.head_pose import undo_pose
from reenact.landmarks.flip import MIRROR_PERMUTATION
from reenact_lab.train.splits import SPLITS_FILE, read_splits


def _principal(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,D) rows (already centred) -> (D,k) directions, (k,) spreads (std along each)."""
    _, sing, vt = np.linalg.svd(rows, full_matrices=False)
    k = min(k, len(sing))
    return vt[:k].T, np.maximum(sing[:k] / np.sqrt(len(rows)), 1e-6)


def fit_basis(
    neutrals: list[np.ndarray],
    deviations: list[np.ndarray],
    *,
    identity_k: int = 60,
    expression_k: int = 8,
) -> dict[str, np.ndarray]:
    """The model's arrays from unit-coordinate landmarks.

    neutrals: (478,3) one per person (mirror images count as people); deviations: (478,3) a
    frame minus its person's neutral, the frame's pose undone against that neutral. Returns
    {"mean": (478,3), "identity": (956,ki), "identity_sd": (ki,), "expression": (956,ke),
    "expression_sd": (ke,)} float32 (xy flattened point by point).
    """
    mean0 = np.median(np.stack(neutrals), axis=0)
    posed = np.stack([undo_pose(n, mean0)[0] for n in neutrals])
    mean = posed.mean(axis=0)
    identity, identity_sd = _principal((posed - mean)[..., :2].reshape(len(posed), -1), identity_k)
    rows = np.stack(deviations)[..., :2].reshape(len(deviations), -1)
    expression, expression_sd = _principal(rows, expression_k)
    return {
        k: np.asarray(v, np.float32)
        for k, v in {
            "mean": mean,
            "identity": identity,
            "identity_sd": identity_sd,
            "expression": expression,
            "expression_sd": expression_sd,
        }.items()
    }


def mirror(unit: np.ndarray) -> np.ndarray:
    """(..., 478, 3) unit coordinates of the left-right mirrored face."""
    out = np.asarray(unit, np.float64)[..., MIRROR_PERMUTATION, :].copy()
    out[..., 0] = -out[..., 0]
    return out


def samples(people, frames: int, *, stills_weight: int = 1, seed: int = 0) -> tuple[list, list]:
    """(neutrals, deviations) of `fit_basis` from `fusion_data.Person`s, mirrors included; a
    labelled still counts `stills_weight` times among the deviations."""
    rng = np.random.default_rng(seed)
    neutrals, deviations = [], []
    for person in people:
        repeat = stills_weight if person.stills else 1
        neutral = np.asarray(person.neutral, np.float64)
        neutrals += [neutral, mirror(neutral)]
        pick = rng.choice(len(person.frames), min(frames, len(person.frames)), replace=False)
        for frame in person.frames[np.sort(pick)]:
            change = undo_pose(frame, neutral)[0] - neutral
            deviations += [change, mirror(neutral + change) - mirror(neutral)] * repeat
    return neutrals, deviations


def check(estimate: NeutralEstimate, people) -> list[tuple[str, float, float, float, float]]:
    """Per held-out person: (name, picture error, estimate error) on their least expressive
    tenth of frames and on their most expressive quarter; error: mean point distance to the
    person's neutral (both poses undone) over the inter-ocular distance (0.5 unit)."""

    def error(face, neutral):
        return float(
            np.linalg.norm((undo_pose(face, neutral)[0] - neutral)[:, :2], axis=1).mean() / UNIT_IOD
        )

    rows = []
    for person in people:
        order = np.argsort(expressiveness(person.frames))
        calm = order[: max(3, len(order) // 10)]
        lively = order[-max(3, len(order) // 4) :]
        row = [person.name]
        for chosen in (calm, lively):
            faces = person.frames[chosen].astype(np.float64)
            row += [
                np.mean([error(f, person.neutral) for f in faces]),
                np.mean([error(_estimate_unit(estimate, f), person.neutral) for f in faces]),
            ]
        rows.append(tuple(row))
    return rows


def _estimate_unit(estimate: NeutralEstimate, unit: np.ndarray) -> np.ndarray:
    size = 256  # unit coordinates through any crop side and back
    return to_unit(estimate.estimate(to_pixels(unit, size), size)[0], size)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    import torch

    from reenact.engine.weights import save_weights
    from reenact_lab.train.fusion_data import load_people

    args = _parser().parse_args(argv)
    splits = read_splits(args.splits)
    if args.exclude is None:
        args.exclude = list(splits.held_out)
    people = load_people(args.cache, splits=splits)
    train = [p for p in people if p.name not in set(args.exclude)]
    arrays = fit_basis(
        *samples(train, args.frames, stills_weight=args.stills_weight),
        identity_k=args.identity_k,
        expression_k=args.expression_k,
    )
    names = sorted(p.name for p in train)
    save_weights(
        args.out,
        {k: torch.from_numpy(v) for k, v in arrays.items()},
        {"kind": "neutral_basis", "people": len(names), "trained_on": " ".join(names)},
        dtype=torch.float16,
    )
    print(
        f"wrote {args.out}: {len(names)} people, identity {arrays['identity'].shape[1]} and "
        f"expression {arrays['expression'].shape[1]} directions"
    )
    if args.check:
        held = [p for p in people if p.name in set(args.exclude)]
        _print_check(check(NeutralEstimate.load(args.out), held))  # as shipped: fp16
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="cache/landmarks")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument(
        "--splits",
        type=Path,
        default=SPLITS_FILE,
        help="who is whom and who is held out (default: %(default)s)",
    )
    parser.add_argument(
        "--exclude",
        nargs="*",
        default=None,
        help="people to keep out (default: the splits file's held_out)",
    )
    parser.add_argument("--frames", type=int, default=150, help="frames per person")
    parser.add_argument("--identity-k", type=int, default=60)
    parser.add_argument("--expression-k", type=int, default=16)
    parser.add_argument("--stills-weight", type=int, default=30)
    parser.add_argument("--check", action="store_true", help="score the held-out people")
    return parser


def _print_check(rows: list[tuple[str, float, float, float, float]]) -> None:
    """One line per held-out person (`check`'s rows), then their mean."""
    for name, calm0, calm1, lively0, lively1 in rows:
        print(
            f"{name:14s} calm frames: picture {calm0:.4f} estimate {calm1:.4f}   "
            f"expressive: picture {lively0:.4f} estimate {lively1:.4f}"
        )
    means = np.mean([r[1:] for r in rows], axis=0)
    print(
        f"{'mean':14s} calm frames: picture {means[0]:.4f} estimate {means[1]:.4f}   "
        f"expressive: picture {means[2]:.4f} estimate {means[3]:.4f}"
    )


if __name__ == "__main__":
    sys.exit(main())
