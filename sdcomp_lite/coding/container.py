"""The ``.sdc`` container: a versioned header, a layer table, then the layers.

Layout (all integers big-endian; see ``docs/bitstream.md`` for the full description)::

    header       magic "SDCL", version u8, channels u8, width u32, height u32,
                 quality u8, transform 16 bytes (ASCII, zero padded), fill colour 3 x u8,
                 layer count u16
    layer table  one entry per layer: kind u8 (0 object, 1 background), object id u32,
                 rank u16, importance f32, quality u8, offset u32, length u32, CRC32 u32,
                 label length u8, label (UTF-8)
    table CRC    CRC32 of everything above
    payloads     the layers, in table order; offsets count from the first payload byte

The header and table are protected by one CRC, each layer by its own, so that a reader can
trust the table before it touches any layer and can tell exactly which layers are intact.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from sdcomp_lite.errors import (
    BadMagicError,
    CorruptBitstreamError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)
from sdcomp_lite.images import MAX_PIXELS

MAGIC = b"SDCL"
VERSION = 1
OBJECT_LAYER = 0
BACKGROUND_LAYER = 1

_HEADER = struct.Struct(">4sBBIIB16s3sH")
_ENTRY = struct.Struct(">BIHfBIIIB")
_CRC = struct.Struct(">I")
LAYER_KINDS = {OBJECT_LAYER: "object", BACKGROUND_LAYER: "background"}


@dataclass(frozen=True)
class Header:
    """Image-wide fields of a bitstream."""

    channels: int
    width: int
    height: int
    quality: int
    transform: str
    fill: tuple[int, int, int]


@dataclass(frozen=True)
class LayerEntry:
    """One row of the layer table: which object a layer holds, and where its bytes lie."""

    index: int
    kind: str
    object_id: int
    label: str
    rank: int
    importance: float
    quality: int
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
    """Serialise a header and its layers (entries with offset, length and CRC filled in here)."""
    parts = [
        _HEADER.pack(
            MAGIC, VERSION, header.channels, header.width, header.height, header.quality,
            header.transform.encode("ascii").ljust(16, b"\0"), bytes(header.fill), len(layers),
        )
    ]
    offset = 0
    for entry, payload in layers:
        label = entry.label.encode("utf-8")
        parts.append(
            _ENTRY.pack(
                _kind_code(entry.kind), entry.object_id, entry.rank, entry.importance,
                entry.quality, offset, len(payload), zlib.crc32(payload), len(label),
            )
        )
        parts.append(label)
        offset += len(payload)
    head = b"".join(parts)
    return head + _CRC.pack(zlib.crc32(head)) + b"".join(payload for _, payload in layers)


def unpack(data: bytes) -> Container:
    """Parse and check the header and layer table; payloads are checked when read."""
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise BadMagicError("not an sdcomp-lite bitstream: it does not start with b'SDCL'.")
    if len(data) < _HEADER.size:
        raise TruncatedBitstreamError(
            f"the data ends inside the header ({len(data)} of {_HEADER.size} bytes); nothing can be decoded."
        )
    magic, version, channels, width, height, quality, transform, fill, count = _HEADER.unpack_from(data)
    if version != VERSION:
        raise UnsupportedVersionError(
            f"bitstream version {version} is not readable by this release (which reads version {VERSION}); "
            "use the sdcomp-lite release that wrote it."
        )
    layers, position = _unpack_table(data, count)
    if len(data) < position + _CRC.size:
        raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
    (stored_crc,) = _CRC.unpack_from(data, position)
    if zlib.crc32(data[:position]) != stored_crc:
        raise CorruptBitstreamError("the header or layer table is corrupt (CRC32 mismatch); nothing can be trusted.")
    header = Header(channels, width, height, quality, transform.rstrip(b"\0").decode("ascii", "replace"), tuple(fill))
    _check_header(header, layers)
    table_size = position + _CRC.size
    return Container(header, tuple(layers), table_size, data[table_size:])


def _unpack_table(data: bytes, count: int) -> tuple[list[LayerEntry], int]:
    layers = []
    position = _HEADER.size
    for index in range(count):
        if len(data) < position + _ENTRY.size:
            raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
        kind, object_id, rank, importance, quality, offset, length, crc, label_length = _ENTRY.unpack_from(
            data, position
        )
        position += _ENTRY.size
        if len(data) < position + label_length:
            raise TruncatedBitstreamError("the data ends inside the layer table; nothing can be decoded.")
        label = data[position : position + label_length].decode("utf-8", "replace")
        position += label_length
        kind_name = LAYER_KINDS.get(kind, f"unknown({kind})")
        layers.append(
            LayerEntry(index, kind_name, object_id, label, rank, importance, quality, offset, length, crc)
        )
    return layers, position


def _check_header(header: Header, layers: list[LayerEntry]) -> None:
    """Reject impossible values that a matching CRC cannot rule out (e.g. a hand-made file)."""
    if header.channels not in (1, 3):
        raise CorruptBitstreamError(f"impossible channel count {header.channels}.")
    if not (1 <= header.width and 1 <= header.height and header.width * header.height <= MAX_PIXELS):
        raise CorruptBitstreamError(f"impossible image size {header.width}x{header.height}.")
    expected_offset = 0
    for entry in layers:
        if entry.kind.startswith("unknown") or entry.offset != expected_offset:
            raise CorruptBitstreamError(f"layer {entry.index} has an impossible kind or offset.")
        expected_offset += entry.length


def _kind_code(kind: str) -> int:
    return {name: code for code, name in LAYER_KINDS.items()}[kind]
