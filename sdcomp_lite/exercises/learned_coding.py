"""Exercises of notebooks/07_learned_coding.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require


def solution_bits_per_pixel(likelihoods, image_shape):
    """The rate term of the loss: -log2 of every latent's likelihood, summed, per pixel of the batch.

    ``likelihoods``: the model's ``out["likelihoods"]`` (a dict of tensors); ``image_shape``: (N, 3, H, W).
    """
    batch, _, height, width = image_shape
    bits = sum(-torch.log2(p).sum() for p in likelihoods.values())
    return float(bits) / (batch * height * width)


def check_bits_per_pixel(bits_per_pixel) -> None:
    """``bits_per_pixel(likelihoods, image_shape)`` must match the library's rate term within 1e-4."""
    from sdcomp_lite.coding.learned_zoo import build_model, rate_distortion_loss

    if _placeholder(bits_per_pixel, lambda f: f({"y": torch.full((1, 1, 2, 2), 0.5)}, (1, 3, 32, 32))):
        return _not_attempted("bits_per_pixel(likelihoods, image_shape) equal to the loss's rate term.")
    with torch.random.fork_rng(devices=[]):  # seeded models, the caller's generator untouched
        torch.manual_seed(0)
        models = {"factorized": build_model("factorized", 8, 8), "hyperprior": build_model("hyperprior", 8, 8)}
    generator = torch.Generator().manual_seed(1)
    for name, model in models.items():
        for shape in ((1, 3, 64, 64), (3, 3, 64, 128)):
            x = torch.rand(shape, generator=generator)
            with torch.no_grad():
                out = model(x)
            expected = float(rate_distortion_loss(out, x, 0.01)["bpp"])
            got = _call(bits_per_pixel, out["likelihoods"], tuple(x.shape))
            _require(isinstance(got, (int, float, np.floating)) or (torch.is_tensor(got) and got.numel() == 1),
                     f"return one number (bits per pixel); got {type(got).__name__}.")
            _require(math.isclose(float(got), expected, rel_tol=1e-4),
                     f"{name} on a batch of shape {shape}: you say {float(got):.4f} bpp, the loss's rate term is "
                     f"{expected:.4f}. Sum -log2 p over every tensor in the dict (the hyperprior has two: y and z), "
                     "then divide by the pixels of the whole batch (N * H * W, not the channels).")
    _correct("your rate matches the loss's rate term, with and without the hyperprior's side information.")


def solution_best_checkpoint(points, lmbda):
    """The checkpoint that minimises R + lambda * 255^2 * MSE, from ``points``: name -> (bpp, MSE)."""
    return min(points, key=lambda name: points[name][0] + lmbda * 255**2 * points[name][1])


def check_best_checkpoint(best_checkpoint, points) -> None:
    """``best_checkpoint(points, lmbda)``: the name with the least Lagrangian cost, for several lambdas."""
    if _placeholder(best_checkpoint, lambda f: f(points, 0.013)):
        return _not_attempted("best_checkpoint(points, lmbda): the name whose R + lambda * 255^2 * MSE is least.")
    chosen = {}
    for lmbda in (0.0001, 0.001, 0.0035, 0.013, 0.0483, 0.2, 1.0):
        expected = solution_best_checkpoint(points, lmbda)
        got = _call(best_checkpoint, points, lmbda)
        _require(got == expected,
                 f"at lambda = {lmbda} you choose {got!r}; cost = bpp + lambda * 255**2 * MSE is least for {expected!r}. "
                 "MSE here is on pixels in [0, 1], as in training.")
        chosen[lmbda] = got
    picked = sorted(set(chosen.values()), key=list(chosen.values()).index)
    _correct(f"as lambda grows from 0.0001 to 1 the choice moves from {picked[0]!r} to {picked[-1]!r}: "
             "a larger lambda buys quality with bits.")
