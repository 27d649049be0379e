"""Matplotlib figures used by the notebooks: object overlays, progressive strips, coverage and task
curves, object-scalable against SNR-progressive decoding, time to answer, the pipeline diagram.

Colours follow object identity, never position in a list. An object's identity is its
``object_id``: a grounder numbers what it finds once (1, 2, ...), and the id then travels with the
object through the ranking, the layer table and every decoded prefix, so :func:`object_colour`
gives one object one colour in every figure of every notebook, whatever order a list puts it in.
Reference objects (annotations) drawn beside found ones have ids of their own, so
``show_objects(..., reference=True)`` draws them in one neutral style instead of borrowing the found
objects' colours. Codecs have their own palette (:func:`codec_colour`), never an object's colour.
New helpers build a :class:`matplotlib.figure.Figure` directly and never touch pyplot's state.

Taught in every notebook; the pipeline diagram in notebooks/00_quickstart.ipynb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from sdcomp_lite.coding.layer_table import layer_name
from sdcomp_lite.evaluation.results import OURS
from sdcomp_lite.types import SceneObject

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sdcomp_lite.coding.progressive import ProgressiveStep

# The object palette: Sasha Trubetskoy's 20 distinct colours without white, black and grey
# (those are the background's, the preview's and the reference's), uint8 RGB. Ids 1..18 get
# distinct colours; a sample with more objects reuses them (id 19 looks like id 1).
PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
     [240, 50, 230], [210, 245, 60], [0, 128, 128], [170, 110, 40], [128, 0, 0], [0, 0, 128],
     [128, 128, 0], [255, 225, 25], [250, 190, 212], [220, 190, 255], [170, 255, 195], [255, 215, 180]],
    dtype=np.float64,
)
# The codec palette: codecs and anchors in comparisons, never objects. Paul Tol's "muted" scheme, then
# colours of his other schemes, each the farthest from those before it, so that a sweep's 9 anchors and its
# rankers' families each have one (evaluation/figures.py). Every colour is at least 50 (of 255, RGB distance)
# from every object colour and from the layers' greys and white (tests/test_plotting.py, tests/test_report.py).
CODEC_PALETTE = ("#332288", "#117733", "#44aa99", "#88ccee", "#ddcc77", "#cc6677", "#aa4499", "#882255",
                 "#aaaa00", "#cc3311", "#33bbee", "#666633", "#9b8ac4", "#ee99aa", "#a50026", "#004488")
BACKGROUND_COLOUR = (0.55, 0.55, 0.55)  # id 0, the background layer
PREVIEW_COLOUR = (0.8, 0.8, 0.8)  # the preview layer (also id 0 in the table)
REFERENCE_COLOUR = (1.0, 1.0, 1.0)  # reference objects (annotations) beside found ones: white, dashed
LABEL_FONTSIZE = 8  # object labels in show_objects


def object_colour(object_id: int) -> tuple[float, float, float]:
    """The colour (RGB floats in [0, 1]) of an object's identity, its id: id 0 (background) is grey,
    ids 1, 2, ... take the palette in turn. The id travels with the object through ranking, layers
    and prefixes, so one object has one colour in every figure."""
    if object_id == 0:
        return BACKGROUND_COLOUR
    red, green, blue = PALETTE[(int(object_id) - 1) % len(PALETTE)] / 255
    return (float(red), float(green), float(blue))


def codec_colour(name: str, names: list[str] | tuple[str, ...] | None = None) -> str:
    """The colour (hex) of a codec in a comparison: its place in ``names`` (the codecs of the figure,
    in a fixed order), else a stable checksum of the name, into :data:`CODEC_PALETTE`. Never an
    object's colour."""
    from zlib import crc32

    index = list(names).index(name) if names is not None and name in names else crc32(name.encode("utf-8"))
    return CODEC_PALETTE[index % len(CODEC_PALETTE)]


def text_colour(colour) -> str:
    """Black or white, whichever reads better on ``colour`` (RGB floats in [0, 1])."""
    red, green, blue = colour[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "white"


def object_ids(objects) -> list[int]:
    """Each object's ``object_id`` (its identity, which picks its colour).

    Raises InvalidObjectError for an object without one: colouring by position in the list would
    give the same object another colour in another figure. Number them with
    :func:`sdcomp_lite.types.number_objects`."""
    from sdcomp_lite.errors import InvalidObjectError

    missing = [index for index, obj in enumerate(objects) if not isinstance(getattr(obj, "object_id", None), (int, np.integer))]
    if missing:
        raise InvalidObjectError(f"objects at positions {missing[:5]} have no integer object_id; colours follow ids, "
                                 "so number them first (sdcomp_lite.types.number_objects).")
    return [int(obj.object_id) for obj in objects]


def overlay_masks(image: np.ndarray, masks: list[np.ndarray], ids: list[int], alpha: float = 0.5) -> np.ndarray:
    """Blend each mask in its object's colour over ``image`` (uint8 (H, W[, 3])); returns uint8 RGB.

    ``ids`` are the objects' ids, one per mask, which pick the colours (never the position).
    """
    if len(ids) != len(masks):
        from sdcomp_lite.errors import InvalidParameterError

        raise InvalidParameterError(f"give one id per mask: {len(masks)} masks, {len(ids)} ids.")
    out = (np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image).astype(np.float64)
    for object_id, mask in zip(ids, masks):
        out[mask] = (1 - alpha) * out[mask] + alpha * 255 * np.asarray(object_colour(object_id))
    return out.astype(np.uint8)


def show_objects(image: np.ndarray, objects: list[SceneObject] | tuple[SceneObject, ...], ax=None, title: str = "",
                 reference: bool = False):
    """Draw the image with each object's mask, box and "id: label" in its id's colour; returns the axes.

    Objects are anything with ``object_id``, ``label``, ``box`` and ``mask``. ``reference=True``
    draws them as a reference (annotations beside found objects): no masks, white dashed boxes,
    labels "ref: label", so a reference id never lends a found object's colour to another object.
    """
    ax = ax or plt.subplots(figsize=(6, 6))[1]
    ids = object_ids(objects)
    ax.imshow(image if reference else overlay_masks(image, [obj.mask for obj in objects], ids=ids),
              cmap="gray" if image.ndim == 2 else None)
    placed: list[tuple[float, float, float, float]] = []
    for object_id, obj in zip(ids, objects):
        colour = REFERENCE_COLOUR if reference else object_colour(object_id)
        x0, y0, x1, y1 = obj.box
        text = f"ref: {obj.label}" if reference else f"{object_id}: {obj.label}"
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5,
                               linestyle="--" if reference else "-"))
        x, y = _free_label_position(ax, image.shape[:2], x0 + 2, y0 + 2, text, LABEL_FONTSIZE, placed)
        ax.text(x, y, text, color=text_colour(colour), fontsize=LABEL_FONTSIZE, va="top",
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


def layer_colour(kind: str, object_id: int) -> tuple[float, float, float]:
    """The colour of a layer-table row: an object layer takes its object's colour, the background
    grey (id 0), the preview a lighter grey."""
    return PREVIEW_COLOUR if kind == "preview" else object_colour(object_id)


def step_title(step: ProgressiveStep) -> str:
    """Two lines naming a prefix: its layers and last layer (with the object's id), then its bytes."""
    return f"{step.caption}\n{step.num_bytes:,} B, {step.bpp:.3f} bpp"


def frame_panel(ax: Axes, colour) -> None:
    """A coloured frame around an image panel (ticks off, spines kept)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(3)


def show_progressive(steps: list[ProgressiveStep], columns: int = 3, size: float = 3.2):
    """A grid of decoded prefixes, each titled with its last layer and its rate and framed in the last
    layer's colour (:func:`layer_colour`); returns the (pyplot) figure."""
    rows = -(-len(steps) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, step in zip(axes.ravel(), steps):
        ax.axis("on")
        ax.imshow(step.decoded.image, cmap="gray" if step.decoded.image.ndim == 2 else None)
        ax.set_title(step_title(step), fontsize=9)
        frame_panel(ax, layer_colour(step.kind, step.object_id))
    figure.tight_layout()
    return figure


def progressive_strip(steps: list[ProgressiveStep], size: float = 2.4) -> Figure:
    """The README strip: one panel per prefix that changes the picture (:func:`~sdcomp_lite.demo.changed_steps`),
    each titled with its layers and bytes; a footnote names the layers left out. Returns a Figure."""
    from sdcomp_lite.coding.progressive import changed_steps

    shown = changed_steps(steps)
    skipped = [s for s in steps if s not in shown]
    figure = Figure(figsize=(size * len(shown), size + 0.9))
    for index, step in enumerate(shown):
        ax = figure.add_subplot(1, len(shown), index + 1)
        ax.imshow(step.decoded.image, cmap="gray" if step.decoded.image.ndim == 2 else None)
        ax.set_title(f"{step.caption}\n{step.num_bytes:,} bytes", fontsize=9)
        frame_panel(ax, layer_colour(step.kind, step.object_id))
    note = "Pixels no object or background layer has reached yet show the upsampled preview (the first layer)."
    if skipped:
        note += " Not shown, as they change no pixel: " + ", ".join(s.caption for s in skipped) + "."
    figure.text(0.5, 0.03, note, ha="center", va="bottom", fontsize=8, color="0.3")
    figure.subplots_adjust(left=0.01, right=0.99, top=0.8, bottom=0.12, wspace=0.05)
    return figure


def show_coverage(steps: list[ProgressiveStep], ax: Axes | None = None) -> Axes:
    """Pixels decoded against bytes read: a step curve whose part for each layer (the bytes it costs,
    then the pixels it adds) is drawn in the layer's colour, named in a legend as in the layer table
    (no labels on the curve, so none can overlap). Returns the axes."""
    ax = ax or plt.subplots(figsize=(9, 3.6))[1]
    start_bytes, start_cover = 0.0, 0.0
    for step in steps:
        colour, end_bytes, end_cover = layer_colour(step.kind, step.object_id), step.num_bytes / 1000, 100 * step.coverage
        name = layer_name(step.kind, step.object_id, step.label)
        cost = f"{end_bytes - start_bytes:.2f} kB" + (", with the header and table" if step.layers == 1 else "")
        ax.plot([start_bytes, end_bytes, end_bytes], [start_cover, start_cover, end_cover], "-", color=colour, linewidth=3,
                solid_capstyle="butt", label=f"layer {step.layers - 1}: {name} ({cost})")
        ax.plot([end_bytes], [end_cover], "o", color=colour, markeredgecolor="black", markersize=6)
        start_bytes, start_cover = end_bytes, end_cover
    ax.set_xlabel("kilobytes read from the start of the file")
    ax.set_ylabel("pixels decoded (%)")
    ax.set_ylim(-3, 103)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="layer table row (its bytes)", title_fontsize=8)
    return ax


# Readable names of the tasks' headline metrics (the keys of Task.score()) and their ranges.
METRIC_LABELS = {
    ("person-segmentation", "miou"): "person mask IoU",
    ("face-detection", "ap50"): "face box AP50",
    ("face-detection", "recall50"): "face recall (box IoU >= 0.5)",
    ("instance-segmentation", "ap50"): "object box AP50",
    ("instance-segmentation", "mask_iou"): "object mask IoU",
    ("pose", "pck"): "pose keypoints PCK",
    ("detection", "ap50"): "COCO box AP50",
    ("detection", "ap"): "COCO box AP[.5:.95]",
    ("classification", "top1"): "top-1 agreement",
    ("classification", "top5"): "top-5 agreement",
    ("captioning", "caption_similarity"): "caption similarity",
    ("vqa", "accuracy"): "VQA answer accuracy",
}
METRIC_RANGE = (0.0, 1.0)  # every headline metric above is a fraction


def metric_label(task: str, metric: str) -> str:
    """A readable axis label for ``task``'s ``metric`` (e.g. "person mask IoU"; "chair box AP50" for
    ``detection:chair``'s ``ap50_named``), else "task: metric"."""
    if task.startswith("detection:") and metric in ("ap50_named", "ap_named"):
        classes = task[len("detection:"):].replace("+", ", ")
        return f"{classes} box {'AP50' if metric == 'ap50_named' else 'AP[.5:.95]'}"
    return METRIC_LABELS.get((task, metric), f"{task.replace('-', ' ')}: {metric}")


def show_task_scores(ax: Axes, series: dict[str, list[tuple[int, float]]], task: str, metric: str,
                     styles: dict[str, str] | None = None) -> Axes:
    """Task score against kilobytes read, one step curve per series of (bytes, score) prefixes (a
    receiver keeps the last prefix's score until the next one is complete), on the metric's full
    range (0..1, so a flat line at 1.0 reads as "saturated", not as noise). Series are files or
    codecs, so they take the codec palette (:func:`codec_colour`), never an object's colour.
    Returns ``ax``."""
    styles = styles or {}
    for name, points in series.items():
        ax.plot([b / 1000 for b, _ in points], [v for _, v in points], styles.get(name, "o-"), label=name,
                drawstyle="steps-post", color=codec_colour(name, list(series)))
    low, high = METRIC_RANGE
    pad = 0.04 * (high - low)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(left=0)
    ax.set_xlabel("kilobytes read")
    ax.set_ylabel(metric_label(task, metric))
    ax.set_title(task.replace("-", " "))
    ax.grid(alpha=0.3)
    return ax


def show_object_vs_snr(sdcomp_steps: list[ProgressiveStep], jpeg_steps, budgets: list[int], size: float = 3.0) -> Figure:
    """Object-scalable (sdcomp-lite prefixes, top row) against SNR-progressive (progressive JPEG scan
    prefixes, bottom row) at the same byte budgets, one column per budget: each panel shows the last
    prefix that fits. Returns a Figure."""
    from sdcomp_lite.coding.progressive import last_within

    figure = Figure(figsize=(size * len(budgets) + 0.6, 2 * size + 0.9))
    rows = (("sdcomp-lite\n(object-scalable)", sdcomp_steps), ("progressive JPEG\n(SNR-progressive)", jpeg_steps))
    for row, (name, steps) in enumerate(rows):
        for column, budget in enumerate(budgets):
            ax = figure.add_subplot(2, len(budgets), row * len(budgets) + column + 1)
            step = last_within(steps, budget)
            frame_panel(ax, "0.6")
            if step is None:
                ax.text(0.5, 0.5, "nothing decodable yet", ha="center", va="center", transform=ax.transAxes)
                ax.set_title(f"budget {budget:,} B", fontsize=9)
            else:
                ax.imshow(step.image, cmap="gray" if step.image.ndim == 2 else None)
                ax.set_title(f"{step.caption}\n{step.num_bytes:,} of {budget:,} B", fontsize=9)
            if column == 0:
                ax.set_ylabel(name, fontsize=11)
    figure.subplots_adjust(left=0.06, right=0.99, top=0.93, bottom=0.02, wspace=0.05, hspace=0.2)
    return figure


OURS_COLOUR = "#8fb0d6"  # sdcomp-lite's bars in comparisons (a codec, not an object)


def show_time_to_answer(rows: list[dict], rate_kbps: int, ax: Axes | None = None) -> Axes:
    """Seconds until the task answers, one row per codec (fastest median first), one marker per image,
    a bar at the median; ``rows`` as read from benchmarks/results/time_to_answer.csv. Returns the axes."""
    ax = ax or plt.subplots(figsize=(8, 3.8))[1]
    at_rate = [r for r in rows if int(float(r["rate_kbps"])) == int(rate_kbps)]
    if not at_rate:
        raise ValueError(f"no rows at {rate_kbps} kbit/s; the csv has rates {sorted({r['rate_kbps'] for r in rows})}.")
    images = list(dict.fromkeys(r["image"] for r in at_rate))
    seconds: dict[str, dict[str, float]] = {}
    for r in at_rate:
        seconds.setdefault(r["codec"], {})[r["image"]] = float(r["total_s"])
    codecs = sorted(seconds, key=lambda c: np.median(list(seconds[c].values())), reverse=True)
    for y, codec in enumerate(codecs):
        ours = codec.startswith(OURS)  # "sdcomp-lite", "sdcomp-lite + preview"
        ax.barh(y, np.median(list(seconds[codec].values())), color=OURS_COLOUR if ours else "0.8", height=0.6)
    for marker, image in zip("osD^v", images):
        ax.plot([seconds[c].get(image, np.nan) for c in codecs], range(len(codecs)), marker, color="black",
                markerfacecolor="white", linestyle="none", label=image)
    ax.set_yticks(range(len(codecs)), codecs)
    ax.set_xlabel(f"seconds to answer at {rate_kbps} kbit/s (bar: median over images)")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="image", title_fontsize=8)
    return ax


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
