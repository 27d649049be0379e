"""Machine tasks run on decoded images, and how each is scored against a reference.

A task has ``run(image) -> prediction``, ``reference(sample, wanted) -> Reference`` and
``score(prediction, reference) -> dict of metrics`` (the protocol in
:mod:`sdcomp_lite.evaluation.task_base`). The task decides where its reference comes from: the
sample's annotations where they fit the task and the sweep asks for them (``wanted ==
"annotations"``: instance segmentation, detection), else the model's own prediction on the
original image (*pseudo ground truth*); the :class:`Reference` says which, and so does every
results row.

Each task class also carries, as data, its headline ``metric`` (the key of ``score()`` that reports
and BD-rates use) and its ranking ``prompt``: what a ranker is told the receiver wants ("find every
person"), so that a sweep codes each task's objects in that task's order. :data:`TASKS` registers
them by name; :func:`task_class` reads a task's metric and prompt without loading its model.

Offline here (models in the installed wheels): person segmentation, face detection and pose
(MediaPipe), instance segmentation (the offline grounder), ``detection`` (NanoDet, COCO's 80
classes, onnxruntime; :mod:`~sdcomp_lite.evaluation.detection`), the family
``detection:<class>[+<class>...]`` (the same detector scored on the classes a prompt names, e.g.
``detection:person``, headline ``ap50_named``) and ``classification``
(EfficientNet-Lite0, ImageNet-1k, torch; :mod:`~sdcomp_lite.evaluation.classification`). With
weights you bring: ``torchvision-classification`` (any torchvision classifier), captioning and VQA
(transformers). Each task class names its model in ``backend``.

Taught in notebooks/04_progressive_decoding.ipynb (section 3) and notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.evaluation.classification import ClassificationTask
from sdcomp_lite.evaluation.detection import NAMED_PREFIX, DetectionTask, named_detection_class, named_detection_task
from sdcomp_lite.evaluation.task_base import PseudoReferenceTask, Reference, Task, wants_annotations
from sdcomp_lite.metrics import mask_iou, score_grounding
from sdcomp_lite.registry import Registry
from sdcomp_lite.types import SceneObject


def _union(objects: list[SceneObject], shape) -> np.ndarray:
    return np.logical_or.reduce([o.mask for o in objects]) if objects else np.zeros(shape, bool)


class _MediaPipeTask(PseudoReferenceTask):
    """Shared by the MediaPipe tasks: the model, asked for one class."""

    target = ""
    backend = "mediapipe (tflite)"

    def __init__(self) -> None:
        from sdcomp_lite.grounding.mediapipe_models import MediaPipeGrounder

        self.model = MediaPipeGrounder()

    def run(self, image: np.ndarray) -> list[SceneObject]:
        return self.model.ground(image, self.target)


class PersonSegmentationTask(_MediaPipeTask):
    """People as masks (MediaPipe), scored by IoU of the union of people masks (1.0 when the original has no person).

    Which regions are people is decided once, on the original: the reference is the grounder's people
    (selfie-segmentation regions confirmed by a body or a face). On a decoded image the task reads the
    segmentation alone (:meth:`MediaPipeGrounder.person_candidates`), and a region counts as a person
    where it overlaps a reference person. Asking the pose and face models again on every decoded image
    made the score drop to 0 whenever they missed a body the mask still covered: 10% of whole-image
    AVIF points of the first coco-val128 sweep scored exactly 0 that way, between neighbours near 0.9.
    """

    name = "person-segmentation"
    metric = "miou"
    prompt = "find every person"
    target = "person"

    def reference(self, sample, wanted: str = "pseudo") -> Reference:
        """The people the grounder finds and confirms on the original (pseudo ground truth)."""
        wants_annotations(wanted)
        return Reference(super().run(sample.image), "pseudo")

    def run(self, image: np.ndarray) -> list[SceneObject]:
        """Every person-like region the segmentation finds, unconfirmed (see the class docstring)."""
        return self.model.person_candidates(image)

    def score(self, prediction, reference) -> dict[str, float]:
        """IoU of the predicted regions that overlap a reference person, against the reference people."""
        shape = reference[0].mask.shape if reference else (prediction[0].mask.shape if prediction else (1, 1))
        people = _union(reference, shape)
        kept = [region for region in prediction if (region.mask & people).any()]
        return {"miou": mask_iou(_union(kept, shape), people)}


class FaceDetectionTask(_MediaPipeTask):
    """Faces as boxes (MediaPipe); scored by box AP at IoU 0.5 (pycocotools)."""

    name = "face-detection"
    metric = "ap50"
    prompt = "find every face"
    target = "face"

    def score(self, prediction, reference) -> dict[str, float]:
        result = score_grounding([(prediction, reference)], class_agnostic=False)
        return {"ap50": result.box_ap50, "recall50": result.recall50}


class InstanceSegmentationTask:
    """Objects with masks from a grounder (default: the offline one); box AP50, recall and mask IoU.

    Reference: the sample's annotated objects when the sweep wants annotations and the sample has
    some (class-agnostic scoring, so any label counts), else the grounder's objects on the original.
    """

    name = "instance-segmentation"
    metric = "ap50"
    prompt = "find every object"

    def __init__(self, grounder: str = "offline") -> None:
        from sdcomp_lite.grounding import get_grounder

        self.model = get_grounder(grounder)
        self.backend = f"grounder {grounder!r}"

    def run(self, image: np.ndarray) -> list[SceneObject]:
        return self.model.ground(image)

    def reference(self, sample, wanted: str = "pseudo") -> Reference:
        """The sample's objects if ``wanted == "annotations"`` and it has any, else pseudo ground truth."""
        if wants_annotations(wanted) and sample.objects:
            return Reference(list(sample.objects), "annotations")
        return Reference(self.run(sample.image), "pseudo")

    def score(self, prediction, reference) -> dict[str, float]:
        result = score_grounding([(prediction, reference)], class_agnostic=True)
        matched_iou = result.mean_mask_iou if result.matches else 0.0
        return {"ap50": result.box_ap50, "recall50": result.recall50, "mask_iou": matched_iou}


class PoseTask(PseudoReferenceTask):
    """Body keypoints (MediaPipe pose); PCK@0.1: share of the 33 keypoints within 10% of the
    reference skeleton's bounding-box diagonal of their reference position."""

    name = "pose"
    metric = "pck"
    prompt = "find every person's body pose"
    backend = "mediapipe pose (tflite)"

    def run(self, image: np.ndarray) -> np.ndarray | None:

        from sdcomp_lite.models import mediapipe_solutions, quiet_mediapipe

        with quiet_mediapipe(), mediapipe_solutions().pose.Pose(static_image_mode=True) as model:
            result = model.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return None
        height, width = image.shape[:2]
        return np.array([[p.x * width, p.y * height] for p in result.pose_landmarks.landmark])

    def score(self, prediction, reference) -> dict[str, float]:
        if reference is None:
            return {"pck": float("nan")}
        if prediction is None:
            return {"pck": 0.0}
        diagonal = max(float(np.hypot(*np.ptp(reference, axis=0))), 1.0)
        distance = np.linalg.norm(prediction - reference, axis=1)
        return {"pck": float(np.mean(distance < 0.1 * diagonal))}


class TorchvisionClassificationTask(PseudoReferenceTask):
    """Image classification with a torchvision model; top-1 and top-5 agreement with the reference.

    ``model``: a torchvision model name (weights downloaded when online, or ``weights_path`` for a
    local state dict) or a ready ``torch.nn.Module``. The offline classifier is the
    ``classification`` task (:class:`~sdcomp_lite.evaluation.classification.ClassificationTask`).
    """

    name = "torchvision-classification"
    metric = "top1"
    prompt = "name the main object in the image"

    def __init__(self, model="resnet50", weights_path: str | None = None, image_size: int = 224) -> None:
        import torch
        import torchvision

        if isinstance(model, str):
            if weights_path:
                network = torchvision.models.get_model(model, weights=None)
                network.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
            else:
                network = torchvision.models.get_model(model, weights="DEFAULT")
        else:
            network = model
        self.network = network.eval()
        self.image_size = image_size
        self.backend = f"torchvision {model if isinstance(model, str) else type(model).__name__} (torch)"

    def run(self, image: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        tensor = torch.from_numpy(np.array(image)).float().permute(2, 0, 1)[None] / 255.0
        tensor = F.interpolate(tensor, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        mean = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None]
        std = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None]
        with torch.no_grad():
            logits = self.network((tensor - mean) / std)[0]
        return torch.argsort(logits, descending=True)[:5].numpy()

    def score(self, prediction, reference) -> dict[str, float]:
        return {"top1": float(prediction[0] == reference[0]), "top5": float(reference[0] in prediction[:5])}


def _normalise(text: str) -> str:
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


class CaptioningTask(PseudoReferenceTask):
    """A transformers captioner (``image-to-text``); scored by the cosine similarity of the caption's
    MiniLM embedding with the reference caption's (an embedding similarity, not CIDEr)."""

    name = "captioning"
    metric = "caption_similarity"
    prompt = "describe the whole scene in one sentence"

    def __init__(self, model: str, max_new_tokens: int = 30, encoder=None) -> None:
        from sdcomp_lite.models import load_pretrained, load_text_encoder

        self.processor, self.model = load_pretrained(model, "AutoModelForImageTextToText")
        self.backend = f"{model} (transformers)"
        self.max_new_tokens = max_new_tokens
        self.encoder = encoder or load_text_encoder()

    def run(self, image: np.ndarray) -> str:
        import torch

        inputs = self.processor(images=np.array(image), return_tensors="pt")
        with torch.no_grad():
            tokens = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.processor.batch_decode(tokens, skip_special_tokens=True)[0].strip()

    def score(self, prediction: str, reference: str) -> dict[str, float]:
        vectors = self.encoder.encode([prediction or " ", reference or " "], normalize_embeddings=True)
        return {"caption_similarity": float(vectors[0] @ vectors[1]),
                "exact": float(_normalise(prediction) == _normalise(reference))}


@dataclass(frozen=True)
class Question:
    """A hand-written question about a sample image, with its accepted answers."""

    image: str
    question: str
    answers: tuple[str, ...]


def load_questions(image: str | None = None, path=None) -> list[Question]:
    """The questions of ``data/vqa_questions.json`` (for one image, or all)."""
    import json
    from pathlib import Path

    from sdcomp_lite.data import data_dir
    from sdcomp_lite.errors import DataFileError

    path = Path(path) if path else data_dir() / "vqa_questions.json"
    try:
        raw = json.loads(path.read_text())["questions"]
        questions = [Question(q["image"], q["question"], tuple(q["answers"])) for q in raw]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise DataFileError(f"cannot read questions from {path}: {error}") from error
    return [q for q in questions if image is None or q.image == image]


class VQATask(PseudoReferenceTask):
    """Visual question answering with a transformers VQA model; accuracy = the normalised answer
    matches one of the accepted answers (the references of :func:`load_questions`, or, with
    pseudo ground truth, the model's answers on the original)."""

    name = "vqa"
    metric = "accuracy"
    prompt = "answer questions about the image"

    def __init__(self, model: str, questions: list[str], max_new_tokens: int = 10) -> None:
        from sdcomp_lite.models import load_pretrained

        self.processor, self.model = load_pretrained(model, "AutoModelForVisualQuestionAnswering")
        self.backend = f"{model} (transformers)"
        self.questions = questions
        self.max_new_tokens = max_new_tokens

    def run(self, image: np.ndarray) -> list[str]:
        import torch

        answers = []
        for question in self.questions:
            inputs = self.processor(images=np.array(image), text=question, return_tensors="pt")
            with torch.no_grad():
                tokens = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            answers.append(self.processor.batch_decode(tokens, skip_special_tokens=True)[0].strip())
        return answers

    def score(self, prediction: list[str], reference) -> dict[str, float]:
        accepted = [r if isinstance(r, (list, tuple)) else [r] for r in reference]
        hits = [_normalise(p) in {_normalise(a) for a in ok} for p, ok in zip(prediction, accepted)]
        return {"accuracy": float(np.mean(hits)) if hits else float("nan")}


TASKS: Registry[Task] = Registry("task")
TASKS.add("person-segmentation", "people as masks (MediaPipe); IoU of the union of people masks", PersonSegmentationTask)
TASKS.add("face-detection", "faces as boxes (MediaPipe); box AP at IoU 0.5", FaceDetectionTask)
TASKS.add("instance-segmentation", "objects with masks from a grounder (default: offline); box AP50", InstanceSegmentationTask)
TASKS.add("pose", "33 body keypoints (MediaPipe pose); PCK@0.1", PoseTask)
TASKS.add("detection", "COCO objects as boxes (NanoDet, onnxruntime; classes= for ap50_named); box AP50 and AP", DetectionTask)
TASKS.add(NAMED_PREFIX, "the COCO classes a prompt names, e.g. detection:person or detection:car+bus+truck "
          "(NanoDet); box AP50 of those classes", named_detection_task, prefix=True)
TASKS.add("classification", "ImageNet classes (EfficientNet-Lite0, torch); top-1 agreement", ClassificationTask)
TASKS.add("torchvision-classification", "a torchvision classifier (model=, weights_path=); top-1 agreement",
          TorchvisionClassificationTask)
TASKS.add("captioning", "a transformers captioner (model=); caption embedding similarity", CaptioningTask)
TASKS.add("vqa", "a transformers VQA model (model=, questions=); answer accuracy", VQATask)


def get_task(name: str, **options) -> Task:
    """The task called ``name`` (see ``TASKS.available()``); ``options`` go to its constructor."""
    return TASKS.get(name, **options)


def task_class(name: str) -> type:
    """The class registered as ``name``: its ``metric`` and ``prompt`` without loading a model.

    For a family name (``detection:person``) the class of that member (:func:`named_detection_class`);
    an unknown name, or a family member naming an unknown class, raises UnknownBackendError.
    """
    if name not in TASKS:
        raise UnknownBackendError(f"unknown task {name!r}; choose one of: {', '.join(TASKS.names())}")
    if isinstance(name, str) and name.startswith(NAMED_PREFIX):
        return named_detection_class(name[len(NAMED_PREFIX):])
    return TASKS.entries[name].factory
