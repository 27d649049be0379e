"""Figure helpers: one colour per object id, the pipeline diagram, integer ticks, the progressive-decoding
figures of notebooks 00 and 04 and the README strip."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from conftest import make_scene
from sdcomp_lite.errors import InvalidObjectError, InvalidParameterError
from sdcomp_lite.plotting import (
    BACKGROUND_COLOUR,
    CODEC_PALETTE,
    OURS_COLOUR,
    PALETTE,
    PIPELINE_STAGES,
    PREVIEW_COLOUR,
    REFERENCE_COLOUR,
    codec_colour,
    integer_ticks,
    layer_colour,
    metric_label,
    object_colour,
    object_ids,
    overlay_masks,
    pipeline_diagram,
    progressive_strip,
    show_coverage,
    show_object_vs_snr,
    show_objects,
    show_progressive,
    show_task_scores,
    show_time_to_answer,
    text_colour,
)
from sdcomp_lite.types import SceneObject


def test_one_colour_per_id_background_grey_and_ids_distinct():
    assert object_colour(0) == BACKGROUND_COLOUR
    colours = [object_colour(i) for i in range(1, len(PALETTE) + 1)]
    assert len(set(colours)) == len(PALETTE) == 18 and BACKGROUND_COLOUR not in colours
    assert PREVIEW_COLOUR not in colours and REFERENCE_COLOUR not in colours
    assert object_colour(3) == object_colour(3) and object_colour(19) == object_colour(1)
    assert all(0 <= c <= 1 for colour in colours for c in colour)


def test_codecs_never_take_an_object_colour():
    objects = PALETTE / 255
    for name in ("jpeg", "webp", "avif", "hevc", "jpeg2000", "jpegxl", "sdcomp-lite", "roi-hevc", "prefilter-avif"):
        rgb = np.array(to_rgb(codec_colour(name)))
        assert np.sqrt(((objects - rgb) ** 2).sum(axis=1)).min() * 255 >= 50, name
        assert codec_colour(name) == codec_colour(name)  # stable
    names = ["jpeg", "webp", "avif"]
    assert [codec_colour(n, names) for n in names] == list(CODEC_PALETTE[:3])  # distinct within one figure
    assert to_rgb(OURS_COLOUR) not in {tuple(c) for c in objects}


def test_the_same_object_keeps_its_colour_whatever_the_list_order():
    image, objects = make_scene()
    figures = []
    for order in (objects, objects[::-1]):
        figure = Figure()
        ax = show_objects(image, order, ax=figure.add_subplot())
        figures.append({t.get_text(): t.get_bbox_patch().get_facecolor()[:3] for t in ax.texts})
    assert figures[0] == figures[1]
    assert figures[0]["7: disc"] == pytest.approx(object_colour(7))


def test_reference_objects_are_drawn_neutral_not_in_found_colours():
    image, objects = make_scene()
    figure = Figure()
    ax = show_objects(image, objects, ax=figure.add_subplot(), reference=True)
    assert {t.get_text() for t in ax.texts} == {"ref: disc", "ref: rectangle"}
    assert all(t.get_bbox_patch().get_facecolor()[:3] == pytest.approx(REFERENCE_COLOUR) for t in ax.texts)
    assert np.array_equal(ax.images[0].get_array(), image)  # no mask overlay
    assert all(p.get_linestyle() == "--" for p in ax.patches)


def test_label_text_reads_on_light_and_dark_colours():
    assert text_colour((1.0, 0.88, 0.1)) == "black" and text_colour((0.0, 0.0, 0.5)) == "white"


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


def test_objects_without_ids_are_refused_not_coloured_by_position():
    class Found:  # an object without an object_id (any duck-typed object)
        def __init__(self, label):
            self.label = label

    with pytest.raises(InvalidObjectError, match="number_objects"):
        object_ids([Found("a"), Found("b")])
    with pytest.raises(InvalidParameterError, match="one id per mask"):
        overlay_masks(np.zeros((4, 4, 3), np.uint8), [np.zeros((4, 4), bool)], ids=[])
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


# ---------------------------------------------------------------- progressive decoding figures (00, 04, README)


@pytest.fixture(scope="module")
def steps():
    from sdcomp_lite.coding import encode
    from sdcomp_lite.demo import progressive_steps

    image, objects = make_scene(height=48, width=64)
    return progressive_steps(image, encode(image, objects, quality=30, transform="dct8", mask_scale=1))


def test_layer_colours_follow_the_layer_table(steps):
    assert [s.kind for s in steps] == ["preview", "object", "object", "background"]
    assert [s.object_id for s in steps] == [0, 7, 3, 0]
    assert layer_colour("object", 7) == object_colour(7) and layer_colour("background", 0) == BACKGROUND_COLOUR
    assert layer_colour("preview", 0) == PREVIEW_COLOUR != BACKGROUND_COLOUR


def test_coverage_plot_names_layers_as_the_table_in_their_colours_without_labels_on_the_curve(steps):
    figure = Figure(figsize=(9, 3.6))
    ax = show_coverage(steps, ax=figure.add_subplot())
    legend = ax.get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert [n.split(" (")[0] for n in names] == ["layer 0: preview", "layer 1: id 7 disc", "layer 2: id 3 rectangle",
                                                 "layer 3: background"]
    colours = [tuple(line.get_color()) for line in legend.get_lines()]
    assert colours == [layer_colour(s.kind, s.object_id) for s in steps]
    assert not ax.texts  # nothing annotated on the curve, so nothing can overlap
    assert ax.get_ylim()[0] < 0 and ax.get_ylim()[1] > 100
    assert not any(a.overlaps(b) for a, b in itertools.combinations(_text_boxes(figure), 2))


def test_progressive_strip_labels_every_panel_and_shows_no_two_identical_pictures(steps):
    from sdcomp_lite.demo import changed_steps

    figure = progressive_strip(steps)
    titles = [ax.get_title() for ax in figure.axes]
    shown = changed_steps(steps)
    assert len(titles) == len(shown) >= 2
    for title, step in zip(titles, shown):
        assert f"{step.layers} layer" in title and f"{step.num_bytes:,} bytes" in title
    pictures = [ax.get_images()[0].get_array() for ax in figure.axes]
    assert not any(np.array_equal(a, b) for a, b in itertools.combinations(pictures, 2))


def test_changed_steps_drops_a_layer_that_changes_no_pixel(steps):
    from dataclasses import replace

    from sdcomp_lite.demo import changed_steps

    repeated = [steps[0], steps[1], replace(steps[2], decoded=steps[1].decoded), steps[3]]
    assert changed_steps(repeated) == [steps[0], steps[1], steps[3]]
    figure = progressive_strip(repeated)
    assert len(figure.axes) == 3 and "no pixel" in figure.texts[0].get_text()


def test_show_progressive_titles_name_the_layer_and_its_id(steps):
    import matplotlib.pyplot as plt

    figure = show_progressive(steps, columns=4)
    try:
        titles = [ax.get_title() for ax in figure.axes if ax.get_images()]
        assert titles[1].startswith("2 layers (+id 7 disc)") and f"{steps[1].num_bytes:,} B" in titles[1]
    finally:
        plt.close(figure)


def test_task_axes_show_a_readable_metric_on_its_full_range():
    figure = Figure()
    ax = show_task_scores(figure.add_subplot(), {"a": [(1000, 1.0), (2000, 1.0)]}, "face-detection", "ap50")
    assert ax.get_ylabel() == "face box AP50" and metric_label("person-segmentation", "miou") == "person mask IoU"
    low, high = ax.get_ylim()
    assert low < 0 <= 1 < high and high - low < 1.2  # a flat line at 1.0 is drawn on 0..1, not auto-scaled
    assert metric_label("pose", "weird") == "pose: weird"
    assert metric_label("detection:chair", "ap50_named") == "chair box AP50"
    assert metric_label("detection:car+bus", "ap_named") == "car, bus box AP[.5:.95]"


def test_task_score_series_take_codec_colours_never_object_colours():
    figure = Figure()
    ax = show_task_scores(figure.add_subplot(), {"ours": [(1000, 0.5)], "jpeg": [(900, 0.2)]}, "face-detection", "ap50")
    assert [line.get_color() for line in ax.lines] == list(CODEC_PALETTE[:2])


def test_object_vs_snr_shows_the_last_prefix_within_each_budget(steps):
    from sdcomp_lite.demo import JpegStep

    image = steps[-1].image
    budgets = [100, steps[1].num_bytes, 10**6]
    assert steps[1].num_bytes > 101
    jpeg = [JpegStep(1, 2, steps[1].num_bytes - 1, image // 2), JpegStep(2, 2, 10**5, image)]  # scan 1 fits budget 2 only
    figure = show_object_vs_snr(steps, jpeg, budgets)
    assert len(figure.axes) == 2 * len(budgets)
    top, bottom = figure.axes[:3], figure.axes[3:]
    assert top[1].get_title().startswith("2 layers (+id 7 disc)") and "nothing" in bottom[0].texts[0].get_text()
    assert bottom[1].get_title().startswith("scan 1 of 2") and bottom[2].get_title().startswith("scans 1-2 of 2")
    assert "object-scalable" in top[0].get_ylabel() and "SNR-progressive" in bottom[0].get_ylabel()


def test_time_to_answer_plot_puts_the_fastest_median_on_top():
    rows = [{"image": i, "codec": c, "rate_kbps": "256", "total_s": str(t)}
            for i, c, t in [("a", "slow", 3.0), ("b", "slow", 5.0), ("a", "sdcomp-lite", 1.0), ("b", "sdcomp-lite", 2.0)]]
    figure = Figure()
    ax = show_time_to_answer(rows, 256, ax=figure.add_subplot())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["slow", "sdcomp-lite"]  # drawn bottom to top
    assert [p.get_width() for p in ax.patches] == [4.0, 1.5]
    with pytest.raises(ValueError, match="1024"):
        show_time_to_answer(rows, 1024, ax=figure.add_subplot())


def test_readme_figures_are_written(tmp_path):
    from sdcomp_lite.demo import write_readme_figures

    paths = write_readme_figures(tmp_path, quality=10)
    assert [p.name for p in paths] == ["progressive.png", "pipeline.png"] and all(p.stat().st_size > 10_000 for p in paths)


# ---------------------------------------------------------------- the data behind those figures (sdcomp_lite.demo)


def test_progressive_jpeg_prefixes_refine_the_whole_picture():
    from sdcomp_lite.demo import jpeg_quality_for_bytes, jpeg_steps, last_within
    from sdcomp_lite.evaluation.timing import progressive_jpeg

    image, _ = make_scene(height=64, width=96)
    scans = jpeg_steps(image, 60)
    assert len(scans) > 2 and [s.scans for s in scans] == list(range(1, len(scans) + 1))
    assert [s.num_bytes for s in scans] == sorted(s.num_bytes for s in scans)
    assert scans[-1].num_bytes == len(progressive_jpeg(image, 60)) and scans[0].image.shape == image.shape
    assert last_within(scans, scans[0].num_bytes - 1) is None and last_within(scans, scans[1].num_bytes) is scans[1]
    budget = len(progressive_jpeg(image, 50))
    quality = jpeg_quality_for_bytes(image, budget)
    assert len(progressive_jpeg(image, quality)) <= budget < len(progressive_jpeg(image, quality + 1))
    with pytest.raises(InvalidParameterError, match="quality 1"):
        jpeg_quality_for_bytes(image, 10)


def test_time_to_answer_tables_count_wins_per_image_and_rate():
    from sdcomp_lite.demo import answers_first, format_time_to_answer, median_seconds

    rows = [{"image": i, "codec": c, "rate_kbps": r, "total_s": str(t)}
            for i, c, r, t in [("a", "sdcomp-lite", "64", 1.0), ("b", "sdcomp-lite", "64", 5.0), ("c", "sdcomp-lite", "64", 2.0),
                               ("a", "jpeg", "64", 2.0), ("b", "jpeg", "64", 3.0), ("c", "jpeg", "64", 2.0)]]
    assert median_seconds(rows) == {"sdcomp-lite": {64: 2.0}, "jpeg": {64: 2.0}}
    assert answers_first(rows) == {"jpeg": {64: 1}}  # a tie (image c) is not a win
    text = format_time_to_answer(rows)
    assert "64 kbit/s" in text and "images (of 3) where sdcomp-lite answers sooner" in text


def test_show_prefix_names_the_last_layer_with_its_id_and_frames_it_in_its_colour():
    from sdcomp_lite.coding import encode
    from sdcomp_lite.widgets import show_prefix

    image, objects = make_scene(height=48, width=64)
    encoded = encode(image, objects, quality=30, transform="dct8", mask_scale=1)
    figure = Figure()
    ax = show_prefix(encoded, 2, ax=figure.add_subplot())
    assert ax.get_title().startswith("2 layers (+id 7 disc)\n") and f"{encoded.prefix_bytes(2):,} bytes" in ax.get_title()
    assert tuple(ax.spines["left"].get_edgecolor()[:3]) == pytest.approx(object_colour(7))
    assert show_prefix(encoded, 0, ax=figure.add_subplot()).get_title().startswith("0 layers (+nothing)")
