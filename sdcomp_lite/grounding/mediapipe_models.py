"""The packaged MediaPipe models (inside the ``mediapipe==0.10.14`` wheel): people and faces.

- person: the selfie-segmentation model (landscape variant) gives a foreground-probability map;
  each connected region above 0.5 (and at least 0.5% of the image) is a candidate. That model
  calls any foreground a person (a cat, a cup), so a candidate (``person_candidates``) is kept only
  if the pose model finds a body in it or the face detector a face.
- face: the face detector (short- and full-range models, results merged by box overlap); each
  face's mask is the ellipse inscribed in its box (a face is close to an ellipse; GrabCut inside
  a tight face box has too little background to learn from).

These are the only classes it can find. Both models are small and run on a CPU in tens of ms.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.draw import ellipse

from sdcomp_lite.grounding.base import matches_prompt, object_from_mask, parse_prompt, rgb_array, sort_objects
from sdcomp_lite.metrics import box_iou
from sdcomp_lite.models import mediapipe_solutions, quiet_mediapipe
from sdcomp_lite.types import SceneObject

__all__ = ["MediaPipeGrounder", "ellipse_mask", "quiet_mediapipe"]  # quiet_mediapipe: re-exported from models

MIN_PERSON_FRACTION = 0.005
MIN_SIDE = 16  # smaller images hold no detectable person or face
SAME_FACE_IOU = 0.5  # face boxes of the two detectors that overlap this much are one face


class MediaPipeGrounder:
    """People (selfie segmentation) and faces (face detection) from MediaPipe's packaged models."""

    name = "mediapipe"

    def __init__(self, person_threshold: float = 0.5, face_threshold: float = 0.5) -> None:
        self.person_threshold = person_threshold
        self.face_threshold = face_threshold
        self._mp = mediapipe_solutions()

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        pixels = rgb_array(image)
        if min(pixels.shape[:2]) < MIN_SIDE:
            return []
        wanted = parse_prompt(prompt)
        found: list[SceneObject] = []
        with quiet_mediapipe():
            faces = self.faces(pixels)
            if matches_prompt("person", wanted):
                found += self.people(pixels, faces)
            if matches_prompt("face", wanted):
                found += faces
        return sort_objects(found)

    def people(self, pixels: np.ndarray, faces: list[SceneObject]) -> list[SceneObject]:
        """People: selfie-segmentation regions (:meth:`person_candidates`) confirmed by a body (pose) or a face inside them."""
        candidates = self.person_candidates(pixels)
        if not candidates:
            return []
        evidence = self._body_mask(pixels)
        for face in faces:
            evidence |= face.mask
        return [candidate for candidate in candidates if (candidate.mask & evidence).any()]

    def person_candidates(self, pixels: np.ndarray) -> list[SceneObject]:
        """Every connected selfie-segmentation region above ``person_threshold`` covering at least
        :data:`MIN_PERSON_FRACTION` of the image, unconfirmed (``pixels``: uint8 RGB (H, W, 3))."""
        pixels = rgb_array(pixels)
        if min(pixels.shape[:2]) < MIN_SIDE:
            return []
        with quiet_mediapipe(), self._mp.selfie_segmentation.SelfieSegmentation(model_selection=1) as model:
            probability = model.process(pixels).segmentation_mask
        if probability is None:
            return []
        binary = (probability > self.person_threshold).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        masks = (labels == component for component in range(1, count)
                 if stats[component, cv2.CC_STAT_AREA] >= MIN_PERSON_FRACTION * binary.size)
        return [object_from_mask("person", mask, float(probability[mask].mean()), self.name) for mask in masks]

    def _body_mask(self, pixels: np.ndarray) -> np.ndarray:
        """Where the pose model sees a body (empty if it finds none)."""
        with self._mp.pose.Pose(static_image_mode=True, enable_segmentation=True) as model:
            result = model.process(pixels)
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return np.zeros(pixels.shape[:2], bool)
        return result.segmentation_mask > 0.5

    def faces(self, pixels: np.ndarray) -> list[SceneObject]:
        height, width = pixels.shape[:2]
        boxes: list[tuple[tuple[float, float, float, float], float]] = []
        for model_selection in (0, 1):
            with self._mp.face_detection.FaceDetection(
                model_selection=model_selection, min_detection_confidence=self.face_threshold
            ) as model:
                result = model.process(pixels)
            for detection in result.detections or []:
                rel = detection.location_data.relative_bounding_box
                box = (
                    max(0.0, rel.xmin * width), max(0.0, rel.ymin * height),
                    min(float(width), (rel.xmin + rel.width) * width), min(float(height), (rel.ymin + rel.height) * height),
                )
                score = float(detection.score[0])
                if not boxes or box_iou([box], [kept for kept, _ in boxes]).max() < SAME_FACE_IOU:
                    boxes.append((box, score))
        return [SceneObject(0, "face", box, ellipse_mask(box, height, width), score=score, source=self.name)
                for box, score in boxes]


def ellipse_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """The filled ellipse inscribed in an ``(x0, y0, x1, y1)`` box: bool (height, width).

    A pixel is inside when its centre is (``skimage.draw.ellipse``; pixel (row, col) has its centre
    at (row + 0.5, col + 0.5) in box coordinates). Each semi-axis is at least half a pixel.
    """
    x0, y0, x1, y1 = box
    centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
    radius_x, radius_y = max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
    rows, cols = ellipse(centre_y - 0.5, centre_x - 0.5, radius_y, radius_x, shape=(height, width))
    mask = np.zeros((height, width), dtype=bool)
    mask[rows, cols] = True
    return mask
