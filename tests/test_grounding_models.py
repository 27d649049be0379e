"""OWLv2 (transformers) and SAM (segment_anything) with tiny random models: shapes and plumbing."""

import numpy as np
import pytest
import torch

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import SdcompError
from sdcomp_lite.grounding import get_grounder
from sdcomp_lite.grounding.pipeline import DetectThenSegment
from sdcomp_lite.grounding.refine import GrabCutRefiner
from sdcomp_lite.grounding.sam import SamRefiner
from sdcomp_lite.tiny_models import save_tiny_owlv2, tiny_sam
from sdcomp_lite.types import SceneObject, box_mask


@pytest.fixture(scope="module")
def owl_folder(tmp_path_factory):
    return save_tiny_owlv2(tmp_path_factory.mktemp("owlv2"))


def test_owlv2_from_a_local_folder(owl_folder):
    detector = get_grounder("owlv2", model=str(owl_folder), threshold=0.0)
    image = load_sample("coffee").image
    found = detector.ground(image, "cup, spoon")
    assert found, "with threshold 0 every query box is returned"
    for obj in found:
        assert obj.label in ("cup", "spoon") and obj.source == "owlv2"
        assert obj.mask.shape == image.shape[:2] and obj.mask.dtype == bool
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 <= 400
        assert obj.mask.sum() == pytest.approx((np.ceil(x1) - np.floor(x0)) * (np.ceil(y1) - np.floor(y0)), rel=0.05)
    assert [o.score for o in found] == sorted((o.score for o in found), reverse=True)


def test_owlv2_threshold_filters(owl_folder):
    image = load_sample("coffee").image
    everything = get_grounder("owlv2", model=str(owl_folder), threshold=0.0).ground(image, "cup")
    strict = get_grounder("owlv2", model=str(owl_folder), threshold=0.99).ground(image, "cup")
    assert len(strict) < len(everything)
    assert all(o.score >= 0.99 for o in strict)


def test_owlv2_needs_a_prompt(owl_folder):
    with pytest.raises(SdcompError, match="needs a prompt"):
        get_grounder("owlv2", model=str(owl_folder)).ground(load_sample("coffee").image)


def test_sam_turns_boxes_into_masks():
    refiner = SamRefiner(tiny_sam())
    image = load_sample("chelsea").image
    masks = refiner.refine(image, [(10, 10, 200, 150), (100, 50, 300, 290)])
    assert len(masks) == 2
    assert all(m.shape == image.shape[:2] and m.dtype == bool for m in masks)
    assert refiner.refine(image, []) == []


class RecordingPredictor:
    """Stands in for SamPredictor: records what it is given and answers with the box's rectangle."""

    def __init__(self):
        self.images, self.calls = [], []

    def set_image(self, image):
        self.images.append(image)
        self.shape = image.shape[:2]

    def predict(self, box=None, multimask_output=True, **others):
        self.calls.append({"box": box, "multimask_output": multimask_output, **others})
        return box_mask(tuple(box), *self.shape)[None], np.ones(1, np.float32), np.zeros((1, 256, 256), np.float32)


def test_sam_receives_each_box_as_float32_xyxy():
    predictor = RecordingPredictor()
    refiner = SamRefiner(predictor=predictor)
    image = load_sample("chelsea").image  # 300 x 451: wider than tall, so x and y cannot be swapped unnoticed
    boxes = [(10, 20, 200, 150), (100.5, 50.25, 300.75, 290.0)]
    masks = refiner.refine(image, boxes)
    assert len(predictor.images) == 1, "set_image once per image, not once per box"
    assert predictor.images[0].shape == image.shape and predictor.images[0].dtype == np.uint8
    assert [call["multimask_output"] for call in predictor.calls] == [False, False]
    for call, box, mask in zip(predictor.calls, boxes, masks):
        assert isinstance(call["box"], np.ndarray) and call["box"].dtype == np.float32 and call["box"].shape == (4,)
        np.testing.assert_array_equal(call["box"], np.asarray(box, np.float32))  # (x0, y0, x1, y1), unchanged
        assert mask.dtype == bool and mask.shape == image.shape[:2]
        np.testing.assert_array_equal(mask, box_mask(box, *image.shape[:2]))


def test_detect_then_segment_hands_the_detector_boxes_to_sam():
    class FixedDetector:
        name = "fixed"

        def ground(self, image, prompt=None):
            height, width = image.shape[:2]
            return [SceneObject(1, "cat", (40.0, 10.0, 400.0, 120.0), np.zeros((height, width), bool), score=0.9)]

    predictor = RecordingPredictor()
    found = DetectThenSegment(FixedDetector(), SamRefiner(predictor=predictor)).ground(load_sample("chelsea").image)
    np.testing.assert_array_equal(predictor.calls[0]["box"], np.float32([40, 10, 400, 120]))
    assert [(o.object_id, o.label, o.box, o.source) for o in found] == [(1, "cat", (40.0, 10.0, 400.0, 120.0), "fixed+sam")]
    assert found[0].mask[10:120, 40:400].all() and found[0].area == 360 * 110


def test_sam_checkpoint_loads_with_weights_only(tmp_path, monkeypatch):
    import segment_anything

    torch.save(tiny_sam().state_dict(), tmp_path / "tiny.pth")
    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_tiny", lambda checkpoint=None: tiny_sam())
    refiner = SamRefiner.from_checkpoint(tmp_path / "tiny.pth", "vit_tiny")
    assert len(refiner.refine(load_sample("chelsea").image, [(0, 0, 100, 100)])) == 1


def test_detector_then_sam_pipeline(owl_folder):
    detector = get_grounder("owlv2", model=str(owl_folder), threshold=0.0)
    pipeline = DetectThenSegment(detector, SamRefiner(tiny_sam()))
    found = pipeline.ground(load_sample("coffee").image, "cup")
    assert found and all(o.source == "owlv2+sam" for o in found)


def test_grabcut_refiner_finds_the_cup_inside_its_box():
    sample = load_sample("coffee")
    cup = next(o for o in sample.objects if o.label == "cup")
    mask = GrabCutRefiner().refine(sample.image, [cup.box])[0]
    iou = (mask & cup.mask).sum() / (mask | cup.mask).sum()
    assert iou > 0.6


def test_grounding_dino_from_a_local_folder(tmp_path):
    from sdcomp_lite.tiny_models import save_tiny_grounding_dino

    detector = get_grounder("grounding-dino", model=str(save_tiny_grounding_dino(tmp_path / "gdino")), threshold=0.0)
    detector.text_threshold = 0.0
    image = load_sample("coffee").image
    found = detector.ground(image, "cup, spoon")
    assert found and all(o.label in ("cup", "spoon") for o in found)
    for obj in found:
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 <= 400 and obj.mask.shape == (400, 600)
