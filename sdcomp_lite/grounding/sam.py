"""Segment Anything (``segment_anything``) turning boxes into masks, from a local checkpoint.

Taught in notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sdcomp_lite.models import load_sam


class SamRefiner:
    """``SamPredictor``: ``set_image`` once, then one ``predict(box=...)`` per box.

    Give it a SAM model (``segment_anything.modeling.Sam``) or a ready ``predictor``: anything
    with SamPredictor's ``set_image(image)`` and ``predict(box=..., multimask_output=...)``.
    """

    name = "sam"

    def __init__(self, model: torch.nn.Module | None = None, predictor=None) -> None:
        if predictor is None:
            if model is None:
                raise TypeError("SamRefiner needs a SAM model or a predictor")
            from segment_anything import SamPredictor

            predictor = SamPredictor(model.eval())
        self.predictor = predictor

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, model_type: str = "vit_b") -> SamRefiner:
        """SAM ``model_type`` (vit_b, vit_l, vit_h) from a local checkpoint: see :func:`sdcomp_lite.models.load_sam`."""
        return cls(load_sam(checkpoint, model_type))

    def refine(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
        """One bool (H, W) mask per box for a uint8 (H, W, 3) image.

        Each box is ``(x0, y0, x1, y1)`` in the image's pixels and reaches SAM as that float32
        array of shape (4,): SamPredictor's ``box`` is XYXY in the original image's coordinates.
        """
        if not boxes:
            return []
        self.predictor.set_image(np.ascontiguousarray(image))
        masks = []
        for box in boxes:
            with torch.no_grad():
                predicted, _, _ = self.predictor.predict(box=np.asarray(box, dtype=np.float32), multimask_output=False)
            masks.append(np.asarray(predicted[0], dtype=bool))
        return masks
