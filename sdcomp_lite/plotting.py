"""Matplotlib figures used by the notebooks: object overlays, progressive strips, the pipeline diagram.

Every figure colours an object by its id (:func:`object_colour`), the id of the layer table, so
the same object has the same colour in every notebook. New helpers build a
:class:`matplotlib.figure.Figure` directly and never touch pyplot's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from sdcomp_lite.types import SceneObject

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sdcomp_lite.demo import ProgressiveStep

# A fixed qualitative palette (Sasha Trubetskoy's 20 distinct colours, the first ten), uint8 RGB.
PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [0, 128, 128], [170, 110, 40]], dtype=np.float64
)
BACKGROUND_COLOUR = (0.55, 0.55, 0.55)  # id 0, the background layer
LABEL_FONTSIZE = 8  # object labels in show_objects


def object_colour(object_id: int) -> tuple[float, float, float]:
    """The colour (RGB floats in [0, 1]) of an object id: id 0 (background) is grey, ids 1, 2, ...
    take the palette in turn. Every figure uses it, so one object has one colour everywhere."""
    if object_id == 0:
        return BACKGROUND_COLOUR
    red, green, blue = PALETTE[(int(object_id) - 1) % len(PALETTE)] / 255
    return (float(red), float(green), float(blue))


def object_ids(objects) -> list[int]:
    """Each object's ``object_id``; objects without one are numbered 1, 2, ... in order, as
    :func:`sdcomp_lite.types.number_objects` numbers what a grounder finds."""
    return [int(getattr(obj, "object_id", index)) for index, obj in enumerate(objects, start=1)]


def overlay_masks(image: np.ndarray, masks: list[np.ndarray], alpha: float = 0.5, ids: list[int] | None = None) -> np.ndarray:
    """Blend each mask in its object's colour over ``image`` (uint8 (H, W[, 3])); returns uint8 RGB.

    ``ids`` are the objects' ids (default 1, 2, ...), which pick the colours.
    """
    ids = list(range(1, len(masks) + 1)) if ids is None else ids
    out = (np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image).astype(np.float64)
    for object_id, mask in zip(ids, masks):
        out[mask] = (1 - alpha) * out[mask] + alpha * 255 * np.asarray(object_colour(object_id))
    return out.astype(np.uint8)


def show_objects(image: np.ndarray, objects: list[SceneObject] | tuple[SceneObject, ...], ax=None, title: str = ""):
    """Draw the image with each object's mask, box and "id: label" in the id's colour; returns the axes.

    Objects are anything with ``label``, ``box`` and ``mask`` (and ``object_id`` if they have one).
    """
    ax = ax or plt.subplots(figsize=(6, 6))[1]
    ids = object_ids(objects)
    ax.imshow(overlay_masks(image, [obj.mask for obj in objects], ids=ids))
    placed: list[tuple[float, float, float, float]] = []
    for object_id, obj in zip(ids, objects):
        colour = object_colour(object_id)
        x0, y0, x1, y1 = obj.box
        text = f"{object_id}: {obj.label}"
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))
        x, y = _free_label_position(ax, image.shape[:2], x0 + 2, y0 + 2, text, LABEL_FONTSIZE, placed)
        ax.text(x, y, text, color="white", fontsize=LABEL_FONTSIZE, va="top",
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "edgecolor": "none"})
    ax.set_title(title)
    ax.axis("off")
    return ax


def _free_label_position(ax, shape, x, y, text, fontsize, placed) -> tuple[float, float]:
    """Keep a label inside the image and move it down until it overlaps no label placed before
    (sizes estimated in image pixels from the axes' size)."""
    height, width = shape
    box = ax.get_position()  # axes size in figure fractions; the image is drawn with equal aspect
    inches = min(box.width * ax.figure.get_figwidth() / width, box.height * ax.figure.get_figheight() / height)
    pixels_per_point = 1 / (72 * inches)  # image pixels per typographic point
    line, text_width = 1.6 * fontsize * pixels_per_point, 0.62 * fontsize * len(text) * pixels_per_point
    x = max(0.0, min(x, width - text_width))

    def overlaps(y_top: float) -> bool:
        return any(x < px1 and px0 < x + text_width and y_top < py1 and py0 < y_top + line for px0, py0, px1, py1 in placed)

    while overlaps(y) and y + line < height:
        y += line
    placed.append((x, y, x + text_width, y + line))
    return x, y


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


def integer_ticks(ax: Axes, axis: str = "both") -> Axes:
    """Put ticks on whole numbers only (for histograms of integer symbols and counts); returns ``ax``."""
    if axis in ("x", "both"):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if axis in ("y", "both"):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


STAGE_FACE, STAGE_EDGE = "#eef3fb", "#3a6ea5"  # stages are not objects: one neutral colour
PIPELINE_STAGES = (
    ("image", "the photograph"),
    ("objects", "grounding:\nboxes and masks"),
    ("ranking", "importance\nfor the task"),
    ("layers", "one layer per object,\nmost important first"),
    ("prefix", "decode the first\nk layers only"),
    ("task", "the machine\nanswers"),
)


def pipeline_diagram(stages: tuple[tuple[str, str], ...] = PIPELINE_STAGES, width: float = 12.0) -> Figure:
    """The sdcomp-lite pipeline as boxes and arrows: image -> objects -> ranking -> layers -> prefix -> task.

    Each stage is (name, caption). Returns a :class:`~matplotlib.figure.Figure` (no pyplot state).
    """
    figure = Figure(figsize=(width, 2.2))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, len(stages))
    ax.set_ylim(0, 1)
    ax.axis("off")
    box_width, gap = 0.78, 0.22
    for index, (name, caption) in enumerate(stages):
        left = index + gap / 2
        ax.add_patch(FancyBboxPatch((left, 0.12), box_width, 0.76, boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor=STAGE_FACE, edgecolor=STAGE_EDGE, linewidth=2))
        ax.text(left + box_width / 2, 0.72, name, ha="center", va="center", fontsize=13, fontweight="bold")
        ax.text(left + box_width / 2, 0.38, caption, ha="center", va="center", fontsize=9, linespacing=1.3)
        if index + 1 < len(stages):
            ax.add_patch(FancyArrowPatch((left + box_width, 0.5), (left + box_width + gap, 0.5),
                                         arrowstyle="-|>", mutation_scale=16, color="0.3", linewidth=1.5))
    return figure
