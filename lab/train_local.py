"""Train a learned region (`reenact.nn.local_gen`: the mouth, or one network for both eyes) on
the samples of `lab/local_data.py`.

L1 (three times as strong on the region's contours and a margin) + (1 - SSIM) + an image-gradient
L1 of `out = M rgb + (1 - M) warp` against the driver's real region, plus, for the eyes, an L1 on
the network's colour itself (`Region.colour`) and, optionally, a local PatchGAN
(`lab/local_gan.py`); or, with `--recipe sharp`, `sharp_loss_of`; and, with `--mesh`, the L1 of
MediaPipe's own face network's features (`reenact_lab.nn.face_mesh`). Adam; samples drawn with a
probability that grows with how much the region changed (a mouth opening, a blink, a gaze); the
mouth's mirrored at random (the eyes come mirrored already). Whole identities are held out: the
held-out, validation and test people of `configs/splits/fusion.yaml` (with their other clips).
Every few minutes it logs the held-out box SSIM of the warp with its painters, without them and
of the learned output, over all samples and those that changed more than the region's threshold,
keeps a resumable checkpoint, every checkpoint's fp16 weights and the best ones, all under
`--work` (outside the repository).

    OMP_NUM_THREADS=1 nohup python -m lab.train_local --region mouth \
        --pairs /work/cache/local_mouth/pairs --work /work/cache/local_mouth/run > run.log 2>&1 &
    python -m lab.train_local --region eyes --pairs /work/cache/local_eyes/pairs \
        --work /work/cache/local_eyes/run --export reenact/models/local_eyes.safetensors
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

from lab import local_gan
from lab.local_data import REGIONS, Region
from reenact.engine.weights import load_into, save_module
from reenact.nn.local_gen import LocalGenerator
from reenact_lab.nn.face_mesh import FaceMesh, mesh_feature_loss

SPLITS = Path(__file__).resolve().parents[1] / "configs" / "splits" / "fusion.yaml"


def held_out_clips(path: Path = SPLITS) -> set[str]:
    """The clips of the splits file's held-out, validation and test people (their groups
    expanded)."""
    spec = yaml.safe_load(path.read_text())
    groups = spec.get("identity_groups", {})
    people = [p for key in ("held_out", "validation", "test") for p in spec.get(key, [])]
    return {clip for p in people for clip in groups.get(p, [p])}


def load_pairs(region: Region, folder: Path, held: set[str]) -> tuple[dict, dict]:
    """(train, val) dicts of stacked arrays; a clip goes wholly to one side."""
    sides: dict[str, dict[str, list]] = {"train": {}, "val": {}}
    for shard in sorted(folder.glob("*.npz")):
        if shard.name.endswith(".tmp.npz"):
            continue
        d = np.load(shard, allow_pickle=False)
        side = sides["val" if shard.stem in held else "train"]
        for k in (*region.keys, "change"):
            if k not in d.files:
                raise SystemExit(f"{shard}: no '{k}' (pairs of another region?)")
            side.setdefault(k, []).append(d[k])
        side.setdefault("clip", []).append(np.full(len(d["change"]), shard.stem))
    train, val = ({k: np.concatenate(v) for k, v in s.items()} for s in sides.values())
    return train, val


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N,h,w,3) or (N,h,w) uint8 -> (N,C,h,w) float32 in [-1,1]."""
    t = torch.from_numpy(images).float() / 127.5 - 1
    return t.permute(0, 3, 1, 2) if t.ndim == 4 else t[:, None]


def batch(
    region: Region, data: dict, idx: np.ndarray, augment: bool, jitter: bool = False
) -> tuple[torch.Tensor, ...]:
    """(x (B,7,h,w), warp, real, lines) for rows idx; augment: grey with p = 0.1 and, for a
    region that mirrors, mirrored with p = 0.5; jitter: each sample's colours scaled and shifted
    alike in all its images, and all its images moved together by up to 3 px (66 people are
    few: the eyes' first run fitted them and stopped improving on held-out people)."""
    rest, warp, lines, real = (
        to_tensor(data[k][idx]) for k in ("rest", "warp", region.lines, "real")
    )
    if augment:  # some pairs in grey, as old B/W photos are (their lips must stay grey)
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
    x = torch.cat([rest, warp, lines], 1)
    if augment and region.mirror:
        mirror = torch.rand(len(idx)) < 0.5
        x[mirror], warp[mirror], real[mirror], lines[mirror] = (
            t[mirror].flip(-1) for t in (x, warp, real, lines)
        )
    return x, warp, real, lines


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


def loss_of(
    region: Region, model: LocalGenerator, x, warp, real, lines
) -> tuple[torch.Tensor, dict, torch.Tensor]:
    rgb, mask = model(x)
    out = model.blend(rgb, mask, warp)
    weight = 1 + 2 * (F.max_pool2d(lines, 7, 1, 3) > -0.9).float()  # the contours and a margin
    l1 = (weight * (out - real).abs()).mean()
    parts = {"l1": l1.item()}
    total = l1
    if region.colour > 0:
        colour = (weight * (rgb - real).abs()).mean()
        total = total + region.colour * colour
        parts["rgb"] = colour.item()
    structure = (1 - ssim(out, real)).mean()
    (oy, ox), (ry, rx) = grads(out), grads(real)
    edges = (oy - ry).abs().mean() + (ox - rx).abs().mean()
    total = total + 0.5 * structure + 0.5 * edges
    parts |= {"ssim": 1 - structure.item(), "mask": mask.mean().item()}
    return total, parts, out


_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]


def laplacian(t: torch.Tensor) -> torch.Tensor:
    """(B,1,h,w) Laplacian of the grey of (B,3,h,w) images: cv2's 3x3 kernel (ksize 1) and
    reflect-101 borders, as `lab/local_measure.py`'s sharpness reads it."""
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
    model: LocalGenerator, x, warp, real, lines, opts: argparse.Namespace
) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """`loss_of` for a sharper region: L1 on low-passed copies (sigma `opts.l1_blur`; the
    contours weighted 1 + `opts.lip_weight`), so it fixes colour and layout and leaves the fine
    detail to the GAN and to matching the Laplacian's energy (`detail_terms`, weight `opts.lap`)."""
    rgb, mask = model(x)
    out = model.blend(rgb, mask, warp)
    weight = 1 + opts.lip_weight * (F.max_pool2d(lines, 7, 1, 3) > -0.9).float()
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


def adversarial_terms(
    gan: tuple, weight: float, x, out, real, fm: float = 10.0
) -> tuple[torch.Tensor, dict]:
    """The PatchGAN's terms of the generator's loss, feature matching `fm` times the
    adversarial weight (its discriminator steps after the generator, `discriminator_step`)."""
    adversarial, matching = local_gan.g_loss(gan[0], x, out, real)
    terms = weight * adversarial + fm * weight * matching
    return terms, {"adv": adversarial.item(), "fm": matching.item()}


def discriminator_step(gan: tuple, x, out, real) -> float:
    disc, d_opt = gan
    d_total = local_gan.d_loss(disc, x, out, real)
    d_opt.zero_grad(set_to_none=True)  # drops what the generator's loss left on it
    d_total.backward()
    d_opt.step()
    return d_total.item()


@torch.no_grad()
def validate(
    region: Region, model: LocalGenerator, val: dict, sharp: bool = False, chunk: int = 256
) -> dict[str, float]:
    """Held-out box SSIM of the painters, the bare warp and the learned output, over all samples
    and those that changed more than `region.changed` px; `sharp`: also the median ratio of the
    learned (and bare warp's) box sharpness to the real's (the measure script's score)."""
    model.eval()
    scores: dict[str, list] = {"painted": [], "warp": [], "learned": []}
    ratios: dict[str, list] = {"learned": [], "warp": []}
    for s in range(0, len(val["change"]), chunk):
        idx = np.arange(s, min(s + chunk, len(val["change"])))
        x, warp, real, _ = batch(region, val, idx, augment=False)
        rgb, mask = model(x)
        learned = model.blend(rgb, mask, warp)
        scores["learned"].append(ssim(learned, real))
        scores["warp"].append(ssim(warp, real))
        scores["painted"].append(ssim(to_tensor(val["painted"][idx]), real))
        if sharp:
            base = sharpness(real).clamp_min(1e-8)
            ratios["learned"].append(sharpness(learned) / base)
            ratios["warp"].append(sharpness(warp) / base)
    model.train()
    changed = val["change"] > region.changed
    out = {}
    for k, v in scores.items():
        values = torch.cat(v).numpy()
        out[k] = float(values.mean())
        out[f"{k}_{region.changed_key}"] = float(values[changed].mean())
    for k, v in ratios.items() if sharp else ():
        values = torch.cat(v).numpy()
        out["sharp_" + k] = float(np.median(values))
        out[f"sharp_{k}_{region.changed_key}"] = float(np.median(values[changed]))
    return out


def sampler(region: Region, change: np.ndarray) -> np.ndarray:
    """Draw probabilities: 0.15 for an unchanged sample up to 1.15 from `region.full_draw` px."""
    p = 0.15 + np.minimum(change, region.full_draw) / region.full_draw
    return p / p.sum()


def best_score(region: Region, scores: dict) -> tuple[float, dict]:
    """The held-out score a checkpoint is kept by, and the metadata naming it: the learned SSIM
    where the region changed, or (`region.best_on_all`) over all samples + where it changed."""
    changed = scores[f"learned_{region.changed_key}"]
    if region.best_on_all:
        return scores["learned"] + changed, {"val_ssim": scores["learned"]}
    return changed, {f"val_ssim_{region.changed_key}": changed}


def export(region: Region, work: Path, out: Path, train: dict, step: int | None) -> None:
    """The run's best weights (or those of checkpoint `step`) to `out` (fp16), naming who they
    were trained on and held out."""
    model = LocalGenerator()
    name = f"{region.model}.safetensors" if step is None else f"weights_{step:06d}.safetensors"
    meta = load_into(model, work / name)
    extra = {
        "kind": region.model,
        "trained_on": " ".join(sorted(set(train["clip"]))),
        "held_out": " ".join(sorted(held_out_clips())),
    }
    keep: dict[str, object] = {k: v for k, v in meta.items() if k == "step" or k.startswith("val_")}
    save_module(out, model, {**keep, **extra}, dtype=torch.float16)
    print(f"wrote {out} ({out.stat().st_size} bytes) from step {meta.get('step')}")


def checkpoint(
    region: Region, work: Path, model, opt, step: int, scores: dict, best: float, gan
) -> float:
    """Save the resumable state, every checkpoint's weights (a sharper region may score a little
    lower on SSIM) and, when the held-out score is the best yet, the best weights."""
    score, meta = best_score(region, scores)
    if score > best:
        best = score
        meta = {"step": step, **meta}
        save_module(work / f"{region.model}.safetensors", model, meta, dtype=torch.float16)
    save_module(
        work / f"weights_{step:06d}.safetensors", model, {"step": step}, dtype=torch.float16
    )
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}
    if gan is not None:
        state |= {"disc": gan[0].state_dict(), "d_opt": gan[1].state_dict()}
    torch.save(state, work / "ckpt.tmp")
    (work / "ckpt.tmp").replace(work / "ckpt.pt")
    return best


def _start_from(args: argparse.Namespace, model: LocalGenerator, gan) -> int:
    """A new run's generator from `args.init` (safetensors) and, when given, its discriminator
    from another run's `ckpt.pt` (`args.init_disc`); returns the step to count from
    (`args.init_step`, else the step the weights were saved at)."""
    meta = load_into(model, args.init)
    if gan is not None and args.init_disc:
        state = torch.load(args.init_disc, weights_only=True)
        if "disc" not in state:
            raise SystemExit(f"{args.init_disc}: no 'disc' in this checkpoint")
        gan[0].load_state_dict(state["disc"])
    if args.init_step is not None:
        return int(args.init_step)
    return int(float(meta.get("step", 0)))


def train_loop(args: argparse.Namespace, region: Region, train: dict, val: dict) -> None:
    model = LocalGenerator()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    gan = None
    if args.gan > 0:
        disc = local_gan.make_disc(n_layers=args.disc_layers)
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
    elif args.init is not None:
        step = _start_from(args, model, gan)
    print(f"{sum(p.numel() for p in model.parameters())} params, from step {step}", flush=True)
    sharp = args.recipe == "sharp" or args.mesh > 0  # sharpness is logged for either
    mesh = FaceMesh() if args.mesh > 0 else None
    if step == 0:
        print(json.dumps({"step": 0, "val": validate(region, model, val, sharp)}), flush=True)
    prob, rng = sampler(region, train["change"]), np.random.default_rng(step)
    last, logs = time.time(), []
    while step < args.steps:
        idx = rng.choice(len(prob), args.batch, p=prob)
        x, warp, real, lines = batch(region, train, idx, augment=True, jitter=args.jitter)
        if args.recipe == "sharp":
            loss, parts, out = sharp_loss_of(model, x, warp, real, lines, args)
        else:
            loss, parts, out = loss_of(region, model, x, warp, real, lines)
        if mesh is not None:
            seen = mesh_feature_loss(mesh, out, real)
            loss, parts = loss + args.mesh * seen, parts | {"mesh": seen.item()}
        if gan is not None:
            terms, more = adversarial_terms(gan, args.gan, x, out, real, args.fm)
            loss, parts = loss + terms, parts | more
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if gan is not None:
            parts["d"] = discriminator_step(gan, x, out, real)
        step += 1
        logs.append(parts)
        if time.time() - last > args.every or step == args.steps:
            scores = {k: round(v, 4) for k, v in validate(region, model, val, sharp).items()}
            mean = {k: round(float(np.mean([p[k] for p in logs])), 4) for k in logs[0]}
            print(json.dumps({"step": step, "train": mean, "val": scores}), flush=True)
            best = checkpoint(region, args.work, model, opt, step, scores, best, gan)
            last, logs = time.time(), []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", choices=sorted(REGIONS), required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--jitter", action="store_true", help="colour and shift augmentation")
    ap.add_argument("--gan", type=float, default=0.0, help="local PatchGAN weight (0 = off)")
    ap.add_argument("--fm", type=float, default=10.0, help="feature matching x the GAN weight")
    ap.add_argument("--disc-layers", type=int, default=2, help="PatchGAN n_layers")
    ap.add_argument("--init", type=Path, help="a new run's generator weights (safetensors)")
    ap.add_argument("--init-step", type=int, help="the step --init counts from (default: its own)")
    ap.add_argument("--init-disc", type=Path, help="a new run's discriminator: a ckpt.pt")
    ap.add_argument(
        "--recipe", choices=("base", "sharp"), default="base", help="sharp: `sharp_loss_of`"
    )
    ap.add_argument("--l1-blur", type=float, default=1.5, help="sharp: L1's low-pass sigma")
    ap.add_argument("--lip-weight", type=float, default=0.0, help="sharp: extra L1 on contours")
    ap.add_argument("--ssim-weight", type=float, default=0.5, help="sharp: (1 - SSIM) weight")
    ap.add_argument("--edges", type=float, default=0.0, help="sharp: gradient L1 weight")
    ap.add_argument("--lap", type=float, default=0.0, help="sharp: Laplacian energy weight")
    ap.add_argument("--lap-global", type=float, default=0.1, help="sharp: its global part")
    ap.add_argument(
        "--mesh",
        type=float,
        default=0.0,
        help="weight of the face mesh's feature L1 (0 = off)",
    )
    ap.add_argument("--export", type=Path, help="write the run's best weights here and stop")
    ap.add_argument("--step", type=int, help="with --export: that checkpoint's weights instead")
    args = ap.parse_args()
    region = REGIONS[args.region]
    for given in (args.init, args.init_disc):
        if given is not None and not given.is_file():
            raise SystemExit(f"{given}: no such file")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    train, val = load_pairs(region, args.pairs, held_out_clips())
    if args.export:
        export(region, args.work, args.export, train, args.step)
        return
    print(
        f"train {len(train['change'])} samples, {len(set(train['clip']))} clips; "
        f"val {len(val['change'])} samples: {sorted(set(val['clip']))}",
        flush=True,
    )
    train_loop(args, region, train, val)


if __name__ == "__main__":
    main()
