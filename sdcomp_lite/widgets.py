"""ipywidgets for the notebooks. Each widget has a plain function beside it that gives the same
content without widgets (for nbval and for readers without a live kernel)."""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt

from sdcomp_lite.coding import DecodedImage, EncodedImage, decode, decode_progressive, encode
from sdcomp_lite.coding.layer_table import layer_name
from sdcomp_lite.plotting import frame_panel, layer_colour
from sdcomp_lite.ranking.base import Ranker, Ranking
from sdcomp_lite.types import SceneObject


def format_ranking(ranking: Ranking, objects: list[SceneObject]) -> str:
    """The ranking as text: position, label, id, importance and reason (taught in notebooks/02_lmm_ranking.ipynb)."""
    by_id = {o.object_id: o for o in objects}
    lines = [f"task: {ranking.task!r}   backend: {ranking.backend}"]
    for position, object_id in enumerate(ranking.order, start=1):
        reason = ranking.reasons.get(object_id, "")
        label, score = by_id[object_id].label, ranking.scores[object_id]
        lines.append(f"{position:>3}. {label:<22} id {object_id:<4} importance {score:.3f}  {reason}")
    for repair in ranking.repairs:
        lines.append(f"   repair: {repair}")
    return "\n".join(lines)


def ranking_explorer(ranker: Ranker, image, objects: list[SceneObject], task: str = "general") -> widgets.VBox:
    """A text box for the task; pressing Enter re-ranks and prints the new order (notebooks/02_lmm_ranking.ipynb).

    The widget-free twin is :func:`format_ranking`.
    """
    box = widgets.Text(value=task, description="task:", layout=widgets.Layout(width="90%"), continuous_update=False)
    text = widgets.HTML()

    def update(*_):
        text.value = f"<pre>{html.escape(format_ranking(ranker.rank(image, objects, box.value), objects))}</pre>"

    box.observe(update, names="value")
    update()
    return widgets.VBox([box, text])


def show_prefix(encoded: EncodedImage, layers: int, ax=None, decoded: DecodedImage | None = None):
    """Draw the first ``layers`` layers (decoded here unless ``decoded`` is given), titled with the last
    layer (and its object id) and the rate, framed in the last layer's colour (as in notebook 00's figures)."""
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    decoded = decoded if decoded is not None else decode(encoded.data, layers=layers)
    ax.imshow(decoded.image, cmap="gray" if decoded.image.ndim == 2 else None)
    last = "nothing"
    if layers:
        layer = encoded.layers[layers - 1]
        last = layer_name(layer.kind, layer.object_id, layer.label)
        frame_panel(ax, layer_colour(layer.kind, layer.object_id))
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(f"{layers} layer{'' if layers == 1 else 's'} (+{last})\n{encoded.prefix_bytes(layers):,} bytes, "
                 f"{decoded.coverage.mean():.0%} of pixels decoded")
    return ax


def _prefix_png(encoded: EncodedImage, layers: int, decoded: DecodedImage | None = None) -> bytes:
    """:func:`show_prefix` rendered to PNG bytes, for an image widget."""
    figure, ax = plt.subplots(figsize=(5, 5))
    show_prefix(encoded, layers, ax, decoded)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def layer_slider(encoded: EncodedImage) -> widgets.VBox:
    """A slider over the number of decoded layers, redrawing the picture as it moves.

    Every layer is decoded once, up front (:func:`~sdcomp_lite.coding.decode_progressive`).
    """
    slider = widgets.IntSlider(value=1, min=0, max=len(encoded.layers), description="layers:", continuous_update=False)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="420px"))
    steps = [decode(encoded.data, layers=0), *decode_progressive(encoded.data)]

    def update(*_):
        picture.value = _prefix_png(encoded, slider.value, steps[slider.value])

    slider.observe(update, names="value")
    update()
    return widgets.VBox([slider, picture])


def quality_slider(image, objects: list[SceneObject]) -> widgets.VBox:
    """A quality slider (1-100): re-encodes and shows the decoded image with its size."""
    slider = widgets.IntSlider(value=40, min=1, max=100, description="quality:", continuous_update=False)
    picture = widgets.Image(format="png", layout=widgets.Layout(width="420px"))
    caption = widgets.Label()

    def update(*_):
        encoded = encode(image, objects, quality=slider.value)
        picture.value = _prefix_png(encoded, len(encoded.layers))
        caption.value = f"quality {slider.value}: {encoded.num_bytes} bytes, {encoded.bpp:.3f} bpp"

    slider.observe(update, names="value")
    update()
    return widgets.VBox([slider, caption, picture])
