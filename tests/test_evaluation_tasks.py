"""Tasks: real offline models, tiny random ones for the rest; the task registry."""

import numpy as np
import pytest
import torch
import torchvision

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.evaluation.tasks import TASKS, ClassificationTask, get_task, task_class
from sdcomp_lite.testing import save_tiny_blip


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("astronaut").image


def test_every_task_carries_its_headline_metric_and_ranking_prompt():
    expected = {"person-segmentation": ("miou", "find every person"), "face-detection": ("ap50", "find every face"),
                "instance-segmentation": ("ap50", "find every object"), "pose": ("pck", "find every person's body pose")}
    for name, (metric, prompt) in expected.items():
        assert (task_class(name).name, task_class(name).metric, task_class(name).prompt) == (name, metric, prompt)
    assert set(TASKS.names()) == set(expected) | {"classification", "captioning", "vqa"}
    for name in TASKS.names():
        assert task_class(name).prompt and task_class(name).metric, name
    prompts = [task_class(name).prompt for name in TASKS.names()]
    assert len(set(prompts)) == len(prompts)


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
    task = ClassificationTask(torchvision.models.resnet18(num_classes=10), image_size=64)
    top5 = task.run(astronaut)
    assert top5.shape == (5,)
    assert task.score(top5, top5) == {"top1": 1.0, "top5": 1.0}
    assert task.score(top5[::-1], top5)["top1"] == 0.0


def test_classification_from_a_local_state_dict(tmp_path, astronaut):
    torch.save(torchvision.models.resnet18(num_classes=1000).state_dict(), tmp_path / "resnet18.pth")
    task = ClassificationTask("resnet18", weights_path=str(tmp_path / "resnet18.pth"), image_size=64)
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
