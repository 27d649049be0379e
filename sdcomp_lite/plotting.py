"""Matplotlib figures used by the notebooks: object overlays and progressive decoding strips."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from sdcomp_lite.types import SceneObject

if TYPE_CHECKING:
    from sdcomp_lite.demo import ProgressiveStep

PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [0, 128, 128], [170, 110, 40]], dtype=np.float64
)


def overlay_masks(image: np.ndarray, masks: list[np.ndarray], alpha: float = 0.5) -> np.ndarray:
    """Blend each mask in its own colour over ``image`` (uint8 (H, W[, 3])); returns uint8 RGB."""
    out = (np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image).astype(np.float64)
    for index, mask in enumerate(masks):
        out[mask] = (1 - alpha) * out[mask] + alpha * PALETTE[index % len(PALETTE)]
    return out.astype(np.uint8)


def show_objects(image: np.ndarray, objects: list[SceneObject] | tuple[SceneObject, ...], ax=None, title: str = ""):
    """Draw the image with each object's mask, box and label; returns the axes."""
    ax = ax or plt.subplots(figsize=(6, 6))[1]
    ax.imshow(overlay_masks(image, [obj.mask for obj in objects]))
    for index, obj in enumerate(objects):
        colour = PALETTE[index % len(PALETTE)] / 255
        x0, y0, x1, y1 = obj.box
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))
        ax.text(x0 + 2, y0 + 2, f"{index}: {obj.label}", color="white", fontsize=8, va="top",
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "edgecolor": "none"})
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_progressive(steps: list[ProgressiveStep], columns: int = 3, size: float = 3.2):
    """A grid of decoded prefixes, each titled with its last layer and its rate; returns the figure."""
    rows = -(-len(steps) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, step in zip(axes.ravel(), steps):
        ax.imshow(step.decoded.image, cmap="gray" if step.decoded.image.ndim == 2 else None)
        ax.set_title(f"{step.layers} layer(s): +{step.label}\n{step.num_bytes} B, {step.bpp:.3f} bpp", fontsize=9)
    figure.tight_layout()
    return figure
