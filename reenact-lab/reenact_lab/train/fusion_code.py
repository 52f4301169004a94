"""Fit Phi as an expression-code autoencoder (`reenact.fusion.coded`) from a landmark cache.

    python -m reenact_lab.train.fusion_code --cache cache/landmarks \
        --out reenact/models/fusion.safetensors --check

People as `reenact_lab.train.fusion_data.load_people` groups them, the eval's and the validation
people left out (the splits file's `held_out`, `configs/splits/fusion.yaml`; `--splits` names
another), each also mirrored. Every training face's deviation from its
person's neutral, head pose undone, is resized per region onto the mean face; the decoder of the
six expression features (with `--lift` also the smile's lift, `expressiveness.lift`) is the
weighted least-squares fit of those deviations on their features
(up to `--frames` frames a clip person; a labelled still counts `--stills-weight` times),
the `--k` directions are the principal directions of what the features leave unexplained. Then
beta (the share of the unexplained part passed through) is the smallest of `BETAS` whose
self-reenactment on the splits' validation clips (live: the pose undone first, `fusion_validate.self_nme`)
is no worse than the training-free transfer's. Closed form: seconds on a CPU. `--check` prints
`fusion_validate`'s measures for the training-free transfer and the written weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from reenact.config import load_config
from reenact.errors import InputError, one_line_errors
from reenact.fusion.coded import ARCH, NUM_FEATURES, CodeFusion, scale_deviation
from reenact.fusion.transfer import TrainingFreeFusion
from reenact.landmarks.expressiveness import lift as lift_of
from reenact.landmarks.expressiveness import relative
from reenact.landmarks.head_pose import undo_pose
from reenact_lab.train.neutral_basis import mirror
from reenact_lab.train.splits import SPLITS_FILE, FusionSplits, read_splits

BETAS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
SIZE = 256  # the crop side the fitted fuser is scored at (the arrays are in unit coordinates)


def rows(
    people,
    mean_face: np.ndarray,
    *,
    frames: int = 120,
    stills_weight: float = 10.0,
    seed: int = 0,
    lift: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N,6), with `lift` (N,7), deviations on the mean face (N,1434), weights (N,)) of
    `people` (`fusion_data.Person`, unit coordinates), each face and its mirror image."""
    free = TrainingFreeFusion()
    rng = np.random.default_rng(seed)
    features, deviations, weights = [], [], []
    for person in people:
        pick = np.arange(len(person.frames))
        still = person.stills
        if not still and len(pick) > frames:
            pick = np.sort(rng.choice(pick, frames, replace=False))
        neutral = np.asarray(person.neutral, np.float64)
        faces = np.stack([undo_pose(f, neutral)[0] for f in person.frames[pick]])
        for n, f in ((neutral, faces), (mirror(neutral), mirror(faces))):
            read = relative(f, n)
            features.append(np.c_[read, lift_of(f, n)] if lift else read)
            deviations.append(
                scale_deviation(f - n, free.point_scales(n, mean_face)).reshape(len(f), -1)
            )
            weights.append(np.full(len(f), stills_weight if still else 1.0))
    return np.concatenate(features), np.concatenate(deviations), np.concatenate(weights)


def fit(
    people,
    *,
    k: int = 4,
    frames: int = 120,
    stills_weight: float = 10.0,
    ridge: float = 1e-3,
    lift: bool = False,
) -> dict[str, np.ndarray]:
    """The code's arrays (unit coordinates, float32): "mean_face" (478,3), "decoder" (c+k,1434):
    the c features' least-squares decoding (six, with `lift` seven), then the k directions
    (orthonormal)."""
    mean = np.mean([p.neutral for p in people], axis=0)
    mean_face = 0.5 * (mean + mirror(mean))
    x, y, w = rows(people, mean_face, frames=frames, stills_weight=stills_weight, lift=lift)
    root = np.sqrt(w)[:, None]
    a = x * root
    by_feature = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ (y * root))
    _, _, vt = np.linalg.svd((y - x @ by_feature) * root, full_matrices=False)
    return {
        "mean_face": mean_face.astype(np.float32),
        "decoder": np.concatenate([by_feature, vt[:k]]).astype(np.float32),
    }


def choose_beta(
    arrays: dict[str, np.ndarray], cache: str, clips=None, *, lift: bool = False
) -> tuple[float, dict[float, float], float]:
    """(beta, live self-NME per beta tried, the training-free transfer's) on `clips` (default:
    the splits file's validation clips)."""
    from reenact_lab.train.fusion_validate import self_nme

    clips = read_splits().validation_clips if clips is None else clips
    if not any((Path(cache) / f"{c}.npz").exists() for c in clips):
        raise InputError(
            f"{cache}: none of the validation clips ({', '.join(clips)}) to "
            "choose beta on; track them or pass --beta"
        )
    bar = self_nme(TrainingFreeFusion().fuse, cache, clips, live=True)
    scores = {}
    for beta in BETAS:
        fuser = CodeFusion(arrays, beta=beta, size=SIZE, lift=lift)
        scores[beta] = self_nme(fuser.fuse, cache, clips, live=True)
        if scores[beta] <= bar:
            return beta, scores, bar
    return 1.0, scores, bar


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="cache/landmarks")
    parser.add_argument(
        "--splits",
        type=Path,
        default=SPLITS_FILE,
        help="who is whom and who is held out (default: %(default)s)",
    )
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument("--k", type=int, default=4, help="directions beyond the six features")
    parser.add_argument("--frames", type=int, default=120, help="frames per clip person")
    parser.add_argument("--stills-weight", type=float, default=10.0)
    parser.add_argument("--beta", type=float, default=None, help="default: chosen (see above)")
    parser.add_argument(
        "--lift",
        action="store_true",
        help="also decode the smile's lift (tried 2026-11-25, see the model card)",
    )
    parser.add_argument("--check", action="store_true", help="score the held-out people")
    parser.add_argument(
        "--prepared",
        default="",
        help="with --check: a reenact prepare cache of the labelled stills",
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    import torch

    from reenact.engine.weights import save_weights
    from reenact_lab.train.fusion_data import cache_digest, load_people

    args = _parser().parse_args(argv)
    splits = read_splits(args.splits)
    people, digest = load_people(args.cache, splits=splits), cache_digest(args.cache)
    train = [p for p in people if p.name not in set(splits.held_out)]
    arrays = fit(
        train, k=args.k, frames=args.frames, stills_weight=args.stills_weight, lift=args.lift
    )
    if args.beta is None:
        beta, scores, bar = choose_beta(arrays, args.cache, splits.validation_clips, lift=args.lift)
        print(
            f"beta {beta}: live self NME on {', '.join(splits.validation_clips)} "
            + ", ".join(f"{b}: {s:.5f}" for b, s in scores.items())
            + f" (training-free {bar:.5f})"
        )
    else:
        beta = float(args.beta)
    names = sorted(p.name for p in train)
    save_weights(
        args.out,
        {k: torch.from_numpy(v) for k, v in arrays.items()},
        {
            "arch": ARCH,
            "beta": beta,
            "cache_digest": digest,
            "k": args.k,
            "lift": int(args.lift),
            "people": len(names),
            "trained_on": " ".join(names),
        },
        dtype=torch.float16,
    )
    print(
        f"wrote {args.out}: {len(names)} people, {NUM_FEATURES + args.lift} features + "
        f"{args.k} directions, beta {beta}; landmark cache {digest}"
    )
    if args.check:
        _check(args.out, people, args.cache, args.prepared, splits)
    return 0


def _check(weights: str, people, cache: str, prepared: str, splits: FusionSplits) -> None:
    """Print the training-free transfer's and the fitted Phi's scores on the test and the
    validation people."""
    from reenact_lab.train.fusion_validate import report

    fitted = CodeFusion.from_weights(weights, load_config(None))  # as written: fp16
    groups = (
        ("test", splits.test, splits.self_clips, prepared),
        ("validation", splits.validation, splits.validation_clips, ""),
    )
    for group, names, clips, stills_cache in groups:
        held = [p for p in people if p.name in names]
        for name, fuser in (("training_free", TrainingFreeFusion()), ("phi", fitted)):
            row = report(fuser.fuse, held, cache, stills_cache, clips)
            print(f"{group} {name}", json.dumps(row))


if __name__ == "__main__":
    sys.exit(main())
