"""Progressive decoding, step by step: what each prefix of an ``.sdc`` file decodes to (:class:`ProgressiveStep`,
:func:`progressive_steps`), as a table (:func:`format_steps`), the steps that change the picture
(:func:`changed_steps`) and the last step that fits a byte budget (:func:`last_within`).

The demo (:mod:`sdcomp_lite.demo`) and the figures (:mod:`sdcomp_lite.plotting`) both use them; they live here,
beside decoding, so that neither imports the other for them.

Taught in ``notebooks/00_quickstart.ipynb`` and ``notebooks/04_progressive_decoding.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdcomp_lite.coding.layer_table import layer_name
from sdcomp_lite.coding.layered import DecodedImage, EncodedImage, decode_progressive
from sdcomp_lite.metrics import psnr


@dataclass(frozen=True)
class ProgressiveStep:
    """What decoding the first ``layers`` layers gives.

    ``kind`` and ``object_id`` are those of the last layer decoded (as in the layer table: kind
    ``"preview"``, ``"object"`` or ``"background"``; id 0 for preview and background).
    """

    layers: int
    label: str
    kind: str
    object_id: int
    num_bytes: int  # header, table and the first ``layers`` layers
    bpp: float  # 8 * num_bytes / pixels
    coverage: float  # fraction of pixels decoded by an object or background layer
    psnr_covered: float  # dB, on the decoded pixels only (nan when none is decoded)
    psnr_image: float  # dB, on the whole image as shown (undecoded pixels filled from the preview)
    decoded: DecodedImage

    @property
    def image(self) -> np.ndarray:
        """The picture this prefix decodes to (uint8 (H, W, 3) or (H, W))."""
        return self.decoded.image

    @property
    def caption(self) -> str:
        """E.g. "3 layers (+id 1 person)": how many layers, and the last one with its object id."""
        return f"{self.layers} layer{'s' if self.layers > 1 else ''} (+{layer_name(self.kind, self.object_id, self.label)})"


def progressive_steps(image: np.ndarray, encoded: EncodedImage) -> list[ProgressiveStep]:
    """Decode the layers once, in order, and measure the image after each (1, 2, ..., all layers)."""
    steps = []
    for count, decoded in enumerate(decode_progressive(encoded.data), start=1):
        num_bytes, covered, layer = encoded.prefix_bytes(count), decoded.coverage, encoded.layers[count - 1]
        steps.append(ProgressiveStep(
            layers=count, label=layer.label, kind=layer.kind, object_id=layer.object_id, num_bytes=num_bytes,
            bpp=8 * num_bytes / covered.size, coverage=float(covered.mean()),
            psnr_covered=psnr(image[covered], decoded.image[covered]) if covered.any() else math.nan,
            psnr_image=psnr(image, decoded.image), decoded=decoded,
        ))
    return steps


def format_steps(steps: list[ProgressiveStep]) -> str:
    """A plain-text table of the progressive steps ("-" where no pixel is decoded yet)."""
    lines = [f"{'layers':>6}  {'last layer':<22}{'bytes':>8}{'bpp':>8}{'covered':>9}"
             f"{'PSNR covered':>14}{'PSNR image':>12}"]
    for s in steps:
        covered = "-" if math.isnan(s.psnr_covered) else f"{s.psnr_covered:.2f} dB"
        lines.append(f"{s.layers:>6}  {s.label[:21]:<22}{s.num_bytes:>8}{s.bpp:>8.3f}{s.coverage:>9.1%}"
                     f"{covered:>14}{s.psnr_image:>9.2f} dB")
    return "\n".join(lines)


def changed_steps(steps: list[ProgressiveStep]) -> list[ProgressiveStep]:
    """The steps whose picture differs from the step before (a layer inside an earlier one, such as a
    face inside its person, may change no pixel); the first step is always kept."""
    return [s for i, s in enumerate(steps) if i == 0 or not np.array_equal(s.decoded.image, steps[i - 1].decoded.image)]


def last_within(steps, num_bytes: int):
    """The last step (anything with ``num_bytes``, in arrival order) that fits in ``num_bytes`` bytes, or None."""
    fitting = [s for s in steps if s.num_bytes <= num_bytes]
    return fitting[-1] if fitting else None
