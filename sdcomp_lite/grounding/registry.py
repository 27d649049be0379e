"""Grounders by name: :data:`GROUNDERS`, one registry line per backend (as CompressAI's zoo does it).

Add a backend: write a class with ``name`` and ``ground(image, prompt) -> list[SceneObject]``,
then one line here, e.g. ``GROUNDERS.add("mine", "what it finds", _lazy("mymodule", "MyGrounder"))``.
Factories import their module only when called, so listing the names loads no model.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sdcomp_lite.grounding.base import Grounder
from sdcomp_lite.registry import Registry, lazy


def _lazy(module: str, attribute: str) -> Callable[..., Grounder]:
    """A factory that imports ``sdcomp_lite.grounding.<module>`` only when a grounder is built."""
    return lazy(f"sdcomp_lite.grounding.{module}", attribute)


def _detector_pipeline(detector_name: str, refiner_name: str = "", model: str | None = None, threshold: float = 0.3,
                       sam_checkpoint: str | None = None, sam_type: str = "vit_b") -> Grounder:
    """A zero-shot detector, alone (``refiner_name=""``) or followed by a ``"sam"`` or ``"grabcut"`` refiner."""
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


GROUNDERS: Registry[Grounder] = Registry("grounding backend")
GROUNDERS.add("offline", "default: NanoDet-g's 80 COCO classes (GrabCut masks) + MediaPipe people and faces (no downloads)",
              _lazy("offline", "OfflineGrounder"))
GROUNDERS.add("mediapipe", "MediaPipe's packaged person segmentation and face detection (no downloads)",
              _lazy("mediapipe_models", "MediaPipeGrounder"))
GROUNDERS.add("saliency", "OpenCV static saliency + GrabCut: unnamed 'salient object' regions (no downloads)",
              _lazy("saliency", "SaliencyGrounder"))
GROUNDERS.add("annotations", "the COCO annotations in data/ (the reference; path= another COCO file)",
              _lazy("annotations", "AnnotationGrounder"))
GROUNDERS.add("owlv2", "OWLv2 open-vocabulary boxes (transformers; model= local folder or hub id)",
              partial(_detector_pipeline, "owlv2"))
GROUNDERS.add("grounding-dino", "Grounding DINO open-vocabulary boxes (transformers; model= folder or hub id)",
              partial(_detector_pipeline, "grounding-dino"))
for _detector in ("owlv2", "grounding-dino"):
    GROUNDERS.add(f"{_detector}+sam", "detector boxes, SAM masks (sam_checkpoint= path, sam_type=)",
                  partial(_detector_pipeline, _detector, "sam"))
    GROUNDERS.add(f"{_detector}+grabcut", "detector boxes, GrabCut masks", partial(_detector_pipeline, _detector, "grabcut"))
GROUNDERS.add("nanodet", "NanoDet-g: the 80 COCO classes as boxes (shipped ONNX on onnxruntime; no downloads)",
              _lazy("nanodet", "NanoDetDetector"))


def available_grounders() -> dict[str, str]:
    """Every backend name with a one-line description (offline ones run here with no downloads)."""
    return GROUNDERS.available()


def get_grounder(name: str, **options) -> Grounder:
    """The grounder called ``name`` (see :func:`available_grounders`); ``options`` go to its constructor.

    Options: ``path`` (annotations file), ``model`` (detector folder or hub id), ``threshold``,
    ``sam_checkpoint`` and ``sam_type`` (for ``+sam``). Unknown names raise
    :class:`~sdcomp_lite.errors.UnknownBackendError` listing the choices.
    """
    return GROUNDERS.get(name, **options)
