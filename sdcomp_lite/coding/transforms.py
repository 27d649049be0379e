"""Layer coders by name, as CompressAI's zoo keeps its models: a :class:`~sdcomp_lite.registry.Registry`.

A content transform codes the pixels of one region and decodes them back::

    encode_region(image uint8 (H, W, C), region bool (H, W), quality int 1..100) -> (payload, estimated_bits)
    decode_region(payload, region, channels, quality) -> uint8 (H, W, C), valid where region is True

and says ``name`` (stored in the header, at most 64 ASCII characters) and ``honours_quality``
(False for a learned model of one fixed rate; required). The codec hands each coder a window whose
corner lies on an 8-pixel grid (``layered.WINDOW_ALIGN``), so a coder's own blocks line up with the image's.
A coder that codes a region as one rectangle subclasses :class:`~sdcomp_lite.coding.region_coder.RegionCoder`
(crop, fill, paste) as AVIF, JPEG XL and the learned models do.

``avif`` is the default (it measures best, see ``benchmarks/``); ``jpegxl`` is the other image
codec; ``dct8`` is the glass-box block-DCT coder that notebook 03 teaches; ``compressai:<zoo name>``
wraps a learned CompressAI model (:mod:`sdcomp_lite.coding.learned`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.registry import Registry, lazy

DEFAULT_TRANSFORM = "avif"
# the avif coder's libaom speed: 6 codes a 768x512 photo in about 0.2 s; imagecodecs' default, speed 0 (what the AVIF
# anchors get), is over ten times slower and saves ~13% (a sweep compares at equal effort with avif_speed=0)
AVIF_SPEED = 6


class ContentTransform(Protocol):
    """What the codec needs from a layer coder."""

    name: str
    honours_quality: bool

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]: ...

    def decode_region(self, payload: bytes, region: np.ndarray, channels: int, quality: int) -> np.ndarray: ...


def _compressai(architecture: str, **options):
    from sdcomp_lite.coding.learned import CompressAITransform

    return CompressAITransform.from_zoo(architecture, **options)


def _learned(name: str):
    """sdcomp-lite's own small CPU-trained model called ``name`` (``sdcomp_lite/coding/weights``)."""
    from sdcomp_lite.coding.learned import CompressAITransform
    from sdcomp_lite.coding.learned_zoo import load_learned

    return CompressAITransform(load_learned(name), name)


def _learned_in_header(label: str, **options):
    from sdcomp_lite.coding.learned_zoo import available_learned

    if label in available_learned() and not options:  # one of the committed checkpoints: decodable by name
        return _learned(label)
    raise UnknownBackendError(
        f"this bitstream was coded with the learned transform 'ca:{label}'; decode it with the same model: "
        "decode(data, transform=CompressAITransform(model, label))."
    )


TRANSFORMS: Registry[ContentTransform] = Registry("transform")
TRANSFORMS.add("avif", "AVIF (AV1 intra, libaom via imagecodecs) per layer; the default",
               lazy("sdcomp_lite.coding.image_coders", "AvifCoder"))
TRANSFORMS.add("jpegxl", "JPEG XL (libjxl via imagecodecs) per layer", lazy("sdcomp_lite.coding.image_coders", "JpegXlCoder"))
TRANSFORMS.add("dct8", "8x8 block DCT + Gaussian model + CompressAI rANS: the glass-box coder of notebook 03",
               lazy("sdcomp_lite.coding.dct", "DctTransform"))
TRANSFORMS.add("compressai:", "a CompressAI zoo model, e.g. compressai:bmshj2018-hyperprior (needs weights)",
               _compressai, prefix=True)
TRANSFORMS.add("learned:", "sdcomp-lite's small CPU-trained FactorizedPrior (teaching-sized; loses to AVIF), "
               "e.g. learned:factorized-lambda0.0130", _learned, prefix=True)
TRANSFORMS.add("ca:", "what a learned model writes in the header; decode with the model object", _learned_in_header,
               prefix=True)


def available_transforms() -> dict[str, str]:
    """Names accepted by :func:`get_transform`, with a one-line description each."""
    return {name: text for name, text in TRANSFORMS.available().items() if name != "ca:"}


def get_transform(name: str, **options) -> ContentTransform:
    """The transform called ``name``; ``options`` go to its constructor."""
    return TRANSFORMS.get(name, **options)
