"""Where the bytes go: each layer split into mask, model header and coded content.

Taught in notebooks/03_structured_entropy_coding.ipynb (section 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from sdcomp_lite.coding import container
from sdcomp_lite.coding.layered import EncodedImage, split_object_layer


@dataclass(frozen=True)
class LayerBytes:
    """Bytes of one layer by part; ``estimated_bytes`` is the entropy models' estimate."""

    index: int
    label: str
    mask_bytes: int
    content_bytes: int
    estimated_bytes: float

    @property
    def total(self) -> int:
        return self.mask_bytes + self.content_bytes


def layer_breakdown(encoded: EncodedImage) -> list[LayerBytes]:
    """Split every complete layer into its mask part (length prefix included) and content part."""
    parsed = container.unpack(encoded.data)
    parts = []
    for entry, estimate in zip(parsed.layers, encoded.estimated_bits):
        payload = parsed.layer_bytes(entry.index) or b""
        mask = len(payload) - len(split_object_layer(payload, entry.index)[1]) if entry.kind == "object" and payload else 0
        parts.append(LayerBytes(entry.index, entry.label, mask, len(payload) - mask, estimate / 8))
    return parts
