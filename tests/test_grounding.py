"""Grounding backends: real quality for the offline ones, plumbing for the model-backed ones."""

import numpy as np
import pytest
from PIL import Image

from sdcomp_lite.data import load_coco7, load_sample
from sdcomp_lite.errors import BackendUnavailableError, DataFileError, SdcompError, UnknownBackendError
from sdcomp_lite.grounding import as_scene_objects, available_grounders, get_grounder, score_grounding
from sdcomp_lite.grounding.base import GroundedObject, parse_prompt


@pytest.fixture(scope="module")
def offline():
    return get_grounder("offline")


def _check_objects(objects, image):
    height, width = np.asarray(image).shape[:2]
    for obj in objects:
        assert isinstance(obj, GroundedObject)
        assert obj.mask.shape == (height, width) and obj.mask.dtype == bool
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert 0 <= obj.score <= 1 and obj.backend


def test_annotations_backend_returns_the_reference(offline):
    sample = load_sample("coffee")
    found = get_grounder("annotations").ground(sample.image)
    assert sorted(o.label for o in found) == ["cup", "saucer", "spoon"]
    assert all(o.backend == "annotations" and o.score == 1.0 for o in found)
    assert [o.label for o in get_grounder("annotations").ground(sample.image, "spoon")] == ["spoon"]


def test_annotations_backend_refuses_unknown_images():
    with pytest.raises(DataFileError, match="not among the annotated images"):
        get_grounder("annotations").ground(np.zeros((10, 10, 3), np.uint8))


def test_offline_finds_the_astronaut_and_her_face(offline):
    sample = load_sample("astronaut")
    found = offline.ground(sample.image)
    _check_objects(found, sample.image)
    reference = {o.label: o for o in sample.objects}
    score = score_grounding([(found, list(sample.objects))], class_agnostic=False)
    matched = {m.reference_label: m for m in score.matches}
    assert "person" in matched and matched["person"].mask_iou > 0.6
    assert "face" in matched and matched["face"].mask_iou > 0.5
    assert reference["person"].area > 0


def test_offline_does_not_call_a_cat_or_a_cup_a_person(offline):
    for name in ("chelsea", "coffee"):
        assert not [o for o in offline.ground(load_sample(name).image) if o.label in ("person", "face")]


def test_offline_is_deterministic_and_sorted(offline):
    image = load_sample("astronaut").image
    first, second = offline.ground(image), offline.ground(image)
    assert [(o.label, o.box, o.score) for o in first] == [(o.label, o.box, o.score) for o in second]
    assert [o.score for o in first] == sorted((o.score for o in first), reverse=True)


def test_prompt_filters_fixed_vocabulary(offline):
    image = load_sample("astronaut").image
    assert {o.label for o in offline.ground(image, "face")} == {"face"}
    assert offline.ground(image, "giraffe") == []


@pytest.mark.parametrize("mode", ["L", "RGB", "P"])
def test_any_supported_mode(offline, mode):
    image = Image.fromarray(load_sample("astronaut").image).convert(mode)
    found = offline.ground(image)
    _check_objects(found, image)
    assert any(o.label == "person" for o in found)


@pytest.mark.parametrize("size", [(1, 1), (5, 9), (15, 400)])
def test_tiny_images_give_empty_results(offline, size):
    assert offline.ground(np.zeros((*size, 3), np.uint8)) == []


def test_blank_image_has_no_objects(offline):
    assert offline.ground(np.full((120, 160, 3), 127, np.uint8)) == []


def test_bad_modes_are_refused_clearly(offline):
    with pytest.raises(SdcompError, match="transparency"):
        offline.ground(Image.new("RGBA", (64, 64)))


def test_unknown_backend_lists_the_choices():
    with pytest.raises(UnknownBackendError, match="offline"):
        get_grounder("yolo")
    assert "offline" in available_grounders()


def test_missing_checkpoints_and_models_say_where_to_put_them(tmp_path):
    with pytest.raises(BackendUnavailableError, match="SAM checkpoint not found"):
        get_grounder("owlv2+sam", sam_checkpoint=str(tmp_path / "sam.pth"))
    with pytest.raises(BackendUnavailableError, match="model folder not found"):
        get_grounder("owlv2", model=str(tmp_path / "owlv2"))
    with pytest.raises(UnknownBackendError, match="vit_b"):
        get_grounder("owlv2+sam", sam_checkpoint=str(tmp_path), sam_type="vit_q")


def test_scene_objects_are_numbered_for_the_codec(offline):
    objects = as_scene_objects(offline.ground(load_sample("astronaut").image))
    assert [o.object_id for o in objects] == list(range(1, len(objects) + 1))


def test_parse_prompt():
    assert parse_prompt(" Person, dog . cat;; ") == ["person", "dog", "cat"]
    assert parse_prompt(None) == []


def test_offline_on_coco_people(offline, coco7_dir):
    pairs = []
    for sample in load_coco7(coco7_dir):
        people = [o for o in sample.objects if o.label == "person" and o.area > 2000]
        pairs.append(([o for o in offline.ground(sample.image) if o.label == "person"], people))
    score = score_grounding(pairs, class_agnostic=False)
    assert score.references >= 3
    assert score.recall50 >= 1 / 3
