"""Hand-made hostile files, built with the format's own encoders (issue 11's findings and the fuzzer's).

Each function returns bytes that a CRC cannot reject: a valid container around a payload that
asks the decoder for too much (symbols, pixels, layers) or decodes to values out of range.
:func:`entropy.SymbolStream <sdcomp_lite.coding.entropy.SymbolStream>` codes any integer, values outside a
CDF's range through CompressAI's escape path, which is how a class of -1000 reaches the decoder.
"""

from __future__ import annotations

import numpy as np

from sdcomp_lite.coding import container
from sdcomp_lite.coding.dct import BANDS
from sdcomp_lite.coding.entropy import SCALE_TABLE, SymbolStream, categorical_table, gaussian_table
from sdcomp_lite.coding.layered import object_payload
from sdcomp_lite.coding.masks import MODEL_BYTES, context_table, pack_box


def layer(kind: str, quality: int = 50, scale: int = 1) -> container.LayerEntry:
    """A table row for :func:`container.pack <sdcomp_lite.coding.container.pack>` (length and CRC filled in there)."""
    return container.LayerEntry(index=0, kind=kind, object_id=0, label="", rank=0, importance=0.0, quality=quality,
                                scale=scale, offset=0, length=0, crc32=0)


def bitstream(width: int, height: int, channels: int, transform: str, layers: list[tuple]) -> bytes:
    """A container with the given (kind, payload) or (kind, payload, scale) layers; every length and CRC is right."""
    header = container.Header(channels, width, height, transform, (128, 128, 128))
    return container.pack(header, [(layer(kind, scale=rest[0] if rest else 1), payload) for kind, payload, *rest in layers])


def dct8_payload(class_weights: list[int], channels: int, classes: list[int], levels: list[int] = (),
                 scale_index: int = 0) -> bytes:
    """A ``dct8`` content payload: model header (class weights, one scale index for every group), then
    the block classes and the levels (coded with that scale), any values, through the escape path if need be."""
    header = bytes([len(class_weights), *class_weights]) + bytes([scale_index]) * (len(class_weights) * channels * BANDS)
    weights = np.asarray(class_weights, np.float64) + 1e-3
    stream = SymbolStream(gaussian_table() + categorical_table((weights / weights.sum())[None, :]))
    stream.add(np.asarray(classes, np.int64), len(SCALE_TABLE))
    stream.add(np.asarray(levels, np.int64), scale_index)
    return header + stream.finish()


def mask_payload(box: tuple[int, int, int, int], symbols: np.ndarray, context_level: int = 8) -> bytes:
    """A mask payload: box (x0, y0, x1, y1), every context at level ``context_level`` (0..15), ``symbols`` coded
    with context 0."""
    model = bytes([context_level * 0x11]) * MODEL_BYTES
    stream = SymbolStream(context_table(model))
    stream.add(np.asarray(symbols, np.int64), 0)
    return pack_box(*box) + model + stream.finish()


def object_layer(mask: bytes, content: bytes = b"") -> bytes:
    """An object layer's payload: the mask's length, the mask, the content."""
    return object_payload(mask, content)


# --- whole files ---------------------------------------------------------------------------------

def short_dct8_stream(side: int = 512) -> bytes:
    """Issue 11, finding 1: a grey ``side`` x ``side`` background whose model makes every block class 1
    (64 symbols a block) while its rANS stream holds 16 symbols. 512: 82 bytes."""
    return bitstream(side, side, 1, "dct8", [("background", dct8_payload([1, 255], 1, [1] * 16))])


def huge_header(side: int = 16_384) -> bytes:
    """Issue 11, finding 2: about 40 bytes claiming a ``side`` x ``side`` RGB image."""
    return bitstream(side, side, 3, "dct8", [("background", b"")])


def flat_dct8(side: int = 4096, channels: int = 3) -> bytes:
    """A valid file of under 100 bytes that decodes to a flat ``side`` x ``side`` image: every block
    class 0, every DC residual 0, both nearly free under the model it sends."""
    blocks = (-(-side // 8)) ** 2
    payload = dct8_payload([255], channels, [0] * blocks, [0] * (blocks * channels))
    return bitstream(side, side, channels, "dct8", [("background", payload)])


def empty_object_layers(count: int = 60, side: int = 2048, transform: str = "dct8") -> bytes:
    """``count`` object layers with empty masks (5 bytes each), then an empty background payload
    (which fails): the decoder's work before it gets there should not grow with the image."""
    empty = object_layer(pack_box(0, 0, 0, 0))
    return bitstream(side, side, 1, transform, [("object", empty)] * count + [("background", b"")])


def full_box_masks(count: int = 5, side: int = 4096, transform: str = "dct8") -> bytes:
    """``count`` object layers whose masks cover the whole image box but are all zero (about 130
    bytes each at 4096): every row of every box is decoded. 5 layers at 4096: 671 bytes."""
    mask = mask_payload((0, 0, side, side), np.zeros(side * side, np.int64), context_level=0)
    return bitstream(side, side, 1, transform, [("object", object_layer(mask))] * count + [("background", b"")])


def full_box_windows(count: int = 40, side: int = 4096, scale: int = 64, transform: str = "dct8") -> bytes:
    """``count`` object layers with 64-pixel cells whose masks cover the whole grid but are all zero: each mask
    is a few bytes, but each layer's window is the whole image. 40 layers at 4096: about 1.5 KB."""
    cells = -(-side // scale)
    mask = mask_payload((0, 0, cells, cells), np.zeros(cells * cells, np.int64), context_level=0)
    return bitstream(side, side, 1, transform, [("object", object_layer(mask), scale)] * count + [("background", b"")])


CRAFTED = {
    "short-dct8-stream-512": lambda: short_dct8_stream(512),
    "short-dct8-stream-4096": lambda: short_dct8_stream(4096),
    "huge-header-16384": huge_header,
    "huge-header-65535x1": lambda: bitstream(65_535, 1, 1, "dct8", [("background", b"")]),
    "flat-dct8-4096-grey": lambda: flat_dct8(4096, 1),
    "flat-dct8-4096-rgb": lambda: flat_dct8(4096, 3),
    "empty-object-layers-30-4096": lambda: empty_object_layers(30, 4096),
    "empty-object-layers-60-2048": lambda: empty_object_layers(60, 2048),
    "full-box-masks-5-4096": lambda: full_box_masks(5, 4096),
    "full-box-windows-40-4096": lambda: full_box_windows(40, 4096),
}
