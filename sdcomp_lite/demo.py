"""The main demo: encode a sample photograph, decode it layer by layer, save the pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sdcomp_lite.coding import DecodedImage, EncodedImage, decode_progressive, encode
from sdcomp_lite.data import load_sample
from sdcomp_lite.metrics import psnr


@dataclass(frozen=True)
class ProgressiveStep:
    """What decoding the first ``layers`` layers gives."""

    layers: int
    label: str
    num_bytes: int
    bpp: float
    coverage: float  # fraction of pixels decoded
    psnr_covered: float  # dB, on the decoded pixels only
    decoded: DecodedImage


def progressive_steps(image: np.ndarray, encoded: EncodedImage) -> list[ProgressiveStep]:
    """Decode the layers once, in order, and measure the image after each (1, 2, ..., all layers)."""
    steps = []
    for count, decoded in enumerate(decode_progressive(encoded.data), start=1):
        num_bytes = encoded.prefix_bytes(count)
        covered = decoded.coverage
        steps.append(
            ProgressiveStep(
                count, encoded.layers[count - 1].label, num_bytes, 8 * num_bytes / covered.size,
                float(covered.mean()), psnr(image[covered], decoded.image[covered]) if covered.any() else float("nan"),
                decoded,
            )
        )
    return steps


def run_demo(sample: str = "astronaut", quality: int = 50, output_dir: str | Path = "outputs") -> list[ProgressiveStep]:
    """Encode ``sample``, decode each prefix, write ``outputs/<sample>_layers_<k>.png`` and a strip.

    Returns the steps so that callers (and tests) can check the numbers.
    """
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    data = load_sample(sample)
    encoded = encode(data.image, list(data.objects), quality=quality, progress=True)
    (output / f"{sample}.sdc").write_bytes(encoded.data)
    steps = progressive_steps(data.image, encoded)
    for step in steps:
        Image.fromarray(step.decoded.image).save(output / f"{sample}_layers_{step.layers}.png")
    strip = np.concatenate([step.decoded.image for step in steps], axis=1)
    Image.fromarray(strip).save(output / f"{sample}_progressive.png")
    return steps


def format_steps(steps: list[ProgressiveStep]) -> str:
    """A plain-text table of the progressive steps."""
    lines = [f"{'layers':>6}  {'last layer':<22}{'bytes':>8}{'bpp':>8}{'covered':>9}{'PSNR':>8}"]
    for s in steps:
        lines.append(
            f"{s.layers:>6}  {s.label[:21]:<22}{s.num_bytes:>8}{s.bpp:>8.3f}{s.coverage:>8.1%}{s.psnr_covered:>7.2f}dB"
        )
    return "\n".join(lines)
