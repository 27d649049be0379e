"""The tiny-model builders seed their own initialisation and leave the caller's torch generator alone."""

from __future__ import annotations

import torch

from sdcomp_lite.tiny_models import tiny_compressai_model


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_tiny_model_is_the_same_every_time():
    first, second = _weights(tiny_compressai_model()), _weights(tiny_compressai_model())
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_building_a_tiny_model_does_not_reseed_the_global_generator():
    torch.manual_seed(1234)
    expected = torch.rand(4)
    torch.manual_seed(1234)
    tiny_compressai_model()
    assert torch.equal(torch.rand(4), expected)
