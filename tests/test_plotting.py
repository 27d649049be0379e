"""Figure helpers: one colour per object id, the pipeline diagram, integer ticks."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from conftest import make_scene
from sdcomp_lite.plotting import (
    BACKGROUND_COLOUR,
    PIPELINE_STAGES,
    integer_ticks,
    object_colour,
    object_ids,
    overlay_masks,
    pipeline_diagram,
    show_objects,
)
from sdcomp_lite.types import SceneObject


def test_one_colour_per_id_background_grey_and_ids_distinct():
    assert object_colour(0) == BACKGROUND_COLOUR
    colours = [object_colour(i) for i in range(1, 11)]
    assert len(set(colours)) == 10 and BACKGROUND_COLOUR not in colours
    assert object_colour(3) == object_colour(3) and object_colour(11) == object_colour(1)
    assert all(0 <= c <= 1 for colour in colours for c in colour)


def test_overlay_colours_follow_the_ids_not_the_position():
    image = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    first = overlay_masks(image, [mask], alpha=1.0, ids=[5])
    again = overlay_masks(image, [np.zeros((4, 4), bool), mask], alpha=1.0, ids=[2, 5])
    assert np.array_equal(first[0, 0], again[0, 0])
    assert np.allclose(first[0, 0], np.array(object_colour(5)) * 255, atol=1)


def test_show_objects_labels_each_object_with_its_id_in_its_colour():
    image, objects = make_scene()
    figure = Figure()
    ax = show_objects(image, objects, ax=figure.add_subplot(), title="scene")
    texts = {t.get_text(): t for t in ax.texts}
    assert set(texts) == {"7: disc", "3: rectangle"}
    assert texts["7: disc"].get_bbox_patch().get_facecolor()[:3] == pytest.approx(object_colour(7))
    assert ax.get_title() == "scene"


@pytest.mark.parametrize("size", [(4, 4), (8, 8)])
def test_labels_of_objects_sharing_a_corner_do_not_overlap(size):
    image, _ = make_scene(height=120, width=160)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:60, 10:90] = True
    objects = [SceneObject(i, label, (10, 10 + i, 90, 60), mask) for i, label in enumerate(["a long label", "b", "c c"], start=1)]
    figure = Figure(figsize=size)
    show_objects(image, objects, ax=figure.add_subplot())
    boxes = _text_boxes(figure)
    assert len(boxes) == 3 and not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_a_label_at_the_right_edge_stays_inside_the_image():
    image, _ = make_scene(height=100, width=100)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:20, 90:100] = True
    figure = Figure(figsize=(4, 4))
    objects = [SceneObject(1, "a label far too long for the edge", (90, 10, 100, 20), mask)]
    ax = show_objects(image, objects, ax=figure.add_subplot())
    (label,) = _text_boxes(figure)
    assert label.x1 <= ax.get_window_extent().x1 + 1


def test_objects_without_ids_are_numbered_from_one():
    class Found:  # what a grounder returns before as_scene_objects: no object_id
        def __init__(self, label):
            self.label = label

    assert object_ids([Found("a"), Found("b")]) == [1, 2]
    _, objects = make_scene()
    assert object_ids(objects) == [7, 3]


def _text_boxes(figure: Figure):
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [t.get_window_extent(renderer) for ax in figure.axes for t in ax.texts if t.get_text()]


def test_pipeline_diagram_names_every_stage_in_order_without_overlapping_text():
    figure = pipeline_diagram()
    assert isinstance(figure, Figure)
    names = [t.get_text() for t in figure.axes[0].texts if t.get_fontweight() == "bold"]
    assert names == ["image", "objects", "ranking", "layers", "prefix", "task"] == [s[0] for s in PIPELINE_STAGES]
    assert len(figure.axes[0].patches) == 2 * len(PIPELINE_STAGES) - 1  # boxes and arrows
    boxes = _text_boxes(figure)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    width, height = figure.canvas.get_width_height()
    assert all(b.x0 >= 0 and b.y0 >= 0 and b.x1 <= width and b.y1 <= height for b in boxes)


def test_pipeline_diagram_leaves_pyplot_alone():
    backend = matplotlib.get_backend()
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    pipeline_diagram()
    assert plt.get_fignums() == before and matplotlib.get_backend() == backend


def test_integer_ticks_on_a_histogram():
    figure = Figure()
    ax = figure.add_subplot()
    ax.bar([-1, 0, 1, 2], [3, 10, 4, 1])
    assert integer_ticks(ax, "x") is ax
    figure.canvas.draw()
    ticks = ax.get_xticks()
    assert len(ticks) >= 2 and np.allclose(ticks, np.round(ticks))
