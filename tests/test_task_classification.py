"""The ``classification`` task: agreement on known answers, TF-style pre-processing, the real EfficientNet-Lite0."""

import sys

import numpy as np
import pytest
import torch

from sdcomp_lite.data import coco7_dir, load_sample
from sdcomp_lite.errors import BackendUnavailableError, DataFileError, InvalidImageError, InvalidParameterError
from sdcomp_lite.evaluation.classification import (
    Classification,
    ClassificationTask,
    agreement,
    imagenet_classes,
    preprocess,
    top_classes,
    torch_threads,
)


def test_identical_logits_agree_fully():
    logits = np.linspace(-3, 3, 1000)[::-1]
    assert agreement(top_classes(logits), top_classes(logits.copy())) == {"top1": 1.0, "top5": 1.0}


def test_top5_by_hand():
    reference = Classification((3, 9, 4, 1, 0), (0.5, 0.2, 0.1, 0.1, 0.1))
    second = Classification((7, 3, 1, 0, 2), (0.4, 0.3, 0.1, 0.1, 0.1))
    sixth_or_worse = Classification((7, 1, 0, 2, 5), (0.4, 0.3, 0.1, 0.1, 0.1))
    assert agreement(second, reference) == {"top1": 0.0, "top5": 1.0}
    assert agreement(sixth_or_worse, reference) == {"top1": 0.0, "top5": 0.0}


def test_top_classes_orders_by_logit_breaks_ties_by_index_and_gives_softmax():
    logits = np.array([0.0, 2.0, 1.0, 2.0, -1.0, 0.5, np.log(1e-9)])
    found = top_classes(logits)
    assert found.top5 == (1, 3, 2, 5, 0)
    expected = np.exp(logits) / np.exp(logits).sum()
    assert found.probabilities == pytest.approx(tuple(expected[list(found.top5)]))


def test_preprocess_resizes_the_shorter_side_crops_the_centre_and_scales():
    flat = preprocess(np.full((50, 80, 3), 255, np.uint8))
    assert flat.shape == (1, 3, 224, 224) and flat.dtype == np.float32
    assert np.allclose(flat, (255 - 127) / 128)
    # 100 x 400, left half black: resized to 256 x 1024, the centre crop spans columns 400..623, the edge at 512
    halves = np.zeros((100, 400, 3), np.uint8)
    halves[:, 200:] = 255
    crop = preprocess(halves)[0, 0]
    assert np.allclose(crop[:, :100], -127 / 128) and np.allclose(crop[:, 124:], 128 / 128)
    assert preprocess(np.full((30, 30), 127, np.uint8)).shape == (1, 3, 224, 224)  # grey is repeated to RGB


def test_hostile_images_are_refused():
    with pytest.raises(InvalidImageError, match="dtype float32"):
        preprocess(np.zeros((30, 30, 3), np.float32))
    with pytest.raises(InvalidImageError, match="shape"):
        preprocess(np.zeros((30, 30, 4), np.uint8))


class FixedLogits(torch.nn.Module):
    """A stand-in network: the same logits for every input (it checks the input's shape)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.as_tensor(logits, dtype=torch.float32)

    def forward(self, batch):
        assert batch.shape == (1, 3, 224, 224)
        return self.logits[None]


def test_the_task_with_a_stand_in_network():
    task = ClassificationTask(FixedLogits(np.arange(10.0)))
    prediction = task.run(np.zeros((40, 60, 3), np.uint8))
    assert prediction.top5 == (9, 8, 7, 6, 5)
    assert task.score(prediction, prediction) == {"top1": 1.0, "top5": 1.0}
    sample = load_sample("coffee")
    reference = task.reference(sample, "annotations")
    assert reference.kind == "pseudo" and reference.value == prediction  # always pseudo ground truth
    assert (ClassificationTask.name, ClassificationTask.metric, ClassificationTask.prompt) == \
        ("classification", "top1", "what is the main subject?")
    assert ClassificationTask.backend == "efficientnet-lite0 (torch)"


def test_threads_are_set_for_the_call_only_and_bad_counts_refused():
    seen = []

    class Recording(FixedLogits):
        def forward(self, batch):
            seen.append(torch.get_num_threads())
            return super().forward(batch)

    before = torch.get_num_threads()
    ClassificationTask(Recording(np.arange(10.0)), threads=1).run(np.zeros((40, 60, 3), np.uint8))
    assert seen == [1] and torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InvalidParameterError, match="threads"):
            ClassificationTask(FixedLogits(np.arange(10.0)), threads=bad)


def test_a_missing_package_says_what_to_install(monkeypatch):
    from sdcomp_lite.models import load_efficientnet_lite0

    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)  # import fails
    with pytest.raises(BackendUnavailableError, match="pip install efficientnet-lite-pytorch==0.1.0"):
        load_efficientnet_lite0()


def test_imagenet_classes_come_from_torchvision():
    names = imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and names[285] == "Egyptian cat"


@pytest.fixture(scope="module")
def classifier():
    return ClassificationTask()


def test_real_classifier_names_the_sample_photographs(classifier):
    cats = {"tabby", "tiger cat", "Egyptian cat"}
    assert classifier.run(load_sample("chelsea").image).labels[0] in cats
    coffee = classifier.run(load_sample("coffee").image)
    assert coffee.labels[0] == "espresso" and coffee.probabilities[0] > 0.9
    assert "cup" in coffee.labels


def test_real_classifier_is_deterministic_and_agrees_with_itself(classifier):
    image = load_sample("astronaut").image
    assert np.array_equal(classifier.logits(image), classifier.logits(image))
    assert classifier.score(classifier.run(image), classifier.run(image)) == {"top1": 1.0, "top5": 1.0}
    assert classifier.run(np.full_like(image, 128)).top5[0] != classifier.run(image).top5[0]


def _coco7_image(index: int) -> np.ndarray:
    from PIL import Image

    try:
        folder = coco7_dir()
    except DataFileError as error:
        pytest.skip(str(error))
    return np.asarray(Image.open(folder / f"{index}.jpg").convert("RGB"))


def test_real_classifier_reproduces_the_issue_measurements_on_held_out_photographs(classifier):
    """Issue 16 measured ram 0.89 (the sheep photograph) and baseball player 0.72 (the baseball photograph)."""
    sheep, baseball = classifier.run(_coco7_image(5)), classifier.run(_coco7_image(4))
    assert sheep.labels[0] == "ram" and sheep.probabilities[0] == pytest.approx(0.89, abs=0.01)
    assert baseball.labels[0] == "ballplayer" and baseball.probabilities[0] == pytest.approx(0.72, abs=0.01)
