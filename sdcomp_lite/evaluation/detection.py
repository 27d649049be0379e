"""The offline ``detection`` task: the shipped NanoDet COCO detector on the decoded image.

The detector is :class:`sdcomp_lite.grounding.nanodet.NanoDetDetector` (an ONNX file inside the
package, run by onnxruntime); any object with the same ``detect`` method can stand in for it.

Scored as image coding for machines reports detection (MPEG FCM/VCM): COCO box AP with
pycocotools over the 80 COCO classes, class-aware (:func:`sdcomp_lite.metrics.box_average_precision`):

- ``ap50``: AP at IoU 0.5, the headline; ``ap``: AP averaged over IoU 0.50:0.95;
- ``ap50_named``: AP50 of the classes the task was built with (e.g. a prompt's ``("dog", "couch")``),
  only when it was built with some.

Predictions keep every detection scoring at least ``score_threshold`` (0.05: AP needs the
low-confidence tail too). The reference, per original image:

- ``"annotations"`` (when the sweep asks for them): the sample's annotated objects whose label
  is a COCO class. Other labels are skipped: in ``data/`` that keeps person, cat, cup and spoon
  and skips helmet, space shuttle model, flag, face, eyes, saucer, rocket and launch tower; in
  the shared COCO photographs it skips the COCO-stuff classes (wall, grass, ...). An image with
  no such object (data/'s rocket) falls back to pseudo ground truth. Annotations in ``data/``
  are not exhaustive: an unannotated COCO object the detector finds counts as a false alarm.
- ``"pseudo"`` otherwise: the detector's own confident detections on the original image (score
  >= ``reference_threshold``, 0.3, NanoDet's usual display threshold).

**Detection of the classes a prompt names** is a family of task names, ``detection:<class>[+<class>...]``
(``detection:person``, ``detection:car+bus+truck``, ``detection:traffic light``: COCO's names as
:data:`~sdcomp_lite.grounding.nanodet.COCO_CLASSES` spells them). Each is a
:class:`NamedDetectionTask`: the same detector, its reference cut to the named classes (so a
photograph without them has nothing to find and the sweep skips it), scored by ``ap50_named`` (the
headline) and ``ap_named``, and ranked with the prompt "find every car, every bus and every truck".
:func:`named_detection_class` builds the class of a name without loading the detector.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

import numpy as np

from sdcomp_lite.errors import InvalidParameterError, UnknownBackendError
from sdcomp_lite.evaluation.task_base import Reference, wants_annotations
from sdcomp_lite.metrics import box_average_precision
from sdcomp_lite.types import SceneObject

PREDICTION_THRESHOLD = 0.05  # detections kept for AP (COCO evaluation wants the low-score tail)
REFERENCE_THRESHOLD = 0.3  # pseudo ground truth: the detector's confident detections on the original
NAMED_PREFIX = "detection:"  # the family of tasks that name their classes: "detection:car+bus"
CLASS_SEPARATOR = "+"
MAX_NAMED_CLASSES = 80  # COCO has 80 classes; a name never needs more


class DetectionTask:
    """COCO objects as boxes (NanoDet, onnxruntime); class-aware box AP50 and AP[.5:.95] (pycocotools).

    ``classes``: class names to report AP50 of (``ap50_named``), e.g. those a prompt names; each
    must be in the detector's vocabulary. ``detector``: anything with ``detect(rgb uint8 (H, W, 3))
    -> list[SceneObject]`` (labels, boxes, scores); default the shipped NanoDet at ``score_threshold``.
    ``vocabulary``: the class names the detector can find (default: COCO's 80), which decides the
    annotations it is scored against.
    """

    name = "detection"
    metric = "ap50"
    prompt = "find every object"
    backend = "nanodet (onnxruntime)"  # the default detector; another one is named by its class

    def __init__(self, classes: Collection[str] = (), detector=None, vocabulary: Collection[str] | None = None,
                 score_threshold: float = PREDICTION_THRESHOLD, reference_threshold: float = REFERENCE_THRESHOLD) -> None:
        if not 0.0 <= score_threshold <= reference_threshold <= 1.0:
            raise InvalidParameterError(f"need 0 <= score_threshold ({score_threshold}) <= reference_threshold "
                                        f"({reference_threshold}) <= 1; AP needs predictions below the reference's threshold")
        if detector is not None:
            self.backend = type(detector).__name__
        if detector is None or vocabulary is None:
            from sdcomp_lite.grounding.nanodet import COCO_CLASSES, NanoDetDetector

            detector = detector if detector is not None else NanoDetDetector(score_threshold=score_threshold)
            vocabulary = vocabulary if vocabulary is not None else COCO_CLASSES
        self.detector = detector
        self.vocabulary = frozenset(vocabulary)
        unknown = sorted(set(classes) - self.vocabulary)
        if unknown:
            raise InvalidParameterError(f"classes {unknown} are not in the detector's vocabulary; "
                                        f"choose among: {', '.join(sorted(self.vocabulary))}")
        self.classes = tuple(classes)
        self.score_threshold = score_threshold
        self.reference_threshold = reference_threshold

    def run(self, image: np.ndarray) -> list[SceneObject]:
        """Detections scoring at least ``score_threshold``: boxes ``(x0, y0, x1, y1)`` in pixels, COCO labels, scores."""
        return [obj for obj in self.detector.detect(image) if obj.score >= self.score_threshold]

    def reference(self, sample, wanted: str = "pseudo") -> Reference:
        """The sample's COCO-class annotations if ``wanted == "annotations"`` and it has any, else pseudo ground truth."""
        if wants_annotations(wanted):
            annotated = [obj for obj in sample.objects if obj.label in self.vocabulary]
            if annotated:
                return Reference(annotated, "annotations")
        confident = [obj for obj in self.run(sample.image) if obj.score >= self.reference_threshold]
        return Reference(confident, "pseudo")

    def score(self, prediction: list[SceneObject], reference: list[SceneObject]) -> dict[str, float]:
        overall = box_average_precision([(prediction, reference)])
        scores = {"ap50": overall.ap50, "ap": overall.ap}
        if self.classes:
            scores["ap50_named"] = box_average_precision([(prediction, reference)], classes=self.classes).ap50
        return scores


class NamedDetectionTask(DetectionTask):
    """Detection of the classes a prompt names: ``detection:<class>[+<class>...]`` (build one with
    :func:`named_detection_class` or ``get_task("detection:person")``).

    The detector and thresholds are :class:`DetectionTask`'s; the reference (annotations or pseudo
    ground truth, chosen as there) keeps only the named classes, so a photograph without any of
    them has an empty reference and a sweep skips it. Scores: ``ap50_named`` (headline) and
    ``ap_named``, COCO box AP50 and AP[.5:.95] averaged over the named classes present in the
    reference (equal to ``DetectionTask(classes=...)``'s ``ap50_named`` on the full reference).
    """

    metric = "ap50_named"
    named: tuple[str, ...] = ()  # set on each class of the family

    def __init__(self, detector=None, vocabulary: Collection[str] | None = None,
                 score_threshold: float = PREDICTION_THRESHOLD, reference_threshold: float = REFERENCE_THRESHOLD) -> None:
        if not self.named:
            raise InvalidParameterError("NamedDetectionTask needs its classes: build it with "
                                        "named_detection_class('person') or get_task('detection:person')")
        super().__init__(self.named, detector, vocabulary, score_threshold, reference_threshold)

    def reference(self, sample, wanted: str = "pseudo") -> Reference:
        """:meth:`DetectionTask.reference` cut to the named classes (empty when the photograph has none)."""
        full = super().reference(sample, wanted)
        return Reference([obj for obj in full.value if obj.label in self.classes], full.kind)

    def score(self, prediction: list[SceneObject], reference: list[SceneObject]) -> dict[str, float]:
        named = box_average_precision([(prediction, reference)], classes=self.classes)
        return {"ap50_named": named.ap50, "ap_named": named.ap}


def parse_named_classes(spec: str, vocabulary: Collection[str] | None = None) -> tuple[str, ...]:
    """The classes of ``"car+bus+truck"`` (the part of a task name after ``detection:``), in order.

    Each must be a class of ``vocabulary`` (default: COCO's 80, as NanoDet names them), given once.
    Raises :class:`~sdcomp_lite.errors.UnknownBackendError` naming the choices.
    """
    if vocabulary is None:
        from sdcomp_lite.grounding.nanodet import COCO_CLASSES

        vocabulary = COCO_CLASSES
    task = f"{NAMED_PREFIX}{spec}"[:200]
    classes = tuple(spec.split(CLASS_SEPARATOR)) if isinstance(spec, str) else ()
    if not classes or len(classes) > MAX_NAMED_CLASSES or any(not c for c in classes):
        raise UnknownBackendError(f"task {task!r}: name classes as detection:<class>[+<class>...], e.g. detection:person "
                                  "or detection:car+bus+truck (no empty names, no spaces around '+')")
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise UnknownBackendError(f"task {task!r} names {repeated[0]!r} twice; give each class once")
    unknown = [c for c in classes if c not in vocabulary]
    if unknown:
        raise UnknownBackendError(f"task {task!r}: {unknown[0][:60]!r} is not a class the detector knows; "
                                  f"choose among: {', '.join(sorted(vocabulary))}")
    return classes


def named_prompt(classes: Collection[str]) -> str:
    """The ranking prompt of a named detection task: "find every person", "find every car, every bus and every truck"."""
    wanted = [f"every {name}" for name in classes]
    listed = wanted[0] if len(wanted) == 1 else f"{', '.join(wanted[:-1])} and {wanted[-1]}"
    return f"find {listed}"


@functools.lru_cache(maxsize=256)
def named_detection_class(spec: str) -> type[NamedDetectionTask]:
    """The task class of ``detection:<spec>`` (``spec`` e.g. ``"car+bus"``): its ``name``, ``metric``
    (``ap50_named``), ``prompt`` and ``classes`` as class attributes, no model loaded. One class per spec."""
    classes = parse_named_classes(spec)
    attributes = {"name": f"{NAMED_PREFIX}{CLASS_SEPARATOR.join(classes)}", "named": classes,
                  "prompt": named_prompt(classes), "__module__": __name__,
                  "__doc__": f"Detection of {', '.join(classes)} (COCO box AP50 of those classes)."}
    return type(f"NamedDetectionTask[{CLASS_SEPARATOR.join(classes)}]", (NamedDetectionTask,), attributes)


def named_detection_task(spec: str, **options) -> NamedDetectionTask:
    """The task ``detection:<spec>`` with ``options`` for :class:`NamedDetectionTask` (the registry's factory)."""
    return named_detection_class(spec)(**options)
