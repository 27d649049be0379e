"""The ``detection`` task: COCO box AP on known answers, where its reference comes from, the real detector."""

import numpy as np
import pytest

from sdcomp_lite.data import Sample, load_sample
from sdcomp_lite.errors import InvalidParameterError
from sdcomp_lite.evaluation.detection import DetectionTask, NamedDetectionTask, named_detection_class, named_prompt
from sdcomp_lite.metrics import box_average_precision
from sdcomp_lite.types import SceneObject, box_mask

VOCABULARY = ("person", "cat", "dog", "cup")


def _box(label, box, score=1.0):
    return SceneObject(0, label, box, box_mask(box, 120, 120), score=score, source="test")


class FakeDetector:
    """Returns the same detections for every image (a stand-in with NanoDet's detect() contract)."""

    def __init__(self, found):
        self.found = found

    def detect(self, image):
        return list(self.found)


def _task(found=(), classes=()):
    return DetectionTask(classes=classes, detector=FakeDetector(found), vocabulary=VOCABULARY)


CAT = _box("cat", (0, 0, 50, 50))
DOG = _box("dog", (60, 60, 110, 110))


def test_perfect_and_empty_predictions():
    task = _task(classes=("cat",))
    # pycocotools' precision is tp / (tp + fp + eps): "1.0" is 1 - 2e-16
    assert task.score([CAT, DOG], [CAT, DOG]) == pytest.approx({"ap50": 1.0, "ap": 1.0, "ap50_named": 1.0})
    assert task.score([], [CAT, DOG]) == {"ap50": 0.0, "ap": 0.0, "ap50_named": 0.0}


def test_half_right_by_hand():
    """The cat is found, the dog is a box in the wrong place: AP is the mean of 1 (cat) and 0 (dog)."""
    misplaced_dog = _box("dog", (0, 60, 50, 110), score=0.8)
    scores = _task(classes=("dog",)).score([_box("cat", CAT.box, 0.9), misplaced_dog], [CAT, DOG])
    assert scores == pytest.approx({"ap50": 0.5, "ap": 0.5, "ap50_named": 0.0})


def test_a_false_alarm_ranked_first_halves_precision_at_half_recall():
    """Two cats, one found, a false alarm scored higher: precision 1/2 up to recall 1/2 (101 COCO
    recall points, 51 of them at or below 0.5) gives AP = 51 * 0.5 / 101."""
    second_cat = _box("cat", (60, 0, 110, 50))
    predicted = [_box("cat", (0, 60, 50, 110), score=0.9), _box("cat", CAT.box, score=0.8)]
    assert box_average_precision([(predicted, [CAT, second_cat])]).ap50 == pytest.approx(51 * 0.5 / 101)


def test_ap_averages_over_iou_thresholds():
    """A box with IoU 0.72 matches at IoU 0.50, 0.55, 0.60, 0.65, 0.70 and not above: 5 of 10 thresholds."""
    loose = _box("cat", (0, 0, 50, 36))
    scores = _task().score([loose], [CAT])
    assert scores["ap50"] == pytest.approx(1.0) and scores["ap"] == pytest.approx(0.5)


def test_class_aware_a_right_box_with_the_wrong_label_misses():
    assert _task().score([_box("dog", CAT.box)], [CAT])["ap50"] == 0.0
    assert box_average_precision([([_box("dog", CAT.box)], [CAT])], class_agnostic=True).ap50 == pytest.approx(1.0)


def test_named_classes_without_a_reference_object_are_undefined():
    scores = _task(classes=("cup",)).score([CAT], [CAT])
    assert scores["ap50"] == pytest.approx(1.0) and np.isnan(scores["ap50_named"])
    assert np.isnan(_task().score([CAT], [])["ap50"])


def test_prediction_keeps_low_scores_and_pseudo_reference_only_confident_ones():
    found = [_box("cat", CAT.box, 0.9), _box("dog", DOG.box, 0.2), _box("cup", (5, 5, 9, 9), 0.01)]
    task = _task(found)
    assert [o.label for o in task.run(np.zeros((120, 120, 3), np.uint8))] == ["cat", "dog"]  # >= 0.05
    sample = Sample("fake", np.zeros((120, 120, 3), np.uint8), ())
    reference = task.reference(sample, "pseudo")
    assert reference.kind == "pseudo" and [o.label for o in reference.value] == ["cat"]  # >= 0.3
    assert task.score(task.run(sample.image), reference.value)["ap50"] == pytest.approx(1.0)


def test_reference_from_annotations_keeps_the_detector_classes_else_falls_back_to_pseudo():
    image = np.zeros((120, 120, 3), np.uint8)
    task = _task([_box("dog", DOG.box, 0.9)])
    annotated = Sample("fake", image, (_box("person", (0, 0, 40, 100)), _box("helmet", (5, 0, 30, 20))))
    reference = task.reference(annotated, "annotations")
    assert reference.kind == "annotations" and [o.label for o in reference.value] == ["person"]
    assert task.reference(annotated, "pseudo").kind == "pseudo"
    nothing_coco = Sample("fake", image, (_box("rocket", (0, 0, 40, 100)),))
    fallback = task.reference(nothing_coco, "annotations")
    assert fallback.kind == "pseudo" and [o.label for o in fallback.value] == ["dog"]


def test_bad_options_raise_what_to_do():
    with pytest.raises(InvalidParameterError, match="not in the detector's vocabulary"):
        _task(classes=("unicorn",))
    with pytest.raises(InvalidParameterError, match="score_threshold"):
        DetectionTask(detector=FakeDetector([]), vocabulary=VOCABULARY, score_threshold=0.5, reference_threshold=0.3)
    with pytest.raises(InvalidParameterError, match="unknown reference 'gold'"):
        _task().reference(Sample("fake", np.zeros((8, 8, 3), np.uint8), ()), "gold")


def test_the_task_names_its_backend():
    assert DetectionTask.backend == "nanodet (onnxruntime)"
    assert _task().backend == "FakeDetector"


def _named(spec, found=()):
    return named_detection_class(spec)(detector=FakeDetector(found), vocabulary=VOCABULARY)


def test_a_named_task_scores_its_classes_as_the_detection_task_with_classes_does():
    """ap50_named of detection:<class> equals DetectionTask(classes=...)'s ap50_named on the full reference:
    cutting the reference to the named classes changes nothing for them (class-aware AP)."""
    rng = np.random.default_rng(3)
    labels = ("person", "cat", "dog")
    for _ in range(40):
        def objects(n, scored):
            boxes = [(int(x), int(y), int(x) + int(w), int(y) + int(h))
                     for x, y, w, h in rng.integers([0, 0, 8, 8], [70, 70, 50, 50], (n, 4))]
            return [_box(str(rng.choice(labels)), b, float(rng.random()) if scored else 1.0) for b in boxes]
        predicted, annotated = objects(rng.integers(0, 6), True), objects(rng.integers(1, 6), False)
        named = _named("cat+dog", predicted)
        sample = Sample("fake", np.zeros((120, 120, 3), np.uint8), tuple(annotated))
        reference = named.reference(sample, "annotations")
        assert {o.label for o in reference.value} <= {"cat", "dog"}
        full = _task(classes=("cat", "dog")).score(predicted, annotated)
        scores = named.score(named.run(sample.image), reference.value)
        assert set(scores) == {"ap50_named", "ap_named"}
        np.testing.assert_equal(scores["ap50_named"], full["ap50_named"])
        np.testing.assert_equal(scores["ap_named"], box_average_precision([(predicted, annotated)], classes=("cat", "dog")).ap)


def test_a_named_task_has_nothing_to_find_where_its_classes_are_absent():
    image = np.zeros((120, 120, 3), np.uint8)
    people = Sample("fake", image, (_box("person", (0, 0, 40, 100)), _box("helmet", (5, 0, 30, 20))))
    cats = _named("cat", [_box("cat", CAT.box, 0.9), _box("person", (0, 0, 40, 100), 0.9)])
    assert cats.reference(people, "annotations").empty  # annotated, but no cat: nothing to find (the sweep skips it)
    assert cats.reference(people, "annotations").kind == "annotations"
    pseudo = cats.reference(people, "pseudo")
    assert pseudo.kind == "pseudo" and [o.label for o in pseudo.value] == ["cat"]
    assert _named("person").reference(people, "annotations").value == [people.objects[0]]


def test_named_prompts_read_as_a_sentence():
    assert named_prompt(["person"]) == "find every person"
    assert named_prompt(["cat", "dog"]) == "find every cat and every dog"
    assert named_prompt(["car", "bus", "truck"]) == "find every car, every bus and every truck"
    with pytest.raises(InvalidParameterError, match="named_detection_class"):
        NamedDetectionTask(detector=FakeDetector([]), vocabulary=VOCABULARY)


@pytest.fixture(scope="module")
def detection():
    return DetectionTask(classes=("cat",))


def test_real_detector_finds_the_cat_and_scores_one_against_itself(detection):
    chelsea = load_sample("chelsea")
    reference = detection.reference(chelsea, "pseudo")
    assert "cat" in [o.label for o in reference.value]
    assert all(o.score >= 0.3 for o in reference.value)
    assert detection.score(detection.run(chelsea.image), reference.value) == pytest.approx({"ap50": 1.0, "ap": 1.0,
                                                                                           "ap50_named": 1.0})
    annotated = detection.reference(chelsea, "annotations")
    assert annotated.kind == "annotations" and [o.label for o in annotated.value] == ["cat"]
    assert detection.score(detection.run(chelsea.image), annotated.value)["ap50"] == pytest.approx(1.0)
    grey = np.full_like(chelsea.image, 128)
    assert detection.score(detection.run(grey), reference.value)["ap50"] == 0.0
