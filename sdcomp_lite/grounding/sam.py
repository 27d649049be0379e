"""Segment Anything (``segment_anything``) turning boxes into masks, from a local checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError


class SamRefiner:
    """``SamPredictor``: ``set_image`` once, then one ``predict(box=...)`` per box."""

    name = "sam"

    def __init__(self, model: torch.nn.Module) -> None:
        from segment_anything import SamPredictor

        model.eval()
        self.predictor = SamPredictor(model)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, model_type: str = "vit_b") -> SamRefiner:
        """Build ``model_type`` (vit_b, vit_l, vit_h) and load the checkpoint with ``weights_only=True``.

        Checkpoints: https://github.com/facebookresearch/segment-anything#model-checkpoints
        (e.g. sam_vit_b_01ec64.pth); download one where you are online and pass its path.
        """
        from segment_anything import sam_model_registry

        if model_type not in sam_model_registry or model_type == "default":
            raise UnknownBackendError(f"unknown SAM model type {model_type!r}; choose vit_b, vit_l or vit_h")
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise BackendUnavailableError(
                f"SAM checkpoint not found: {path}. Download e.g. sam_vit_b_01ec64.pth from the segment-anything "
                "repository's model checkpoints and pass its path (and model_type='vit_b')."
            )
        model = sam_model_registry[model_type](checkpoint=None)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return cls(model)

    def refine(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
        """One bool (H, W) mask per box (xyxy pixels) for a uint8 (H, W, 3) image."""
        if not boxes:
            return []
        self.predictor.set_image(np.ascontiguousarray(image))
        masks = []
        for box in boxes:
            with torch.no_grad():
                predicted, _, _ = self.predictor.predict(box=np.asarray(box, dtype=np.float32), multimask_output=False)
            masks.append(np.asarray(predicted[0], dtype=bool))
        return masks
