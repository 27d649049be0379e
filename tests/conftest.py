"""Shared fixtures: small synthetic images and objects, and the sample data."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from sdcomp_lite.types import SceneObject

SHARED_COCO7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco7"


def make_scene(height: int = 40, width: int = 56, seed: int = 0) -> tuple[np.ndarray, list[SceneObject]]:
    """A smooth random image with two overlapping objects (a disc and a rectangle)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[:height, :width]
    base = np.stack([xs * 3.0, ys * 4.0, (xs + ys) * 2.0], axis=2) + rng.normal(0, 8, (height, width, 3))
    image = np.clip(base, 0, 255).astype(np.uint8)
    disc = (ys - height * 0.4) ** 2 + (xs - width * 0.4) ** 2 < (min(height, width) * 0.3) ** 2
    rect = np.zeros((height, width), dtype=bool)
    rect[height // 2 :, width // 2 :] = True
    objects = [
        SceneObject(7, "disc", (0, 0, width, height), disc, importance=0.9),
        SceneObject(3, "rectangle", (width // 2, height // 2, width, height), rect, importance=0.5),
    ]
    return image, objects


@pytest.fixture
def scene():
    return make_scene()


@pytest.fixture
def coco7_dir() -> Path:
    if not (SHARED_COCO7 / "annotations.jsonl").is_file():
        pytest.skip(f"shared COCO data not found at {SHARED_COCO7} (only present inside the project workspace)")
    return SHARED_COCO7


@pytest.fixture(autouse=True)
def _quiet_third_party_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


os.environ.setdefault("HF_HUB_OFFLINE", "1")
