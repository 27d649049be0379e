"""Structured entropy coding: objects in importance order into one layered, progressive bitstream.

Main entry points: :func:`encode`, :func:`decode`, :func:`decode_progressive`, :func:`inspect`,
:func:`encode_to_budget`; layer coders by name in :data:`TRANSFORMS`; the layer table as text with
:func:`format_layer_table`.

Names are imported when first used (PEP 562), so ``inspect`` and the container need no codec:
``import sdcomp_lite.coding.container`` loads neither NumPy's codecs nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdcomp_lite.registry import lazy_attributes

_HOMES = {
    "DecodedImage": "sdcomp_lite.coding.layered",
    "EncodedImage": "sdcomp_lite.coding.layered",
    "decode": "sdcomp_lite.coding.layered",
    "decode_progressive": "sdcomp_lite.coding.layered",
    "encode": "sdcomp_lite.coding.layered",
    "encode_to_budget": "sdcomp_lite.coding.rate",
    "LayerInfo": "sdcomp_lite.coding.layer_table",
    "format_layer_table": "sdcomp_lite.coding.layer_table",
    "inspect": "sdcomp_lite.coding.layer_table",
    "layer_name": "sdcomp_lite.coding.layer_table",
    "read_header": "sdcomp_lite.coding.layer_table",
    "RegionCoder": "sdcomp_lite.coding.region_coder",
    "DEFAULT_TRANSFORM": "sdcomp_lite.coding.transforms",
    "TRANSFORMS": "sdcomp_lite.coding.transforms",
    "available_transforms": "sdcomp_lite.coding.transforms",
    "get_transform": "sdcomp_lite.coding.transforms",
}

__all__ = [  # the names of _HOMES, written out for tools that read __all__ statically
    "DEFAULT_TRANSFORM",
    "TRANSFORMS",
    "DecodedImage",
    "EncodedImage",
    "LayerInfo",
    "RegionCoder",
    "available_transforms",
    "decode",
    "decode_progressive",
    "encode",
    "encode_to_budget",
    "format_layer_table",
    "get_transform",
    "inspect",
    "layer_name",
    "read_header",
]

if TYPE_CHECKING:
    from sdcomp_lite.coding.layer_table import LayerInfo, format_layer_table, inspect, layer_name, read_header
    from sdcomp_lite.coding.layered import DecodedImage, EncodedImage, decode, decode_progressive, encode
    from sdcomp_lite.coding.rate import encode_to_budget
    from sdcomp_lite.coding.region_coder import RegionCoder
    from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM, TRANSFORMS, available_transforms, get_transform


__getattr__, __dir__ = lazy_attributes(__name__, _HOMES)
