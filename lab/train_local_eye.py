"""Train the learned eyes (`reenact.nn.local_gen`, one network for both eyes) on the pairs of
`lab/local_eye_data.py`.

The learned mouth's losses (`lab.train_local_mouth.loss_of`: L1, three times as strong on the
eye's opening and a margin, + (1 - SSIM) + an image-gradient L1 of `out = M rgb + (1 - M) warp`
against the driver's real eye) plus an L1 on the network's colour itself (`COLOUR`) and,
optionally, the mouth's local PatchGAN; Adam; samples drawn with a
probability that grows with how much the eye changed (a blink, a gaze). No mirroring: every
sample is already an image-right eye (the image-left one mirrored). Whole identities are held
out (`lab.train_local_mouth.held_out_clips`). Every few minutes it logs the held-out eye-box
SSIM of the warp with its painted irises and lids, without them and of the learned output, over
all pairs and those whose eye changed by more than 3 px, keeps a resumable checkpoint and the
best fp16 weights, all under `--work` (outside the repository).

    OMP_NUM_THREADS=1 nohup python -m lab.train_local_eye --pairs /work/cache/local_eyes/pairs \
        --work /work/cache/local_eyes/run > /work/cache/local_eyes/run.log 2>&1 &
    python -m lab.train_local_eye --pairs ... --work ... --export reenact/models/local_eyes.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lab import local_mouth_gan
from lab.train_local_mouth import (
    adversarial_terms,
    discriminator_step,
    grads,
    held_out_clips,
    ssim,
    to_tensor,
)
from reenact.engine.weights import load_into, save_module
from reenact.nn.local_gen import LocalGenerator

KEYS = ("rest", "warp", "lines", "real", "painted")
CHANGED = 3.0  # px at 256: a held-out eye that changed this much counts as changed
# weight of an L1 on the network's colour itself: with the blend's loss alone the mask shut
# within 300 steps (mean 0.008: most of an eye box is skin the warp already has right) and the
# colour, no longer seen, stopped learning
COLOUR = 0.5


def loss_of(model: LocalGenerator, x, warp, real, lines) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """`lab.train_local_mouth.loss_of` (its weights on the opening and a margin) + COLOUR x the
    L1 of the network's colour against the real eye."""
    rgb, mask = model(x)
    out = model.blend(rgb, mask, warp)
    weight = 1 + 2 * (F.max_pool2d(lines, 7, 1, 3) > -0.9).float()  # the opening and a margin
    l1 = (weight * (out - real).abs()).mean()
    colour = (weight * (rgb - real).abs()).mean()
    structure = (1 - ssim(out, real)).mean()
    (oy, ox), (ry, rx) = grads(out), grads(real)
    edges = (oy - ry).abs().mean() + (ox - rx).abs().mean()
    total = l1 + COLOUR * colour + 0.5 * structure + 0.5 * edges
    parts = {"l1": l1.item(), "rgb": colour.item(), "ssim": 1 - structure.item()}
    return total, parts | {"mask": mask.mean().item()}, out


def load_pairs(folder: Path, held: set[str]) -> tuple[dict, dict]:
    """(train, val) dicts of stacked arrays; a clip goes wholly to one side."""
    sides: dict[str, dict[str, list]] = {"train": {}, "val": {}}
    for shard in sorted(folder.glob("*.npz")):
        if shard.name.endswith(".tmp.npz"):
            continue
        d = np.load(shard, allow_pickle=False)
        side = sides["val" if shard.stem in held else "train"]
        for k in (*KEYS, "change"):
            side.setdefault(k, []).append(d[k])
        side.setdefault("clip", []).append(np.full(len(d["change"]), shard.stem))
    train, val = ({k: np.concatenate(v) for k, v in s.items()} for s in sides.values())
    return train, val


def batch(
    data: dict, idx: np.ndarray, augment: bool, jitter: bool = False
) -> tuple[torch.Tensor, ...]:
    """(x (B,7,h,w), warp, real, lines) for rows idx; augment: grey with p = 0.1; jitter: each
    sample's colours scaled and shifted alike in all its images, and all its images moved
    together by up to 3 px (66 people are few: the first run fitted them and stopped improving
    on held-out people)."""
    rest, warp, lines, real = (to_tensor(data[k][idx]) for k in ("rest", "warp", "lines", "real"))
    if augment:  # some pairs in grey, as old B/W photos are
        grey = torch.rand(len(idx)) < 0.1
        for t in (rest, warp, real):
            t[grey] = t[grey].mean(1, keepdim=True).expand(-1, 3, -1, -1)
    if augment and jitter:
        gain = 1 + 0.25 * (torch.rand(len(idx), 3, 1, 1) - 0.5)
        bias = 0.2 * (torch.rand(len(idx), 1, 1, 1) - 0.5)
        rest, warp, real = (((t + 1) * gain - 1 + bias).clamp(-1, 1) for t in (rest, warp, real))
        for i, (dy, dx) in enumerate(np.random.default_rng().integers(-3, 4, (len(idx), 2))):
            for t in (rest, warp, real, lines):
                t[i] = torch.roll(t[i], (int(dy), int(dx)), (1, 2))
    return torch.cat([rest, warp, lines], 1), warp, real, lines


@torch.no_grad()
def validate(model: LocalGenerator, val: dict, chunk: int = 512) -> dict[str, float]:
    """Held-out eye-box SSIM of the painters, the bare warp and the learned output; over all
    samples and over those whose eye changed by more than CHANGED px."""
    model.eval()
    scores: dict[str, list] = {"painted": [], "warp": [], "learned": []}
    for s in range(0, len(val["change"]), chunk):
        idx = np.arange(s, min(s + chunk, len(val["change"])))
        x, warp, real, _ = batch(val, idx, augment=False)
        rgb, mask = model(x)
        scores["learned"].append(ssim(model.blend(rgb, mask, warp), real))
        scores["warp"].append(ssim(warp, real))
        scores["painted"].append(ssim(to_tensor(val["painted"][idx]), real))
    model.train()
    changed = val["change"] > CHANGED
    out = {}
    for k, v in scores.items():
        values = torch.cat(v).numpy()
        out[k], out[k + "_changed"] = float(values.mean()), float(values[changed].mean())
    return out


def sampler(change: np.ndarray) -> np.ndarray:
    """Draw probabilities: 0.15 for an unchanged eye up to 1.15 from an 8 px change."""
    p = 0.15 + np.minimum(change, 8) / 8
    return p / p.sum()


def export(work: Path, out: Path, train: dict, step: int | None) -> None:
    """The run's best weights (or those of checkpoint `step`) to `out` (fp16), naming who they
    were trained on and held out."""
    model = LocalGenerator()
    source = work / (
        "local_eyes.safetensors" if step is None else f"weights_{step:06d}.safetensors"
    )
    meta = load_into(model, source)
    extra = {
        "kind": "local_eyes",
        "trained_on": " ".join(sorted(set(train["clip"]))),
        "held_out": " ".join(sorted(held_out_clips())),
    }
    keep: dict[str, object] = {k: meta[k] for k in ("step", "val_ssim") if k in meta}
    save_module(out, model, {**keep, **extra}, dtype=torch.float16)
    print(f"wrote {out} ({out.stat().st_size} bytes) from step {meta.get('step')}")


def checkpoint(work: Path, model, opt, step: int, scores: dict, best: float, gan) -> float:
    """Save the resumable state and, when the held-out score (all + changed) is the best yet,
    the weights."""
    score = scores["learned"] + scores["learned_changed"]
    if score > best:
        best = score
        meta = {"step": step, "val_ssim": scores["learned"]}
        save_module(work / "local_eyes.safetensors", model, meta, dtype=torch.float16)
    save_module(
        work / f"weights_{step:06d}.safetensors", model, {"step": step}, dtype=torch.float16
    )
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}
    if gan is not None:
        state |= {"disc": gan[0].state_dict(), "d_opt": gan[1].state_dict()}
    torch.save(state, work / "ckpt.tmp")
    (work / "ckpt.tmp").replace(work / "ckpt.pt")
    return best


def train_loop(args: argparse.Namespace, train: dict, val: dict) -> None:
    model = LocalGenerator()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    gan = None
    if args.gan > 0:
        disc = local_mouth_gan.make_disc()
        gan = (disc, torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999)))
    ckpt, step, best = args.work / "ckpt.pt", 0, -1.0
    if args.init is not None and not ckpt.exists():
        load_into(model, args.init)
        step = int(args.init_step)
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for group in opt.param_groups:  # a resumed run may go on at another rate
            group["lr"] = args.lr
        step, best = int(state["step"]), float(state["best"])
        if gan is not None and "disc" in state:
            gan[0].load_state_dict(state["disc"])
            gan[1].load_state_dict(state["d_opt"])
    print(f"{sum(p.numel() for p in model.parameters())} params, from step {step}", flush=True)
    if step == 0:
        print(json.dumps({"step": 0, "val": validate(model, val)}), flush=True)
    prob, rng = sampler(train["change"]), np.random.default_rng(step)
    last, logs = time.time(), []
    while step < args.steps:
        idx = rng.choice(len(prob), args.batch, p=prob)
        x, warp, real, lines = batch(train, idx, augment=True, jitter=args.jitter)
        loss, parts, out = loss_of(model, x, warp, real, lines)
        if gan is not None:
            terms, more = adversarial_terms(gan, args.gan, x, out, real)
            loss, parts = loss + terms, parts | more
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if gan is not None:
            parts["d"] = discriminator_step(gan, x, out, real)
        step += 1
        logs.append(parts)
        if time.time() - last > args.every or step == args.steps:
            scores = {k: round(v, 4) for k, v in validate(model, val).items()}
            mean = {k: round(float(np.mean([p[k] for p in logs])), 4) for k in logs[0]}
            print(json.dumps({"step": step, "train": mean, "val": scores}), flush=True)
            best = checkpoint(args.work, model, opt, step, scores, best, gan)
            last, logs = time.time(), []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--gan", type=float, default=0.0, help="local PatchGAN weight (0 = off)")
    ap.add_argument("--init", type=Path, help="start a new run from these weights")
    ap.add_argument("--init-step", type=int, default=0, help="the step --init was saved at")
    ap.add_argument("--jitter", action="store_true", help="colour and shift augmentation")
    ap.add_argument("--export", type=Path, help="write the run's best weights here and stop")
    ap.add_argument("--step", type=int, help="with --export: that checkpoint's weights instead")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    train, val = load_pairs(args.pairs, held_out_clips())
    if args.export:
        export(args.work, args.export, train, args.step)
        return
    print(
        f"train {len(train['change'])} samples, {len(set(train['clip']))} clips; "
        f"val {len(val['change'])} samples: {sorted(set(val['clip']))}",
        flush=True,
    )
    train_loop(args, train, val)


if __name__ == "__main__":
    main()
