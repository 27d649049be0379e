"""Grounding backends: real quality for the offline ones, plumbing for the model-backed ones."""

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sdcomp_lite
from sdcomp_lite.data import load_coco7, load_sample
from sdcomp_lite.errors import BackendUnavailableError, DataFileError, InvalidParameterError, SdcompError, UnknownBackendError
from sdcomp_lite.grounding import (
    GROUNDERS,
    available_grounders,
    box_ap50,
    get_grounder,
    match_objects,
    score_grounding,
)
from sdcomp_lite.grounding.base import parse_prompt, sort_objects
from sdcomp_lite.grounding.mediapipe_models import ellipse_mask
from sdcomp_lite.types import SceneObject, box_mask


@pytest.fixture(scope="module")
def offline():
    return get_grounder("offline")


def _check_objects(objects, image):
    height, width = np.asarray(image).shape[:2]
    for obj in objects:
        assert isinstance(obj, SceneObject)
        assert obj.mask.shape == (height, width) and obj.mask.dtype == bool
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert 0 <= obj.score <= 1 and obj.source and obj.importance == 1.0
    assert [o.object_id for o in objects] == list(range(1, len(objects) + 1))


def test_annotations_backend_returns_the_reference(offline):
    sample = load_sample("coffee")
    found = get_grounder("annotations").ground(sample.image)
    assert sorted(o.label for o in found) == ["cup", "saucer", "spoon"]
    assert all(o.source == "annotations" and o.score == 1.0 and o.importance == 1.0 for o in found)
    assert [o.object_id for o in found] == [1, 2, 3]
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


def test_offline_names_coco_objects_with_grabcut_masks_inside_their_boxes(offline):
    sample = load_sample("chelsea")
    found = offline.ground(sample.image)
    _check_objects(found, sample.image)
    cat = found[0]
    assert cat.label == "cat" and cat.source == "offline/nanodet-g+grabcut"
    assert cat.mask.any() and not (cat.mask & ~box_mask(cat.box, *cat.mask.shape)).any()
    assert {o.label for o in offline.ground(sample.image, "cat")} == {"cat"}


def test_offline_merges_the_detector_person_with_the_mediapipe_person(offline):
    found = offline.ground(load_sample("astronaut").image)
    people = [o for o in found if o.label == "person"]
    assert len(people) == 1 and people[0].source == "offline/nanodet-g+mediapipe"
    assert [o.source for o in found if o.label == "face"] == ["offline/mediapipe"]


def test_merge_people_keeps_each_person_once():
    from sdcomp_lite.grounding.offline import merge_people

    def obj(label, box, source, mask=None):
        return SceneObject(0, label, box, box_mask(box, 100, 200) if mask is None else mask, score=0.5, source=source)

    region = np.zeros((100, 200), bool)
    region[10:90, 10:110] = True  # one MediaPipe region holding two people side by side
    mediapipe = [obj("person", (10, 10, 110, 90), "mediapipe", region), obj("person", (150, 10, 190, 90), "mediapipe"),
                 obj("face", (20, 12, 40, 30), "mediapipe")]
    detected = [obj("person", (8, 8, 60, 92), "nanodet-g"), obj("person", (60, 10, 112, 90), "nanodet-g"),
                obj("person", (120, 60, 140, 99), "nanodet-g"), obj("dog", (10, 10, 110, 90), "nanodet-g")]
    merged = merge_people(detected, mediapipe)
    assert [(o.label, o.source) for o in merged] == [
        ("person", "nanodet-g+mediapipe"), ("person", "nanodet-g+mediapipe"), ("person", "nanodet-g"), ("dog", "nanodet-g"),
        ("person", "mediapipe"), ("face", "mediapipe")]
    assert merged[0].box == (8, 8, 60, 92) and merged[0].mask.sum() == 50 * 80, "MediaPipe's mask inside the detector box"
    assert not (merged[0].mask & merged[1].mask).any()
    assert merged[2].mask.sum() == 20 * 39 and merged[3].mask.sum() == 100 * 80


def test_merge_people_keeps_the_box_where_mediapipe_gives_a_sliver():
    from sdcomp_lite.grounding.offline import MIN_MASK_COVERAGE, merge_people

    box = (100, 10, 140, 90)  # 40 x 80 = 3200 pixels
    sliver = np.zeros((100, 200), bool)
    sliver[40:50, 120:140] = True  # 10 x 20 = 200 pixels inside the box (6%) ...
    sliver[5, 95] = sliver[94, 144] = True  # ... in a region whose box holds the detector's box (a match)
    mediapipe = [SceneObject(0, "person", (95, 5, 145, 95), sliver, score=0.9, source="mediapipe")]
    detected = SceneObject(0, "person", box, box_mask(box, 100, 200), score=0.5, source="nanodet-g")
    assert 200 < MIN_MASK_COVERAGE * 3200
    assert merge_people([detected], mediapipe) == [detected], "matched (box mostly inside), but the box is kept"
    wide = sliver.copy()
    wide[20:80, 100:150] = True  # 40 x 60 = 2400 pixels in the box: 75%
    merged = merge_people([detected], [SceneObject(0, "person", (95, 5, 150, 95), wide, score=0.9, source="mediapipe")])
    assert len(merged) == 1 and merged[0].source == "nanodet-g+mediapipe" and merged[0].mask.sum() == 2400


def test_grabcut_sliver_falls_back_to_the_detector_box(offline):
    import copy

    from sdcomp_lite.grounding.offline import OfflineGrounder

    class Sliver:  # a refiner whose mask covers 1 pixel of the crop (or none): a failed segmentation
        name = "grabcut"
        pixels = 1

        def refine(self, image, boxes):
            mask = np.zeros(image.shape[:2], bool)
            mask[int(boxes[0][1]) + 1, int(boxes[0][0]) + 1] = self.pixels > 0
            return [mask]

    grounder = copy.copy(offline)
    grounder.refiner = Sliver()
    image = np.zeros((100, 200, 3), np.uint8)
    dog = SceneObject(0, "dog", (20, 20, 80, 70), box_mask((20, 20, 80, 70), 100, 200), score=0.5, source="nanodet-g")
    assert grounder._refined(image, dog) is dog
    grounder.min_mask_coverage = 0.0  # never keep the box: the sliver stays
    assert grounder._refined(image, dog).mask.sum() == 1
    grounder.refiner.pixels = 0  # an empty mask is never kept, as before the fallback existed
    assert grounder._refined(image, dog) is dog
    for bad in (1.5, -0.1, float("nan"), "0.1", None, True):
        with pytest.raises(InvalidParameterError, match="min_mask_coverage"):
            OfflineGrounder(min_mask_coverage=bad)


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
    assert {o.label for o in offline.ground(image, "the person")} == {"person"}
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
    with pytest.raises(UnknownBackendError, match="offline, mediapipe, saliency, annotations, owlv2"):
        get_grounder("yolo")
    with pytest.raises(UnknownBackendError, match="grounding-dino\\+grabcut"):
        get_grounder("owlv2+yolo")


def test_every_registered_grounder_is_listed_with_a_description():
    names = {"offline", "mediapipe", "saliency", "annotations", "owlv2", "grounding-dino",
             "owlv2+sam", "owlv2+grabcut", "grounding-dino+sam", "grounding-dino+grabcut", "nanodet"}
    assert set(available_grounders()) == names == set(GROUNDERS.names())
    assert all(description for description in available_grounders().values())
    assert get_grounder("saliency", max_objects=1).max_objects == 1, "options reach the constructor"


def test_missing_checkpoints_and_models_say_where_to_put_them(tmp_path):
    with pytest.raises(BackendUnavailableError, match="SAM checkpoint not found"):
        get_grounder("owlv2+sam", sam_checkpoint=str(tmp_path / "sam.pth"))
    with pytest.raises(BackendUnavailableError, match="model folder not found"):
        get_grounder("owlv2", model=str(tmp_path / "owlv2"))
    with pytest.raises(UnknownBackendError, match="vit_b"):
        get_grounder("owlv2+sam", sam_checkpoint=str(tmp_path), sam_type="vit_q")


def test_grounders_number_their_objects_for_the_codec(offline):
    found = offline.ground(load_sample("astronaut").image)
    assert len(found) >= 2 and [o.object_id for o in found] == list(range(1, len(found) + 1))


def test_sort_objects_orders_by_score_then_label_and_numbers_copies():
    mask = np.zeros((4, 4), bool)
    objects = [SceneObject(9, "b", (0, 0, 1, 1), mask, score=0.5), SceneObject(9, "a", (0, 0, 1, 1), mask, score=0.5),
               SceneObject(9, "c", (0, 0, 1, 1), mask, score=0.9)]
    ordered = sort_objects(objects)
    assert [(o.object_id, o.label) for o in ordered] == [(1, "c"), (2, "a"), (3, "b")]
    assert all(o.object_id == 9 for o in objects), "the inputs are not changed"


@pytest.mark.parametrize("box", [(10.0, 20.0, 50.0, 44.0), (3.3, 0.0, 17.8, 9.1), (0.0, 0.0, 1.0, 1.0), (30.0, 40.0, 64.0, 48.0)])
def test_face_ellipse_is_the_ellipse_inscribed_in_its_box(box):
    height, width = 48, 64
    mask = ellipse_mask(box, height, width)
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[:height, :width] + 0.5  # pixel centres
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
    expected = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1
    assert mask.dtype == bool and mask.shape == (height, width)
    np.testing.assert_array_equal(mask, expected)
    assert not (mask & ~box_mask(box, height, width)).any(), "the ellipse stays inside its box"


def _square(label, x0, y0, side, size=100, score=1.0):
    box = (float(x0), float(y0), float(x0 + side), float(y0 + side))
    return SceneObject(0, label, box, box_mask(box, size, size), score=score)


def test_match_objects_pairs_by_box_iou_one_to_one():
    reference = [_square("cat", 0, 0, 40), _square("dog", 50, 50, 40)]
    predicted = [_square("dog", 52, 52, 40), _square("cat", 0, 0, 40), _square("cat", 1, 1, 40)]
    matches = match_objects(predicted, reference, class_agnostic=False, image=7)
    assert sorted((m.predicted_label, m.reference_label) for m in matches) == [("cat", "cat"), ("dog", "dog")]
    cat = next(m for m in matches if m.reference_label == "cat")
    assert cat.box_iou == pytest.approx(1.0) and cat.mask_iou == pytest.approx(1.0) and cat.image == 7
    dog = next(m for m in matches if m.reference_label == "dog")
    assert dog.box_iou == pytest.approx(38 * 38 / (2 * 40 * 40 - 38 * 38))
    assert match_objects([_square("dog", 0, 0, 40)], [_square("cat", 0, 0, 40)], class_agnostic=False) == []
    assert len(match_objects([_square("dog", 0, 0, 40)], [_square("cat", 0, 0, 40)], class_agnostic=True)) == 1
    assert match_objects([_square("cat", 0, 0, 20)], [_square("cat", 0, 0, 40)]) == [], "IoU 0.25 is below 0.5"
    assert match_objects([], reference) == [] and match_objects(predicted, []) == []


def test_box_ap50_counts_misses_and_false_alarms():
    reference = [_square("cat", 0, 0, 40), _square("dog", 50, 50, 40)]
    assert box_ap50([(reference, reference)]) == pytest.approx(1.0)
    assert box_ap50([([], reference)]) == 0.0
    assert np.isnan(box_ap50([(reference, [])]))
    half = box_ap50([([_square("cat", 0, 0, 40)], reference)])
    assert 0.4 < half < 0.6, "one of two objects found: AP about 0.5"
    assert box_ap50([([_square("dog", 0, 0, 40)], reference[:1])], class_agnostic=False) == 0.0


def _stage_imports(stage: str) -> set[str]:
    found = set()
    for path in (Path(sdcomp_lite.__file__).parent / stage).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_grounding_and_ranking_do_not_import_each_other():
    assert not {m for m in _stage_imports("grounding") if m.startswith("sdcomp_lite.ranking")}
    assert not {m for m in _stage_imports("ranking") if m.startswith("sdcomp_lite.grounding")}


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

