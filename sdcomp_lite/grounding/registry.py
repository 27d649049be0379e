"""Grounders by name, as transformers' Auto classes and CompressAI's zoo do it."""

from __future__ import annotations

from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.grounding.base import Grounder

OFFLINE = ("offline", "mediapipe", "saliency", "annotations")
WITH_WEIGHTS = ("owlv2", "grounding-dino", "owlv2+sam", "grounding-dino+sam", "owlv2+grabcut", "grounding-dino+grabcut")


def available_grounders() -> dict[str, str]:
    """Every backend name with a one-line description (offline ones run here with no downloads)."""
    return {
        "offline": "default: MediaPipe people and faces + OpenCV salient regions (no downloads)",
        "mediapipe": "MediaPipe's packaged person segmentation and face detection (no downloads)",
        "saliency": "OpenCV static saliency + GrabCut: unnamed 'salient object' regions (no downloads)",
        "annotations": "the COCO annotations in data/ (the reference)",
        "owlv2": "OWLv2 open-vocabulary boxes (transformers; model= local folder or hub id)",
        "grounding-dino": "Grounding DINO open-vocabulary boxes (transformers; model= folder or hub id)",
        "owlv2+sam / grounding-dino+sam": "detector boxes, SAM masks (sam_checkpoint= path)",
        "owlv2+grabcut / grounding-dino+grabcut": "detector boxes, GrabCut masks",
    }


def get_grounder(name: str, **options) -> Grounder:
    """The grounder called ``name``.

    Options: ``path`` (annotations file), ``model`` (detector folder or hub id), ``threshold``,
    ``sam_checkpoint`` and ``sam_type`` (for ``+sam``).
    """
    if name == "offline":
        from sdcomp_lite.grounding.offline import OfflineGrounder

        return OfflineGrounder(**options)
    if name == "mediapipe":
        from sdcomp_lite.grounding.mediapipe_models import MediaPipeGrounder

        return MediaPipeGrounder(**options)
    if name == "saliency":
        from sdcomp_lite.grounding.saliency import SaliencyGrounder

        return SaliencyGrounder(**options)
    if name == "annotations":
        from sdcomp_lite.grounding.annotations import AnnotationGrounder

        return AnnotationGrounder(options.get("path"))
    detector_name, _, refiner_name = name.partition("+")
    if detector_name in ("owlv2", "grounding-dino") and refiner_name in ("", "sam", "grabcut"):
        return _detector_pipeline(detector_name, refiner_name, **options)
    raise UnknownBackendError(
        f"unknown grounding backend {name!r}; choose one of: {', '.join(OFFLINE + WITH_WEIGHTS)}"
    )


def _detector_pipeline(detector_name: str, refiner_name: str, model: str | None = None, threshold: float = 0.3,
                       sam_checkpoint: str | None = None, sam_type: str = "vit_b") -> Grounder:
    from sdcomp_lite.grounding.transformers_detector import DEFAULT_MODELS, ZeroShotDetector

    if refiner_name == "sam":  # check the cheap thing first: a missing checkpoint fails before any model loads
        from sdcomp_lite.grounding.sam import SamRefiner

        refiner = SamRefiner.from_checkpoint(sam_checkpoint or "", sam_type)
    detector = ZeroShotDetector(model or DEFAULT_MODELS[detector_name], detector_name, threshold)
    if not refiner_name:
        return detector
    from sdcomp_lite.grounding.pipeline import DetectThenSegment

    if refiner_name == "grabcut":
        from sdcomp_lite.grounding.refine import GrabCutRefiner

        refiner = GrabCutRefiner()
    return DetectThenSegment(detector, refiner)
