"""Train the learned mouth (`reenact.nn.local_gen`) on the pairs of `lab/local_mouth_data.py`.

L1 (twice as strong on the lips and the opening) + (1 - SSIM) + an image-gradient L1 of
`out = M rgb + (1 - M) warp` against the driver's real mouth; Adam; pairs drawn with a
probability that grows with how much the mouth changed. Whole identities are held out: the
held-out, validation and test people of `configs/splits/fusion.yaml` (with their other clips).
Every few minutes it logs the held-out mouth-box SSIM of the warp with its painters, without them
and of the learned output, keeps a resumable checkpoint and the best fp16 weights, all under
`--work` (outside the repository).

    nohup python -m lab.train_local_mouth --pairs /work/cache/local_mouth/pairs \
        --work /work/cache/local_mouth/run &
    python -m lab.train_local_mouth --pairs ... --work ... --export reenact/models/local_mouth.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from lab import local_mouth_gan
from reenact.engine.weights import load_into, save_module
from reenact.nn.local_gen import LocalGenerator

SPLITS = Path(__file__).resolve().parents[1] / "configs" / "splits" / "fusion.yaml"
KEYS = ("rest", "warp", "lips", "real", "painted")


def held_out_clips(path: Path = SPLITS) -> set[str]:
    """The clips of the splits file's held-out, validation and test people (their groups
    expanded)."""
    spec = yaml.safe_load(path.read_text())
    groups = spec.get("identity_groups", {})
    people = [p for key in ("held_out", "validation", "test") for p in spec.get(key, [])]
    return {clip for p in people for clip in groups.get(p, [p])}


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


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N,h,w,3) or (N,h,w) uint8 -> (N,C,h,w) float32 in [-1,1]."""
    t = torch.from_numpy(images).float() / 127.5 - 1
    return t.permute(0, 3, 1, 2) if t.ndim == 4 else t[:, None]


def batch(data: dict, idx: np.ndarray, augment: bool) -> tuple[torch.Tensor, ...]:
    """(x (B,7,h,w), warp, real, lips) for rows idx; augment: grey with p = 0.1, mirrored
    with p = 0.5."""
    rest, warp, lips, real = (to_tensor(data[k][idx]) for k in ("rest", "warp", "lips", "real"))
    if augment:  # some pairs in grey, as old B/W photos are (their lips must stay grey)
        grey = torch.rand(len(idx)) < 0.1
        for t in (rest, warp, real):
            t[grey] = t[grey].mean(1, keepdim=True).expand(-1, 3, -1, -1)
    x = torch.cat([rest, warp, lips], 1)
    if augment:
        mirror = torch.rand(len(idx)) < 0.5
        x[mirror], warp[mirror], real[mirror], lips[mirror] = (
            t[mirror].flip(-1) for t in (x, warp, real, lips)
        )
    return x, warp, real, lips


def _gauss(size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size) - size // 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


_WINDOW = _gauss()


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B,) mean SSIM of (B,3,h,w) images in [-1,1] (Gaussian 7x7, valid area)."""
    a, b = (a + 1) / 2, (b + 1) / 2
    c = a.shape[1]
    w = _WINDOW.to(a).expand(c, 1, -1, -1)

    def f(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, groups=c)

    ma, mb = f(a), f(b)
    va, vb, cov = f(a * a) - ma**2, f(b * b) - mb**2, f(a * b) - ma * mb
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.flatten(1).mean(1)


def grads(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return t[..., 1:, :] - t[..., :-1, :], t[..., :, 1:] - t[..., :, :-1]


def loss_of(model: LocalGenerator, x, warp, real, lips) -> tuple[torch.Tensor, dict, torch.Tensor]:
    rgb, mask = model(x)
    out = model.blend(rgb, mask, warp)
    weight = 1 + 2 * (F.max_pool2d(lips, 7, 1, 3) > -0.9).float()  # the lips and a margin
    l1 = (weight * (out - real).abs()).mean()
    structure = (1 - ssim(out, real)).mean()
    (oy, ox), (ry, rx) = grads(out), grads(real)
    edges = (oy - ry).abs().mean() + (ox - rx).abs().mean()
    total = l1 + 0.5 * structure + 0.5 * edges
    parts = {"l1": l1.item(), "ssim": 1 - structure.item(), "mask": mask.mean().item()}
    return total, parts, out


_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]


def laplacian(t: torch.Tensor) -> torch.Tensor:
    """(B,1,h,w) Laplacian of the grey of (B,3,h,w) images: cv2's 3x3 kernel (ksize 1) and
    reflect-101 borders, as `lab/local_mouth_measure.py`'s sharpness reads it."""
    grey = (0.299 * t[:, 0] + 0.587 * t[:, 1] + 0.114 * t[:, 2])[:, None]
    return F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="reflect"), _LAPLACE.to(t))


def sharpness(t: torch.Tensor) -> torch.Tensor:
    """(B,) variance of the Laplacian of (B,3,h,w) images (the measure script's sharpness)."""
    return laplacian(t).flatten(1).var(1)


def blur(t: torch.Tensor, sigma: float) -> torch.Tensor:
    """A Gaussian low-pass of (B,C,h,w), reflect-padded (sigma <= 0: t itself)."""
    if sigma <= 0:
        return t
    r = max(1, int(round(3 * sigma)))
    g = torch.exp(-(torch.arange(-r, r + 1, dtype=t.dtype) ** 2) / (2 * sigma**2))
    g = (g / g.sum()).to(t)
    c = t.shape[1]
    t = F.pad(t, (r, r, r, r), mode="reflect")
    t = F.conv2d(t, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(t, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def detail_terms(out: torch.Tensor, real: torch.Tensor, sigma: float = 4.0) -> dict:
    """High-frequency energy of out against real, indifferent to where exactly an edge lies:
    'local', L1 of the local RMS of the Laplacian (Gaussian window `sigma`); 'global', |log| of
    the ratio of the boxes' Laplacian variances (what the sharpness score reads)."""
    lo, lr = laplacian(out), laplacian(real)
    eo = blur(lo * lo, sigma).clamp_min(1e-8).sqrt()
    er = blur(lr * lr, sigma).clamp_min(1e-8).sqrt()
    ratio = torch.log(lo.flatten(1).var(1) + 1e-6) - torch.log(lr.flatten(1).var(1) + 1e-6)
    return {"local": (eo - er).abs().mean(), "global": ratio.abs().mean()}


def sharp_loss_of(
    model: LocalGenerator, x, warp, real, lips, opts: argparse.Namespace
) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """`loss_of` for a sharper mouth: L1 on low-passed copies (sigma `opts.l1_blur`; the lips
    weighted 1 + `opts.lip_weight`), so it fixes colour and layout and leaves the fine detail to
    the GAN and to matching the Laplacian's energy (`detail_terms`, weight `opts.lap`)."""
    rgb, mask = model(x)
    out = model.blend(rgb, mask, warp)
    weight = 1 + opts.lip_weight * (F.max_pool2d(lips, 7, 1, 3) > -0.9).float()
    l1 = (weight * (blur(out, opts.l1_blur) - blur(real, opts.l1_blur)).abs()).mean()
    structure = (1 - ssim(out, real)).mean()
    total = l1 + opts.ssim_weight * structure
    parts = {"l1": l1.item(), "ssim": 1 - structure.item(), "mask": mask.mean().item()}
    if opts.edges > 0:
        (oy, ox), (ry, rx) = grads(out), grads(real)
        total = total + opts.edges * ((oy - ry).abs().mean() + (ox - rx).abs().mean())
    if opts.lap > 0:
        detail = detail_terms(out, real)
        total = total + opts.lap * (detail["local"] + opts.lap_global * detail["global"])
        parts |= {"lap": detail["local"].item(), "lapg": detail["global"].item()}
    return total, parts, out


@torch.no_grad()
def validate_sharpness(model: LocalGenerator, val: dict, chunk: int = 256) -> dict[str, float]:
    """Held-out median ratio of the learned (and bare warp's) box sharpness to the real's, over
    all pairs and the 6 px movers (the measure script's score, on the trainer's boxes)."""
    model.eval()
    ratios: dict[str, list] = {"learned": [], "warp": []}
    for s in range(0, len(val["change"]), chunk):
        idx = np.arange(s, min(s + chunk, len(val["change"])))
        x, warp, real, _ = batch(val, idx, augment=False)
        rgb, mask = model(x)
        base = sharpness(real).clamp_min(1e-8)
        ratios["learned"].append(sharpness(model.blend(rgb, mask, warp)) / base)
        ratios["warp"].append(sharpness(warp) / base)
    model.train()
    moved = val["change"] > 6
    out = {}
    for k, v in ratios.items():
        values = torch.cat(v).numpy()
        out["sharp_" + k] = float(np.median(values))
        out["sharp_" + k + "_moved"] = float(np.median(values[moved]))
    return out


def adversarial_terms(
    gan: tuple, weight: float, x, out, real, fm: float = 10.0
) -> tuple[torch.Tensor, dict]:
    """The PatchGAN's terms of the generator's loss, feature matching `fm` times the
    adversarial weight (its discriminator steps after the generator, `discriminator_step`)."""
    adversarial, matching = local_mouth_gan.g_loss(gan[0], x, out, real)
    terms = weight * adversarial + fm * weight * matching
    return terms, {"adv": adversarial.item(), "fm": matching.item()}


def discriminator_step(gan: tuple, x, out, real) -> float:
    disc, d_opt = gan
    d_total = local_mouth_gan.d_loss(disc, x, out, real)
    d_opt.zero_grad(set_to_none=True)  # drops what the generator's loss left on it
    d_total.backward()
    d_opt.step()
    return d_total.item()


@torch.no_grad()
def validate(model: LocalGenerator, val: dict, chunk: int = 256) -> dict[str, float]:
    """Held-out mouth-box SSIM of the painters, the bare warp and the learned output; over all
    pairs and over those where the mouth changed by more than 6 px."""
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
    moved = val["change"] > 6
    out = {}
    for k, v in scores.items():
        values = torch.cat(v).numpy()
        out[k], out[k + "_moved"] = float(values.mean()), float(values[moved].mean())
    return out


def sampler(change: np.ndarray) -> np.ndarray:
    """Draw probabilities: 0.15 for an unchanged mouth up to 1.15 from a 20 px change."""
    p = 0.15 + np.minimum(change, 20) / 20
    return p / p.sum()


def export(work: Path, out: Path, train: dict) -> None:
    """The run's best weights to `out` (fp16), naming who they were trained on and held out."""
    model = LocalGenerator()
    meta = load_into(model, work / "local_mouth.safetensors")
    extra = {
        "kind": "local_mouth",
        "trained_on": " ".join(sorted(set(train["clip"]))),
        "held_out": " ".join(sorted(held_out_clips())),
    }
    keep: dict[str, object] = {k: meta[k] for k in ("step", "val_ssim_moved") if k in meta}
    save_module(out, model, {**keep, **extra}, dtype=torch.float16)
    print(f"wrote {out} ({out.stat().st_size} bytes) from step {keep['step']}")


def checkpoint(work: Path, model, opt, step: int, scores: dict, best: float, gan) -> float:
    """Save the resumable state and, when the held-out score is the best yet, the weights."""
    if scores["learned_moved"] > best:
        best = scores["learned_moved"]
        meta = {"step": step, "val_ssim_moved": best}
        save_module(work / "local_mouth.safetensors", model, meta, dtype=torch.float16)
    # every checkpoint's weights too: a sharper mouth may score a little lower on SSIM
    save_module(
        work / f"weights_{step:06d}.safetensors", model, {"step": step}, dtype=torch.float16
    )
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}
    if gan is not None:
        state |= {"disc": gan[0].state_dict(), "d_opt": gan[1].state_dict()}
    torch.save(state, work / "ckpt.pt")
    return best


def _start_from(args: argparse.Namespace, model: LocalGenerator, gan) -> int:
    """A new run's generator from `args.init` (safetensors) and, when given, its discriminator
    from another run's `ckpt.pt` (`args.init_disc`); returns the step the weights were at."""
    meta = load_into(model, args.init)
    if gan is not None and getattr(args, "init_disc", None):
        state = torch.load(args.init_disc, weights_only=True)
        if "disc" not in state:
            raise SystemExit(f"{args.init_disc}: no 'disc' in this checkpoint")
        gan[0].load_state_dict(state["disc"])
    return int(float(meta.get("step", 0)))


def train_loop(args: argparse.Namespace, train: dict, val: dict) -> None:
    model = LocalGenerator()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    gan = None
    if args.gan > 0:
        disc = local_mouth_gan.make_disc(n_layers=getattr(args, "disc_layers", 2))
        gan = (disc, torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999)))
    ckpt, step, best = args.work / "ckpt.pt", 0, -1.0
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
    elif getattr(args, "init", None):
        step = _start_from(args, model, gan)
    print(f"{sum(p.numel() for p in model.parameters())} params, from step {step}", flush=True)
    sharp = getattr(args, "recipe", "base") == "sharp"
    fm = getattr(args, "fm", 10.0)
    prob, rng = sampler(train["change"]), np.random.default_rng(step)
    last, logs = time.time(), []
    while step < args.steps:
        idx = rng.choice(len(prob), args.batch, p=prob)
        x, warp, real, lips = batch(train, idx, augment=True)
        if sharp:
            loss, parts, out = sharp_loss_of(model, x, warp, real, lips, args)
        else:
            loss, parts, out = loss_of(model, x, warp, real, lips)
        if gan is not None:
            terms, more = adversarial_terms(gan, args.gan, x, out, real, fm)
            loss, parts = loss + terms, parts | more
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if gan is not None:
            parts["d"] = discriminator_step(gan, x, out, real)
        step += 1
        logs.append(parts)
        if time.time() - last > args.every or step == args.steps:
            scores = validate(model, val) | (validate_sharpness(model, val) if sharp else {})
            scores = {k: round(v, 4) for k, v in scores.items()}
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
    ap.add_argument("--fm", type=float, default=10.0, help="feature matching x the GAN weight")
    ap.add_argument("--disc-layers", type=int, default=2, help="PatchGAN n_layers")
    ap.add_argument("--init", type=Path, help="a new run's generator weights (safetensors)")
    ap.add_argument("--init-disc", type=Path, help="a new run's discriminator: a ckpt.pt")
    ap.add_argument(
        "--recipe", choices=("base", "sharp"), default="base", help="sharp: `sharp_loss_of`"
    )
    ap.add_argument("--l1-blur", type=float, default=1.5, help="sharp: L1's low-pass sigma")
    ap.add_argument("--lip-weight", type=float, default=0.0, help="sharp: extra L1 on lips")
    ap.add_argument("--ssim-weight", type=float, default=0.5, help="sharp: (1 - SSIM) weight")
    ap.add_argument("--edges", type=float, default=0.0, help="sharp: gradient L1 weight")
    ap.add_argument("--lap", type=float, default=0.0, help="sharp: Laplacian energy weight")
    ap.add_argument("--lap-global", type=float, default=0.1, help="sharp: its global part")
    ap.add_argument("--export", type=Path, help="write the run's best weights here and stop")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    train, val = load_pairs(args.pairs, held_out_clips())
    if args.export:
        export(args.work, args.export, train)
        return
    print(
        f"train {len(train['change'])} pairs, {len(set(train['clip']))} clips; "
        f"val {len(val['change'])} pairs: {sorted(set(val['clip']))}",
        flush=True,
    )
    train_loop(args, train, val)


if __name__ == "__main__":
    main()
