"""sdcomp-lite's own small learned codecs: trained on a CPU, shipped as checkpoints, loaded by name.

CompressAI's zoo downloads its weights; these are in the package (``coding/weights/``), so a
learned layer coder runs offline. They are teaching-sized: a ``FactorizedPrior`` (Ballé et al.
2017/2018: analysis transform ``g_a``, one factorized entropy bottleneck, synthesis transform
``g_s``) with few channels, trained for a few minutes on random patches of the four photographs
in ``data/images/`` at three Lagrangians lambda (L = R + lambda * 255^2 * MSE, CompressAI's
convention). Four photographs are a tiny training set: expect a working codec that loses to AVIF,
not a competitive one (``benchmarks/results/learned_rd.md`` measures by how much, also on
held-out COCO photographs).

Pieces, each usable alone (the training script ``benchmarks/train_learned.py`` and notebook 07 use
them, so both train the same way):

* :func:`patch_batch`: a batch of random crops with random flips (augmentation), from a seeded generator;
* :func:`rate_distortion_loss`: CompressAI's ``RateDistortionLoss`` (bits per pixel + lambda * 255^2 * MSE);
* :func:`train`: Adam on the model, a second Adam on the entropy bottleneck's quantiles (the aux loss);
* :func:`save_checkpoint` / :func:`load_learned`: checkpoints listed in ``weights/manifest.json`` with sha256.

Use one as a layer coder::

    from sdcomp_lite.coding.learned import CompressAITransform
    model = load_learned(0.013)                      # or "factorized-lambda0.0130"
    encode(image, objects, transform=CompressAITransform(model, "sdcomp-factorized-lambda0.0130"))

Taught in notebooks/07_learned_coding.ipynb.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sdcomp_lite.errors import BackendUnavailableError, DataFileError, InvalidParameterError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = "manifest.json"


def architectures() -> dict[str, type]:
    """Architecture name -> CompressAI model class (imported on first use)."""
    with warnings.catch_warnings():  # CompressAI 1.2.8 calls torch.jit.script, deprecated in torch 2.14
        warnings.simplefilter("ignore", FutureWarning)
        from compressai.models import FactorizedPrior, ScaleHyperprior
    return {"factorized": FactorizedPrior, "hyperprior": ScaleHyperprior}


def build_model(architecture: str, n: int, m: int) -> torch.nn.Module:
    """A fresh (untrained) model: ``n`` channels inside the transforms, ``m`` latent channels."""
    table = architectures()
    if architecture not in table:
        raise InvalidParameterError(f"unknown architecture {architecture!r}; choose one of {sorted(table)}.")
    return table[architecture](n, m)


# --- training pieces -------------------------------------------------------------------------------


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 tensor (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(image, np.uint8)).permute(2, 0, 1).float() / 255.0


def whole_image_round_trip(model: torch.nn.Module, image: np.ndarray) -> tuple[int, np.ndarray]:
    """Code ``image`` (uint8 (H, W, 3)) with ``model.compress`` / ``decompress``: (bytes of its strings, decoded
    uint8 (H, W, 3)). The image is padded (edge) to a multiple of the model's downsampling factor."""
    stride = model.downsampling_factor
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, -height % stride), (0, -width % stride), (0, 0)), mode="edge")
    with torch.no_grad():
        out = model.compress(image_tensor(padded)[None])
        x_hat = model.decompress(out["strings"], out["shape"])["x_hat"]
    decoded = np.rint(x_hat[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)[:height, :width]
    return sum(len(s[0]) for s in out["strings"]), decoded


def patch_batch(images: Sequence[torch.Tensor], size: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """``batch`` random ``size`` x ``size`` crops of ``images`` (each (3, H, W)), each flipped left-right
    and up-down with probability 1/2: float32 (batch, 3, size, size). Deterministic given ``generator``."""
    crops = []
    for _ in range(batch):
        image = images[int(torch.randint(len(images), (1,), generator=generator))]
        height, width = image.shape[1:]
        if height < size or width < size:
            raise InvalidParameterError(f"patch size {size} is larger than an image of {width} x {height}; use a smaller patch.")
        y = int(torch.randint(height - size + 1, (1,), generator=generator))
        x = int(torch.randint(width - size + 1, (1,), generator=generator))
        crop = image[:, y : y + size, x : x + size]
        flips = torch.rand(2, generator=generator)
        if flips[0] < 0.5:
            crop = crop.flip(2)
        if flips[1] < 0.5:
            crop = crop.flip(1)
        crops.append(crop)
    return torch.stack(crops)


def rate_distortion_loss(output: dict, target: torch.Tensor, lmbda: float) -> dict[str, torch.Tensor]:
    """CompressAI's ``RateDistortionLoss`` (MSE): ``bpp + lmbda * 255^2 * mse``, all per pixel of ``target``.

    ``output`` is the model's forward output (``x_hat`` and ``likelihoods``); the rate is the total
    information content -log2 p of every latent, divided by the pixels of the batch.
    """
    pixels = target.shape[0] * target.shape[2] * target.shape[3]
    bpp = sum(torch.log2(p).sum() for p in output["likelihoods"].values()) / -pixels
    mse = torch.nn.functional.mse_loss(output["x_hat"], target)
    return {"loss": bpp + lmbda * 255**2 * mse, "bpp": bpp, "mse": mse}


@dataclass(frozen=True)
class TrainLog:
    """What :func:`train` measured, one value per step: loss, bpp (bits per pixel), PSNR (dB) and aux loss."""

    loss: tuple[float, ...]
    bpp: tuple[float, ...]
    psnr: tuple[float, ...]
    aux: tuple[float, ...]


def train(
    model: torch.nn.Module,
    images: Sequence[torch.Tensor],
    lmbda: float,
    steps: int,
    patch: int = 64,
    batch: int = 8,
    seed: int = 0,
    lr: float = 1e-3,
) -> TrainLog:
    """Train ``model`` in place for ``steps`` steps on random patches of ``images`` (each (3, H, W) in [0, 1]).

    Two optimisers, as in CompressAI's ``examples/train.py``: Adam on every parameter but the
    entropy bottleneck's ``quantiles`` for the rate-distortion loss, and Adam on the quantiles for
    the aux loss (it places the CDF's tails, which ``model.update()`` needs to build the coding
    tables). Gradients are clipped to norm 1. The batch order comes from a local generator
    seeded with ``seed``; the model's initial weights come from the caller (seed torch before
    building it). Call ``model.update(force=True)`` before coding with the trained model.
    """
    if steps < 1 or patch < 16 or batch < 1:
        raise InvalidParameterError("train needs steps >= 1, patch >= 16 and batch >= 1.")
    generator = torch.Generator().manual_seed(seed)
    named = dict(model.named_parameters())
    main = [p for name, p in named.items() if not name.endswith(".quantiles")]
    aux_params = [p for name, p in named.items() if name.endswith(".quantiles")]
    optimizer = torch.optim.Adam(main, lr=lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=lr)
    log: dict[str, list[float]] = {"loss": [], "bpp": [], "psnr": [], "aux": []}
    model.train()
    for _ in range(steps):
        x = patch_batch(images, patch, batch, generator)
        optimizer.zero_grad()
        aux_optimizer.zero_grad()
        terms = rate_distortion_loss(model(x), x, lmbda)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        optimizer.step()
        aux = model.aux_loss()
        aux.backward()
        aux_optimizer.step()
        values = {key: float(value.detach()) for key, value in terms.items()}
        log["loss"].append(values["loss"])
        log["bpp"].append(values["bpp"])
        log["psnr"].append(10 * math.log10(1.0 / max(values["mse"], 1e-12)))
        log["aux"].append(float(aux.detach()))
    model.eval()
    return TrainLog(**{key: tuple(values) for key, values in log.items()})


# --- checkpoints -----------------------------------------------------------------------------------


def checkpoint_name(architecture: str, lmbda: float) -> str:
    """The name of a checkpoint, e.g. ``"factorized-lambda0.0130"`` (its file adds ``learned-`` and ``.pt``)."""
    return f"{architecture}-lambda{lmbda:.4f}"


def save_checkpoint(model: torch.nn.Module, architecture: str, n: int, m: int, lmbda: float, info: dict,
                    folder: Path = WEIGHTS_DIR) -> dict:
    """Write ``learned-<name>.pt`` into ``folder`` and its entry into ``folder/manifest.json``.

    Float weights are stored as float16 (half the size). The model is rounded to float16 first and
    ``model.update(force=True)`` then builds the coding tables from exactly the weights that are
    stored, so a loaded model codes bit-identically to the saved one. ``info`` (steps, patch size,
    seed, time, final loss ...) goes into the manifest entry, which is returned.
    """
    round_to_half(model)
    state = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
    name = checkpoint_name(architecture, lmbda)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"learned-{name}.pt"
    torch.save(state, path)
    entry = {"file": path.name, "architecture": architecture, "N": n, "M": m, "lambda": lmbda, **info,
             "bytes": path.stat().st_size, "sha256": _sha256(path)}
    manifest = _read_manifest(folder) if (folder / MANIFEST).exists() else {}
    manifest[name] = entry
    (folder / MANIFEST).write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    return entry


def round_to_half(model: torch.nn.Module) -> torch.nn.Module:
    """Round every float weight to float16 precision (kept as float32), then rebuild the coding tables."""
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    model.update(force=True)
    return model


def available_learned(folder: Path = WEIGHTS_DIR) -> dict[str, dict]:
    """The committed checkpoints: name -> manifest entry (architecture, N, M, lambda, steps, sha256, ...)."""
    return _read_manifest(folder)


def load_learned(name_or_lambda: str | float, folder: Path = WEIGHTS_DIR) -> torch.nn.Module:
    """The trained model called ``name_or_lambda`` (e.g. ``"factorized-lambda0.0130"``, or the lambda
    ``0.013``), in eval mode with its coding tables built, ready for ``compress`` / ``decompress``.

    Raises :class:`~sdcomp_lite.errors.BackendUnavailableError` if the name is unknown or the file
    is missing, and :class:`~sdcomp_lite.errors.DataFileError` if its sha256 does not match the
    manifest or it does not load.
    """
    manifest = _read_manifest(folder)
    name = _resolve(name_or_lambda, manifest)
    entry = manifest[name]
    path = folder / entry["file"]
    if not path.is_file():
        raise BackendUnavailableError(
            f"checkpoint {path} is missing; reinstall sdcomp-lite or retrain it with benchmarks/train_learned.py.")
    if _sha256(path) != entry["sha256"]:
        raise DataFileError(
            f"checkpoint {path} is corrupt: its sha256 does not match {MANIFEST}; restore it from the repository "
            "(git checkout) or retrain it with benchmarks/train_learned.py.")
    model = build_model(entry["architecture"], entry["N"], entry["M"])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict({key: value.float() if value.is_floating_point() else value for key, value in state.items()})
    except (RuntimeError, KeyError, AttributeError, OSError) as error:
        raise DataFileError(f"checkpoint {path} does not load into {entry['architecture']}({entry['N']}, {entry['M']}): "
                            f"{error}; retrain it with benchmarks/train_learned.py.") from error
    return model.eval()


def _resolve(name_or_lambda: str | float, manifest: dict[str, dict]) -> str:
    if isinstance(name_or_lambda, str):
        name = name_or_lambda.removeprefix("learned-").removesuffix(".pt")
        if name in manifest:
            return name
    elif isinstance(name_or_lambda, (int, float)) and not isinstance(name_or_lambda, bool):
        matches = [key for key, entry in manifest.items() if math.isclose(entry["lambda"], float(name_or_lambda))]
        if len(matches) == 1:
            return matches[0]
    raise BackendUnavailableError(
        f"no learned checkpoint {name_or_lambda!r}; choose a name or a lambda of: "
        + ", ".join(f"{key} (lambda {entry['lambda']})" for key, entry in manifest.items()))


def _read_manifest(folder: Path) -> dict[str, dict]:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise BackendUnavailableError(
            f"no {MANIFEST} in {folder}; train checkpoints with benchmarks/train_learned.py.") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFileError(f"{path} is not valid JSON ({error}); restore it from the repository.") from error
    entries = manifest.values() if isinstance(manifest, dict) else [None]
    if not all(isinstance(e, dict) and {"file", "sha256"} <= e.keys() for e in entries):
        raise DataFileError(f"{path} must map names to entries with 'file' and 'sha256'; restore it from the repository.")
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
