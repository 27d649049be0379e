"""Tasks: real offline models, tiny random ones for the rest; the task registry; where references come from."""

import numpy as np
import pytest
import torch
import torchvision

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.evaluation.tasks import TASKS, TorchvisionClassificationTask, get_task, task_class
from sdcomp_lite.tiny_models import save_tiny_blip


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("astronaut").image


def test_every_task_carries_its_headline_metric_and_ranking_prompt():
    expected = {"person-segmentation": ("miou", "find every person"), "face-detection": ("ap50", "find every face"),
                "instance-segmentation": ("ap50", "find every object"), "pose": ("pck", "find every person's body pose"),
                "detection": ("ap50", "find every object"), "classification": ("top1", "what is the main subject?")}
    for name, (metric, prompt) in expected.items():
        assert (task_class(name).name, task_class(name).metric, task_class(name).prompt) == (name, metric, prompt)
    assert set(TASKS.names()) == set(expected) | {"torchvision-classification", "captioning", "vqa", "detection:"}
    names = [name for name in TASKS.names() if not TASKS.entries[name].prefix] + ["detection:person"]
    for name in names:
        assert task_class(name).prompt and task_class(name).metric, name
        assert callable(task_class(name).reference), name
    # one prompt per task, except that detection and instance segmentation want the same objects (one ranking)
    # and detection:person wants what person segmentation wants
    prompts = [task_class(name).prompt for name in names if name not in ("detection", "detection:person")]
    assert len(set(prompts)) == len(prompts)


def test_a_task_can_name_the_classes_a_prompt_names():
    from sdcomp_lite.evaluation.detection import DetectionTask, NamedDetectionTask

    vehicles = task_class("detection:car+bus+truck")
    assert (vehicles.name, vehicles.metric, vehicles.named) == ("detection:car+bus+truck", "ap50_named", ("car", "bus", "truck"))
    assert vehicles.prompt == "find every car, every bus and every truck"
    assert task_class("detection:person").prompt == task_class("person-segmentation").prompt == "find every person"
    assert task_class("detection:traffic light").named == ("traffic light",)
    assert task_class("detection:car+bus+truck") is vehicles  # one class per name: no model loaded to read it
    assert "detection:person" in TASKS and "detection:" not in TASKS
    task = get_task("detection:cat+dog")
    assert isinstance(task, NamedDetectionTask) and isinstance(task, DetectionTask)
    assert task.classes == ("cat", "dog") and task.metric == "ap50_named" and task.name == "detection:cat+dog"


@pytest.mark.parametrize("name, why", [
    ("detection:dragon", "'dragon' is not a class the detector knows; choose among: airplane"),
    ("detection:car+car", "names 'car' twice"),
    ("detection:car+", "no empty names"),
    ("detection:+car", "no empty names"),
    ("detection:car +bus", "'car ' is not a class"),
    ("detection:", "unknown task 'detection:'; choose one of"),
])
def test_a_named_detection_task_with_a_bad_class_says_what_to_write(name, why):
    for lookup in (get_task, task_class):
        with pytest.raises(UnknownBackendError, match=why):
            lookup(name)


def test_grounding_keeps_its_names_for_the_shared_matching():
    """match_objects and score_grounding live in metrics (tasks and grounding both grade with them);
    grounding.quality re-exports the same functions, so its values cannot drift."""
    from sdcomp_lite import metrics
    from sdcomp_lite.grounding import quality
    from sdcomp_lite.types import SceneObject, box_mask

    for name in ("match_objects", "score_grounding", "box_ap50", "GroundingScore", "Match", "IOU_THRESHOLD"):
        assert getattr(quality, name) is getattr(metrics, name), name

    def square(label, x, size, score=1.0):
        box = (x, 0, x + size, size)
        return SceneObject(0, label, box, box_mask(box, 64, 64), score=score)

    found = [square("cat", 0, 20, 0.9), square("dog", 30, 20, 0.8)]
    reference = [square("cat", 0, 20), square("cat", 30, 20)]
    aware, agnostic = metrics.score_grounding([(found, reference)], False), metrics.score_grounding([(found, reference)])
    # class-aware: one of two cats found (precision 1 up to recall 1/2: 51 of COCO's 101 recall points); the dog costs nothing
    assert (aware.recall50, len(aware.matches), aware.box_ap50) == (0.5, 1, pytest.approx(51 / 101))
    assert (agnostic.recall50, agnostic.mean_mask_iou, agnostic.box_ap50) == (1.0, 1.0, pytest.approx(1.0))


def test_unknown_task_names_the_choices():
    for lookup in (get_task, task_class):
        with pytest.raises(UnknownBackendError, match="unknown task 'depth'; choose one of: .*captioning"):
            lookup("depth")


def test_person_and_face_tasks_score_one_against_themselves_and_drop_when_degraded(astronaut):
    for name in ("person-segmentation", "face-detection"):
        task = get_task(name)
        reference = task.run(astronaut)
        assert reference, f"{name} finds nothing in the astronaut photograph"
        assert task.score(task.run(astronaut), reference)[task.metric] == pytest.approx(1.0)
        assert task.score([], reference)[task.metric] == 0.0


def test_instance_segmentation_task(astronaut):
    task = get_task("instance-segmentation")
    reference = task.run(astronaut)
    scores = task.score(reference, reference)
    assert scores["ap50"] == pytest.approx(1.0) and scores["mask_iou"] == pytest.approx(1.0)
    grey = np.full_like(astronaut, 128)
    assert task.score(task.run(grey), reference)["recall50"] == 0.0


def test_pose_task(astronaut):
    task = get_task("pose")
    reference = task.run(astronaut)
    assert reference is not None and reference.shape == (33, 2)
    assert task.score(reference, reference)["pck"] == 1.0
    assert task.score(None, reference)["pck"] == 0.0


def test_classification_with_a_tiny_random_network(astronaut):
    torch.manual_seed(0)
    task = TorchvisionClassificationTask(torchvision.models.resnet18(num_classes=10), image_size=64)
    top5 = task.run(astronaut)
    assert top5.shape == (5,)
    assert task.score(top5, top5) == {"top1": 1.0, "top5": 1.0}
    assert task.score(top5[::-1], top5)["top1"] == 0.0


def test_classification_from_a_local_state_dict(tmp_path, astronaut):
    torch.save(torchvision.models.resnet18(num_classes=1000).state_dict(), tmp_path / "resnet18.pth")
    task = TorchvisionClassificationTask("resnet18", weights_path=str(tmp_path / "resnet18.pth"), image_size=64)
    assert task.run(astronaut).shape == (5,)


def test_captioning_and_vqa_with_tiny_blip(tmp_path, astronaut):
    captioner = get_task("captioning", model=str(save_tiny_blip(tmp_path / "cap")), max_new_tokens=5)
    caption = captioner.run(astronaut)
    assert isinstance(caption, str) and caption == captioner.run(astronaut)
    assert captioner.score(caption, caption)["caption_similarity"] == pytest.approx(1.0, abs=1e-5)
    vqa = get_task("vqa", model=str(save_tiny_blip(tmp_path / "vqa", "vqa")), questions=["what is a cat ?"], max_new_tokens=3)
    answers = vqa.run(astronaut)
    assert len(answers) == 1 and vqa.score(answers, answers)["accuracy"] == 1.0
    assert vqa.score(["The Cup!"], [["cup"]])["accuracy"] == 1.0


def test_hand_written_questions_score_against_accepted_answers(tmp_path):
    from sdcomp_lite.evaluation.tasks import VQATask, load_questions

    questions = load_questions("coffee")
    assert len(questions) == 3 and all(q.answers for q in questions)
    assert len(load_questions()) == 12
    task = VQATask.__new__(VQATask)  # scoring needs no model
    answers = ["Espresso.", "no", "Red and white"]
    assert task.score(answers, [q.answers for q in questions])["accuracy"] == pytest.approx(2 / 3)


def test_tasks_accept_array_views_that_are_not_contiguous(astronaut):
    """A codec's output may be a read-only strided view (HEVC's even-sized frame, cropped); MediaPipe wants C order."""
    task = get_task("person-segmentation")
    view = np.pad(astronaut, ((0, 0), (0, 1), (0, 0)))[:, :-1]  # the same pixels, strided, as ffmpeg's crop
    view.flags.writeable = False
    assert not view.flags.c_contiguous
    assert task.score(task.run(view), task.run(astronaut))["miou"] == 1.0


def test_instance_segmentation_uses_the_annotations_only_when_wanted_and_present():
    from sdcomp_lite.data import Sample

    task = get_task("instance-segmentation")
    sample = load_sample("chelsea")
    annotated = task.reference(sample, "annotations")
    assert annotated.kind == "annotations" and annotated.value == list(sample.objects)
    assert task.reference(sample, "pseudo").kind == "pseudo"
    bare = Sample("bare", sample.image, ())
    assert task.reference(bare, "annotations").kind == "pseudo"


def test_the_worker_has_no_task_names():
    """Where a reference comes from is the task's business (Task.reference), not the sweep's worker's."""
    from pathlib import Path

    from sdcomp_lite.evaluation import worker

    source = Path(worker.__file__).read_text()
    assert not [name for name in TASKS.names() if f'"{name}"' in source or f"'{name}'" in source]


class _Fake:
    def __init__(self, found):
        self.found = found

    def detect(self, image):
        return list(self.found)


def test_the_worker_takes_detection_references_from_annotations_or_pseudo_ground_truth(monkeypatch):
    from sdcomp_lite.evaluation import worker
    from sdcomp_lite.evaluation.detection import DetectionTask
    from sdcomp_lite.evaluation.sweep import SweepConfig, WorkUnit
    from sdcomp_lite.types import SceneObject, box_mask

    dog = SceneObject(0, "dog", (10, 10, 200, 200), box_mask((10, 10, 200, 200), 300, 451), score=0.9, source="fake")
    fake = DetectionTask(detector=_Fake([dog]), vocabulary=("cat", "dog", "person"))
    monkeypatch.setattr(worker, "_task", lambda name: fake)
    annotations = SweepConfig(images=("chelsea",), tasks=("detection",), reference="annotations", codecs=("jpeg",))
    found, skipped = worker.references("chelsea", annotations)
    assert not skipped and found["detection"].kind == "annotations"
    assert [o.label for o in found["detection"].value] == ["cat"]  # the eyes are not COCO classes
    pseudo, _ = worker.references("chelsea", SweepConfig(images=("chelsea",), tasks=("detection",), codecs=("jpeg",)))
    assert pseudo["detection"].kind == "pseudo" and pseudo["detection"].value == [dog]
    rocket, _ = worker.references("rocket", annotations)  # a rocket and launch towers: no COCO class
    assert rocket["detection"].kind == "pseudo"
    rows = worker.run_unit(WorkUnit("chelsea", "jpeg", "", 50), annotations, (found, {}), {})
    assert {(r["task"], r["reference"], r["metric"]) for r in rows} == {("detection", "annotations", "ap50"),
                                                                          ("detection", "annotations", "ap")}
    assert {r["value"] for r in rows} == {0.0}  # the fake finds a dog where the annotation has a cat
    empty = DetectionTask(detector=_Fake([]), vocabulary=("cat",))
    monkeypatch.setattr(worker, "_task", lambda name: empty)
    _, skipped = worker.references("chelsea", SweepConfig(images=("chelsea",), tasks=("detection",), codecs=("jpeg",)))
    assert set(skipped) == {"detection"}


def test_a_tiny_sweep_runs_detection_and_classification_end_to_end(tmp_path):
    import csv
    import json

    from sdcomp_lite.evaluation.sweep import SweepConfig, run_sweep

    config = SweepConfig(images=("chelsea",), tasks=("detection", "detection:cat", "detection:dog", "classification"),
                         reference="annotations", rankers=("area",), sdcomp_qualities=(30,), background_qualities=(10,),
                         codecs=("jpeg",), workers=1)
    with open(run_sweep(config, tmp_path, progress=False), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["task"], r["reference"], r["metric"]) for r in rows} == {
        ("detection", "annotations", "ap50"), ("detection", "annotations", "ap"),
        ("detection:cat", "annotations", "ap50_named"), ("detection:cat", "annotations", "ap_named"),
        ("classification", "pseudo", "top1"), ("classification", "pseudo", "top5")}
    assert {r["codec"] for r in rows} == {"sdcomp-lite", "jpeg"}
    best = {(r["task"], r["metric"]): float(r["value"]) for r in rows if r["codec"] == "jpeg" and r["quality"] == "90"}
    assert best[("classification", "top1")] == 1.0 and best[("detection", "ap50")] == pytest.approx(1.0)
    assert best[("detection:cat", "ap50_named")] == pytest.approx(1.0)  # chelsea's one annotated COCO object is the cat
    run = json.loads((tmp_path / "run.json").read_text())
    assert "no annotation" in run["skipped"]["chelsea/detection:dog"]  # no dog in chelsea: skipped, and why
    assert all(0.0 <= float(r["value"]) <= 1.0 for r in rows)


def test_person_segmentation_decides_who_is_a_person_on_the_original_only():
    """A decoded image's regions count where they overlap a reference person; no second confirmation on it."""
    from sdcomp_lite.evaluation.tasks import PersonSegmentationTask
    from sdcomp_lite.grounding.base import object_from_mask

    def region(y0, y1, x0, x1):
        mask = np.zeros((40, 40), bool)
        mask[y0:y1, x0:x1] = True
        return object_from_mask("person", mask, 0.9, "test")

    task = PersonSegmentationTask.__new__(PersonSegmentationTask)  # scoring needs no model
    person, cat = region(0, 20, 0, 10), region(30, 40, 30, 40)
    assert task.score([region(0, 20, 0, 10), cat], [person])["miou"] == 1.0  # the unconfirmed cat is not counted
    assert task.score([region(0, 10, 0, 10)], [person])["miou"] == pytest.approx(0.5)
    assert task.score([cat], [person])["miou"] == 0.0
    assert task.score([], [])["miou"] == 1.0


def test_person_segmentation_reference_is_the_confirmed_people_and_a_lossless_copy_scores_one(astronaut):
    from sdcomp_lite.data import Sample

    task = get_task("person-segmentation")
    reference = task.reference(Sample("astronaut", astronaut, ()), "pseudo")
    assert reference.kind == "pseudo" and [obj.label for obj in reference.value] == ["person"]
    assert task.score(task.run(astronaut.copy()), reference.value)["miou"] == 1.0
