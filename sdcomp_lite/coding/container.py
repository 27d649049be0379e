"""The ``.sdc`` container (version 3): a small header, a layer table, then the layers.

Layout (integers big-endian; ``docs/bitstream.md`` describes every field and limit)::

    header       magic "SDCL", version u8 (= 3), channels u8 (1 or 3), width u16, height u16,
                 fill colour 3 x u8, layer count u16, transform name length u8, name (ASCII)
    layer table  per layer: kind u8 (0 object, 1 background, 2 preview), object id u32,
                 importance f32, quality u8 (1-100), scale u8 (1, 2, 4 or 8), length u32,
                 CRC32 u32, label length u8, label (UTF-8)
    table CRC    CRC32 of everything above
    payloads     the layers, in table order, back to back

Offsets and ranks are not stored: the decoder rebuilds them (a layer's offset is the sum of the
lengths before it; its rank is its place among the object layers). The header and table are
protected by one CRC, each layer by its own, so a reader trusts the table before it touches a
layer and knows exactly which layers are intact.

Rules a reader enforces (a CRC cannot rule out a hand-made file): at most one preview layer,
first; exactly one background layer, last; sides 1..65,535; at most ``max_pixels`` pixels
(caller-settable); every field in its range.

Taught in notebooks/04_progressive_decoding.ipynb (section 5, cutting a file); docs/bitstream.md.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from sdcomp_lite.errors import (
    BadMagicError,
    CorruptBitstreamError,
    ImageTooLargeError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)

MAGIC = b"SDCL"
VERSION = 3
MAX_SIDE = 65_535
MAX_LAYERS = 65_535
MAX_LABEL_BYTES = 255
MAX_TRANSFORM_NAME = 64
DEFAULT_MAX_PIXELS = 4096 * 4096  # decode budget: about 50 MB of 8-bit RGB; raise it with max_pixels=
SCALES = (1, 2, 4, 8)
LAYER_KINDS = {0: "object", 1: "background", 2: "preview"}
_KIND_CODES = {name: code for code, name in LAYER_KINDS.items()}

_HEADER = struct.Struct(">4sBBHH3sHB")
_ENTRY = struct.Struct(">BIfBBIIB")
_CRC = struct.Struct(">I")


@dataclass(frozen=True)
class Header:
    """Image-wide fields of a bitstream."""

    channels: int
    width: int
    height: int
    transform: str
    fill: tuple[int, int, int]


@dataclass(frozen=True)
class LayerEntry:
    """One row of the layer table: what a layer holds and where its bytes lie (sizes in bytes).

    ``rank`` counts object layers only (0 = most important); ``offset`` counts from the first
    payload byte. Both are rebuilt by the reader, not stored.
    """

    index: int
    kind: str
    object_id: int
    label: str
    rank: int
    importance: float
    quality: int
    scale: int
    offset: int
    length: int
    crc32: int


@dataclass(frozen=True)
class Container:
    """A parsed bitstream: header, layer table, and the (possibly truncated) payload bytes."""

    header: Header
    layers: tuple[LayerEntry, ...]
    table_size: int
    payload: bytes

    def layer_bytes(self, index: int) -> bytes | None:
        """The payload of layer ``index``, or None if the data ends before it is complete."""
        entry = self.layers[index]
        end = entry.offset + entry.length
        if end > len(self.payload):
            return None
        return self.payload[entry.offset : end]


def pack(header: Header, layers: list[tuple[LayerEntry, bytes]]) -> bytes:
    """Serialise a header and its layers (length and CRC of each entry are filled in here)."""
    name = header.transform.encode("ascii")
    parts = [
        _HEADER.pack(MAGIC, VERSION, header.channels, header.width, header.height, bytes(header.fill), len(layers),
                     len(name)),
        name,
    ]
    for entry, payload in layers:
        label = entry.label.encode("utf-8")
        parts.append(_ENTRY.pack(_KIND_CODES[entry.kind], entry.object_id, entry.importance, entry.quality,
                                 entry.scale, len(payload), zlib.crc32(payload), len(label)))
        parts.append(label)
    head = b"".join(parts)
    return head + _CRC.pack(zlib.crc32(head)) + b"".join(payload for _, payload in layers)


def unpack(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Container:
    """Parse and check the header and layer table; payloads are checked when read.

    Raises :class:`BadMagicError`, :class:`TruncatedBitstreamError`, :class:`UnsupportedVersionError`,
    :class:`CorruptBitstreamError` or :class:`ImageTooLargeError` (more than ``max_pixels`` pixels).
    """
    data = bytes(data)
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise BadMagicError("not an sdcomp-lite bitstream: it does not start with b'SDCL'.")
    if len(data) > len(MAGIC) and data[len(MAGIC)] != VERSION:
        version = data[len(MAGIC)]
        raise UnsupportedVersionError(
            f"bitstream version {version} is not readable by this release (which reads version {VERSION}); "
            "decode it with the sdcomp-lite release that wrote it, or encode the image again."
        )
    if len(data) < _HEADER.size:
        raise TruncatedBitstreamError(
            f"the data ends inside the header ({len(data)} of at least {_HEADER.size} bytes); nothing can be decoded."
        )
    _, _, channels, width, height, fill, count, name_length = _HEADER.unpack_from(data)
    position = _HEADER.size + name_length
    if len(data) < position:
        raise TruncatedBitstreamError("the data ends inside the header; nothing can be decoded.")
    transform = data[_HEADER.size : position]
    layers, position = _unpack_table(data, count, position)
    if len(data) < position + _CRC.size:
        raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
    (stored_crc,) = _CRC.unpack_from(data, position)
    if zlib.crc32(data[:position]) != stored_crc:
        raise CorruptBitstreamError("the header or layer table is corrupt (CRC32 mismatch); nothing can be trusted.")
    if not transform.isascii() or not transform.decode("ascii").isprintable() or not transform:
        raise CorruptBitstreamError("the header names an impossible transform (not printable ASCII).")
    header = Header(channels, width, height, transform.decode("ascii"), tuple(fill))
    check_header(header, max_pixels)
    check_layers(layers)
    table_size = position + _CRC.size
    return Container(header, tuple(layers), table_size, data[table_size:])


def _unpack_table(data: bytes, count: int, position: int) -> tuple[list[LayerEntry], int]:
    layers, offset, rank = [], 0, 0
    for index in range(count):
        if len(data) < position + _ENTRY.size:
            raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
        kind, object_id, importance, quality, scale, length, crc, label_length = _ENTRY.unpack_from(data, position)
        position += _ENTRY.size
        if len(data) < position + label_length:
            raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
        label = data[position : position + label_length].decode("utf-8", "replace")
        position += label_length
        kind_name = LAYER_KINDS.get(kind, f"unknown({kind})")
        layers.append(LayerEntry(index, kind_name, object_id, label, rank if kind_name == "object" else -1,
                                 importance, quality, scale, offset, length, crc))
        rank += kind_name == "object"
        offset += length
    return layers, position


def check_header(header: Header, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Reject impossible or too large images (the side limit is the format's, the pixel budget the caller's)."""
    if header.channels not in (1, 3):
        raise CorruptBitstreamError(f"impossible channel count {header.channels} (1 or 3).")
    if not (1 <= header.width <= MAX_SIDE and 1 <= header.height <= MAX_SIDE):
        raise CorruptBitstreamError(f"impossible image size {header.width}x{header.height}.")
    if header.width * header.height > max_pixels:
        raise ImageTooLargeError(
            f"the file holds a {header.width}x{header.height} image ({header.width * header.height} pixels), more "
            f"than this decoder's budget of {max_pixels} pixels. If you trust the file, decode it with "
            f"max_pixels={header.width * header.height} (or the CLI's --max-pixels)."
        )


def check_layers(layers: list[LayerEntry]) -> None:
    """The table's rules: optional preview first, background exactly once and last, fields in range."""
    if not layers or layers[-1].kind != "background":
        raise CorruptBitstreamError("the layer table must end with exactly one background layer.")
    for entry in layers:
        where = f"layer {entry.index}"
        if entry.kind.startswith("unknown"):
            raise CorruptBitstreamError(f"{where} has an unknown kind ({entry.kind}).")
        if entry.kind == "background" and entry.index != len(layers) - 1:
            raise CorruptBitstreamError(f"{where} is a second background layer; there must be exactly one, last.")
        if entry.kind == "preview" and entry.index != 0:
            raise CorruptBitstreamError(f"{where} is a preview layer; a preview may only be layer 0.")
        if not 1 <= entry.quality <= 100:
            raise CorruptBitstreamError(f"{where} has quality {entry.quality}; qualities lie in 1..100.")
        if entry.scale not in SCALES:
            raise CorruptBitstreamError(f"{where} has scale {entry.scale}; scales are {SCALES}.")
        if entry.importance != entry.importance or abs(entry.importance) == float("inf"):
            raise CorruptBitstreamError(f"{where} has a non-finite importance.")
