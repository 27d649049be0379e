"""Train sdcomp-lite's small learned codecs on a CPU and write their checkpoints and manifest.

A CompressAI ``FactorizedPrior(N, M)`` (default N = M = 32, about 167k parameters) is trained on
random patches of the four photographs in ``data/images/`` (random crops, random flips: the whole
training set is four photographs, so this is a teaching-sized codec, not a competitive one), once
per lambda, with the same seed. Each run is deterministic on one machine (a seeded local
``torch.Generator`` for the patches, ``torch.manual_seed`` before the model is built, ``--threads``
torch threads: 2 by default; the committed checkpoints used 1 each, three trained side by side on a busy
shared 2-core machine, about 13 minutes of wall time each for 1,500 steps, as the manifest records).

Writes ``sdcomp_lite/coding/weights/learned-<arch>-lambda<lambda>.pt`` (float16 weights plus the
coding tables) and its entry in ``sdcomp_lite/coding/weights/manifest.json``: architecture, N, M,
lambda, steps, patch size, batch, seed, learning rate, training time, the final loss (mean of the
last 100 steps) and the bpp / PSNR of the saved model, actually coded, on the four photographs,
and the file's sha256. ``benchmarks/results/learned_rd.md`` measures them against JPEG and AVIF,
also on held-out COCO photographs.

Run from the repository root:  python benchmarks/train_learned.py [--lambdas 0.0035 0.013 0.0483] [--steps 1500] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sdcomp_lite.coding.learned_zoo import (
    WEIGHTS_DIR,
    build_model,
    image_tensor,
    round_to_half,
    save_checkpoint,
    train,
    whole_image_round_trip,
)
from sdcomp_lite.metrics import psnr

DATA = Path(__file__).resolve().parents[1] / "data" / "images"
LAMBDAS = (0.0035, 0.013, 0.0483)  # CompressAI's bmshj2018 qualities 2, 4 and 6


def load_images(folder: Path = DATA) -> list[np.ndarray]:
    """The training photographs, uint8 (H, W, 3), in name order."""
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("*.png"))]


def code_image(model: torch.nn.Module, image: np.ndarray) -> tuple[float, float]:
    """Code ``image`` (uint8 (H, W, 3)) with ``model.compress`` / ``decompress``: (bits per pixel, PSNR dB).

    The image is padded (edge) to a multiple of the model's downsampling factor; the rate counts
    every string's bytes, and the PSNR is measured on the original pixels only.
    """
    nbytes, decoded = whole_image_round_trip(model, image)
    return 8 * nbytes / (image.shape[0] * image.shape[1]), psnr(image, decoded)


def train_one(architecture: str, n: int, m: int, lmbda: float, steps: int, patch: int, batch: int, seed: int,
              lr: float, folder: Path, threads: int) -> dict:
    """Train one model from ``seed`` and save it; returns its manifest entry."""
    images = load_images()
    tensors = [image_tensor(image) for image in images]
    torch.manual_seed(seed)
    model = build_model(architecture, n, m)
    start = time.perf_counter()
    first = train(model, tensors, lmbda, steps - steps // 5, patch, batch, seed, lr)
    second = train(model, tensors, lmbda, steps // 5, patch, batch, seed + 1, lr / 10)  # a short lower-rate tail
    seconds = time.perf_counter() - start
    losses = first.loss + second.loss
    round_to_half(model)  # what save_checkpoint stores; measured below as saved
    coded = [code_image(model, image) for image in images]
    info = {"steps": steps, "patch": patch, "batch": batch, "seed": seed, "lr": lr, "threads": threads,
            "train_seconds": round(seconds, 1), "torch": torch.__version__,
            "final_loss": round(float(np.mean(losses[-100:])), 4), "first_loss": round(losses[0], 4),
            "training_set": "data/images/*.png (4 photographs, random crops and flips)",
            "data_bpp": round(float(np.mean([c[0] for c in coded])), 4),
            "data_psnr": round(float(np.mean([c[1] for c in coded])), 2)}
    return save_checkpoint(model, architecture, n, m, lmbda, info, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="factorized", choices=("factorized", "hyperprior"))
    parser.add_argument("--N", type=int, default=32, help="channels inside the transforms")
    parser.add_argument("--M", type=int, default=32, help="latent channels")
    parser.add_argument("--lambdas", type=float, nargs="+", default=LAMBDAS)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=FutureWarning)  # CompressAI 1.2.8's torch.jit.script
    for lmbda in args.lambdas:
        entry = train_one(args.arch, args.N, args.M, lmbda, args.steps, args.patch, args.batch, args.seed, args.lr, args.out,
                          args.threads)
        print(f"{entry['file']}: {entry['bytes'] / 1024:.0f} KiB, {entry['train_seconds']:.0f} s, loss "
              f"{entry['first_loss']:.1f} -> {entry['final_loss']:.3f}; on data/: {entry['data_bpp']:.3f} bpp, "
              f"{entry['data_psnr']:.2f} dB" + ("" if math.isfinite(entry["data_psnr"]) else " (!)"))


if __name__ == "__main__":
    main()
