"""The ``.sdc`` container (version 5): a small header, a layer table, then the layers.

Layout (integers big-endian; ``docs/bitstream.md`` describes every field and limit)::

    header       magic "SDCL", version u8 (= 5), channels u8 (1 or 3), width u16, height u16,
                 fill colour 3 x u8, layer count u16, transform name length u8, name (ASCII)
    layer table  per layer: kind and scale u8 (kind in the top 2 bits: 0 object, 1 background,
                 2 preview; bit 5 set: the label is coded from the vocabulary; bits 3-4 zero; log2
                 of the scale in the low 3 bits: 1, 2, 4 or 8, an object layer's mask grid also 16,
                 32 or 64); an object layer then has its object id (varint), importance f32 and
                 label: with bit 5, a part count u8 and per part a vocabulary index u8 and a count
                 (varint), else label length u8 and label (UTF-8); every layer then has quality u8
                 (1-100), length (varint) and CRC32 u32
    table CRC    CRC32 of everything above
    payloads     the layers, in table order, back to back

A varint is unsigned LEB128 (7 bits a byte, least significant first), at most 5 bytes and 2**32 - 1,
with no redundant final zero byte. A preview's or background's label is its kind; its object id and
importance are 0: they are not stored (version 3 stored every field of every row, about 50 bytes
more for a file of four layers). A label made of vocabulary names (:data:`LABEL_VOCABULARY`, e.g.
``person x3 + dining table``) takes a byte per name and a byte per count: 4 bytes for
``person x3``, where version 4 spelt every label out (10 bytes).

Offsets and ranks are not stored: the decoder rebuilds them (a layer's offset is the sum of the
lengths before it; its rank is its place among the object layers). The header and table are
protected by one CRC, each layer by its own, so a reader trusts the table before it touches a
layer and knows exactly which layers are intact.

Rules a reader enforces (a CRC cannot rule out a hand-made file): at most one preview layer,
first; exactly one background layer, last; sides 1..65,535; at most ``max_pixels`` pixels
(caller-settable); every field in its range.

This module is the one home of the layout: :data:`HEADER` (the header's struct), the row's bits
(:data:`KIND_SHIFT`, :data:`SCALE_BITS`, :data:`VOCABULARY_BIT`, :data:`RESERVED_BITS`, :func:`varint`,
:func:`vocabulary_label`), the limits
(:data:`MAX_SIDE`, :data:`MAX_LAYERS`, :data:`MAX_OBJECTS`, :data:`MAX_LABEL_BYTES`,
:data:`MAX_IMPORTANCE`, :data:`MAX_TRANSFORM_NAME`) and the raw packers :func:`pack_header` and
:func:`pack_row`, which write any field values (the fuzzing cases use them to write impossible files).

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
    InvalidParameterError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)
from sdcomp_lite.vocabulary import LABEL_VOCABULARY

MAGIC = b"SDCL"
VERSION = 5
MAX_SIDE = 65_535  # width and height are u16
MAX_LAYERS = 65_535  # the layer count is a u16
MAX_OBJECTS = MAX_LAYERS - 1  # object layers, plus the one background layer
MAX_LABEL_BYTES = 255  # the label length is a u8
MAX_TRANSFORM_NAME = 64
MAX_IMPORTANCE = struct.unpack(">f", bytes.fromhex("7f7fffff"))[0]  # importance is a float32: about 3.4e38
DEFAULT_MAX_PIXELS = 4096 * 4096  # decode budget: about 50 MB of 8-bit RGB; raise it with max_pixels=
SCALES = (1, 2, 4, 8)  # preview and background layers: the resolution they are coded at is 1 / scale
MASK_SCALES = (*SCALES, 16, 32, 64)  # object layers: the cell size of the mask grid (64: AV1's superblock)
DEFAULT_MASK_SCALE = 8  # encode's default mask grid
PREVIEW_SCALES = (2, 4, 8)  # what encode writes for a preview layer (a reader accepts any of SCALES)
PREVIEW_SCALE = 8  # encode's default preview scale
DEFAULT_PREVIEW_QUALITY = 10  # encode's default preview quality
OBJECT_QUALITY_RULES = ("flat", "by-importance", "top-tier")  # encode's rules for each object layer's quality
LAYER_KINDS = {0: "object", 1: "background", 2: "preview"}
KIND_CODES = {name: code for code, name in LAYER_KINDS.items()}

HEADER = struct.Struct(">4sBBHH3sHB")  # magic, version, channels, width, height, fill, layer count, name length
MAX_VARINT_BYTES = 5  # a varint holds at most 32 bits
SCALE_CODES = {scale: code for code, scale in enumerate(MASK_SCALES)}  # scale -> log2(scale)
KIND_SHIFT, SCALE_BITS, VOCABULARY_BIT, RESERVED_BITS = 6, 0x07, 0x20, 0x18  # the kind-and-scale byte
LABEL_PARTS = " + "  # how a layer label joins the names of the objects it holds
_VOCABULARY_INDEX = {name: index for index, name in enumerate(LABEL_VOCABULARY)}
_CRC = _U32 = struct.Struct(">I")
# Characters that move a terminal's cursor, recolour it or reorder text: C0/C1 controls, DEL, and the
# bidirectional marks, embeddings, overrides and isolates. The encoder refuses them in labels.
_BIDI_CONTROLS = frozenset((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def is_control_character(char: str) -> bool:
    """True for a control character (ESC, CR, LF, NUL, BEL, ..., DEL, C1) or a bidirectional control
    (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C): what a label must not hold."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or code in _BIDI_CONTROLS


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


def float32_bits(value: float) -> int:
    """The bits of ``value`` as a big-endian float32 (how the table stores an importance)."""
    return struct.unpack(">I", struct.pack(">f", value))[0]


def pack_header(channels: int, width: int, height: int, fill: bytes, count: int, name: bytes, *,
                name_length: int | None = None, magic: bytes = MAGIC, version: int = VERSION) -> bytes:
    """The header bytes for any field values (each integer cut to its field's width; no checks).

    ``name_length`` defaults to ``len(name)``; ``fill`` is 3 bytes.
    """
    length = len(name) if name_length is None else name_length
    return HEADER.pack(magic, version & 0xFF, channels & 0xFF, width & 0xFFFF, height & 0xFFFF, bytes(fill),
                       count & 0xFFFF, length & 0xFF) + name


def varint(value: int) -> bytes:
    """``value`` (0 to 2**32 - 1; larger values are cut to 32 bits) as unsigned LEB128."""
    value &= 0xFFFFFFFF
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varint_at(data: bytes, position: int) -> tuple[int | None, int]:
    """The :func:`varint` at ``position`` of ``data``: (value, position after it). The value is None when the varint
    is over-long or redundant (not the shortest of at most :data:`MAX_VARINT_BYTES` bytes and 32 bits), or when the
    data ends inside it, and then the position lies past the data."""
    value = 0
    for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
        if position >= len(data):
            return None, len(data) + 1
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (None if (byte == 0 and shift) or value > 0xFFFFFFFF else value), position
    return None, position


def read_varint(data: bytes, position: int) -> tuple[int, int] | None:
    """The :func:`varint` at ``position`` of ``data`` and the position after it; None when the data ends inside it
    or it is over-long or redundant (not the shortest of at most :data:`MAX_VARINT_BYTES` bytes and 32 bits)."""
    value, end = _varint_at(data, position)
    return None if value is None else (value, end)


def vocabulary_label(label: str) -> bytes | None:
    """``label`` coded from :data:`LABEL_VOCABULARY` (a part count u8, then per part its vocabulary index u8 and
    count, a varint), or None when it is not names from the vocabulary, each alone or as ``name xN`` (N >= 2),
    joined by " + " (what :func:`~sdcomp_lite.coding.layered.layer_label` writes): such a label is stored spelt out.
    The code reads back as exactly ``label`` (:func:`render_vocabulary_label`)."""
    parts = []
    for part in label.split(LABEL_PARTS):
        name, _, count = part.rpartition(" x")
        if not (name in _VOCABULARY_INDEX and count.isdigit() and count.isascii() and count[0] != "0"):
            name, count = part, "1"
        if name not in _VOCABULARY_INDEX or int(count) > 0xFFFFFFFF:
            return None
        parts.append((_VOCABULARY_INDEX[name], int(count)))
    if len(parts) > 0xFF or render_vocabulary_label(parts) != label:
        return None
    return bytes([len(parts)]) + b"".join(bytes([index]) + varint(count) for index, count in parts)


def render_vocabulary_label(parts: list[tuple[int, int]]) -> str:
    """The label that (vocabulary index, count) ``parts`` stand for: names joined by " + ", a count above 1 as
    `` xN``. Indices must lie in :data:`LABEL_VOCABULARY`."""
    return LABEL_PARTS.join(LABEL_VOCABULARY[index] + (f" x{count}" if count > 1 else "") for index, count in parts)


def pack_row(kind: int, object_id: int, importance_bits: int, quality: int, scale: int, length: int, crc: int,
             label: bytes, *, label_length: int | None = None, vocabulary: bool = False) -> bytes:
    """One layer-table row for any field values (each integer cut to its field's width; no checks).

    ``kind`` is the code (:data:`LAYER_KINDS`; any other value is written as the unknown code 3),
    ``scale`` a power of two from 1 to 64 (any other value is written as the impossible code 7),
    ``importance_bits`` the float32 bits (:func:`float32_bits`), ``length`` and ``crc`` the payload's size in
    bytes and CRC32; ``label_length`` defaults to ``len(label)``. With ``vocabulary`` the row's vocabulary bit is
    set and ``label`` is written as it is (a :func:`vocabulary_label` code, or any bytes), with no length byte. A
    preview or background row stores no object id, importance or label, so those arguments (but ``vocabulary``'s
    bit) are ignored for it.
    """
    kind_code = kind if kind in LAYER_KINDS else 3
    parts = [bytes([kind_code << KIND_SHIFT | SCALE_CODES.get(scale, SCALE_BITS) | (VOCABULARY_BIT if vocabulary else 0)])]
    if kind_code in (KIND_CODES["object"], 3):
        size = len(label) if label_length is None else label_length
        parts += [varint(object_id), _U32.pack(importance_bits & 0xFFFFFFFF)]
        parts += [label] if vocabulary else [bytes([size & 0xFF]), label]
    parts += [bytes([quality & 0xFF]), varint(length), _U32.pack(crc & 0xFFFFFFFF)]
    return b"".join(parts)


def table_crc(head: bytes) -> bytes:
    """The CRC32 field that closes the header and table ``head``."""
    return _CRC.pack(zlib.crc32(head))


def pack(header: Header, layers: list[tuple[LayerEntry, bytes]]) -> bytes:
    """Serialise a header and its layers (length and CRC of each entry are filled in here).

    A preview or background row stores no object id, importance or label: an entry of those kinds with an id or
    importance other than 0, or a label other than "" or its kind, raises :class:`InvalidParameterError` (a reader
    would not get them back).
    """
    for entry, _ in layers:
        if entry.kind != "object" and (entry.object_id or entry.importance or entry.label not in ("", entry.kind)):
            raise InvalidParameterError(f"a {entry.kind} layer stores no object id, importance or label, got "
                                        f"{entry.object_id!r}, {entry.importance!r}, {entry.label!r:.40}.")
    parts = [pack_header(header.channels, header.width, header.height, bytes(header.fill), len(layers),
                         header.transform.encode("ascii"))]
    for entry, payload in layers:
        code = vocabulary_label(entry.label) if entry.kind == "object" else None
        parts.append(pack_row(KIND_CODES[entry.kind], entry.object_id, float32_bits(entry.importance), entry.quality,
                              entry.scale, len(payload), zlib.crc32(payload),
                              entry.label.encode("utf-8") if code is None else code, vocabulary=code is not None))
    head = b"".join(parts)
    return head + table_crc(head) + b"".join(payload for _, payload in layers)


def unpack(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Container:
    """Parse and check the header and layer table; payloads are checked when read.

    Raises :class:`BadMagicError`, :class:`TruncatedBitstreamError`, :class:`UnsupportedVersionError`,
    :class:`CorruptBitstreamError` or :class:`ImageTooLargeError` (more than ``max_pixels`` pixels);
    :class:`InvalidParameterError` when ``data`` is not bytes-like (an ``EncodedImage``: pass ``encoded.data``).
    """
    try:  # bytes, bytearray, memoryview; never bytes(5) (five zero bytes) or bytes("SDCL")
        data = memoryview(data).tobytes()
    except TypeError:
        hint = "encoded.data (the EncodedImage's bytes)" if hasattr(data, "data") else "the file's bytes"
        raise InvalidParameterError(f"a bitstream is bytes, got {type(data).__name__}: pass {hint}, e.g. "
                                    "decode(encoded.data) or decode(Path('x.sdc').read_bytes()).") from None
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise BadMagicError("not an sdcomp-lite bitstream: it does not start with b'SDCL'.")
    if len(data) > len(MAGIC) and data[len(MAGIC)] != VERSION:
        version = data[len(MAGIC)]
        raise UnsupportedVersionError(
            f"bitstream version {version} is not readable by this release (which reads version {VERSION}); "
            "decode it with the sdcomp-lite release that wrote it, or encode the image again."
        )
    if len(data) < HEADER.size:
        raise TruncatedBitstreamError(
            f"the data ends inside the header ({len(data)} of at least {HEADER.size} bytes); nothing can be decoded."
        )
    _, _, channels, width, height, fill, count, name_length = HEADER.unpack_from(data)
    position = HEADER.size + name_length
    if len(data) < position:
        raise TruncatedBitstreamError("the data ends inside the header; nothing can be decoded.")
    transform = data[HEADER.size : position]
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


class _TableReader:
    """Reads the layer table's fields from untrusted bytes: a read past the end is a
    :class:`TruncatedBitstreamError`, an over-long or redundant varint a :class:`CorruptBitstreamError`."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def take(self, count: int) -> bytes:
        end = self.position + count
        if len(self.data) < end:
            raise TruncatedBitstreamError("the data ends inside the layer table (or a corrupt length in the table "
                                          "points past its end); nothing can be decoded.")
        chunk, self.position = self.data[self.position : end], end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self, index: int) -> int:
        value, end = _varint_at(self.data, self.position)
        self.take(end - self.position)  # a TruncatedBitstreamError when the data ends inside it
        if value is not None:
            return value
        raise CorruptBitstreamError(f"layer {index}: a number in the layer table is over-long or redundant (not the "
                                    "shortest varint of at most 32 bits); the table is corrupt.")

    def vocabulary_label(self, index: int) -> str:
        """A label coded from the vocabulary (:func:`vocabulary_label`), spelt out; at most
        :data:`MAX_LABEL_BYTES` bytes, as a spelt-out label."""
        size = self.byte()
        if size == 0:
            raise CorruptBitstreamError(f"layer {index}: its vocabulary label has no name; the table is corrupt.")
        parts = []
        for _ in range(size):
            name, count = self.byte(), self.varint(index)
            if name >= len(LABEL_VOCABULARY) or count == 0:
                raise CorruptBitstreamError(
                    f"layer {index}: its label names vocabulary entry {name} (of {len(LABEL_VOCABULARY)}) {count} "
                    "times; the table is corrupt.")
            parts.append((name, count))
        label = render_vocabulary_label(parts)
        if len(label.encode("utf-8")) > MAX_LABEL_BYTES:
            raise CorruptBitstreamError(f"layer {index}: its label spells out to more than {MAX_LABEL_BYTES} bytes; "
                                        "the table is corrupt.")
        return label


def _unpack_table(data: bytes, count: int, position: int) -> tuple[list[LayerEntry], int]:
    layers, offset, rank = [], 0, 0
    reader = _TableReader(data, position)
    for index in range(count):
        kind_and_scale = reader.byte()
        kind, scale_code = kind_and_scale >> KIND_SHIFT, kind_and_scale & SCALE_BITS
        if kind not in LAYER_KINDS:
            raise CorruptBitstreamError(f"layer {index} has an unknown kind ({kind}).")
        if kind_and_scale & RESERVED_BITS:
            raise CorruptBitstreamError(f"layer {index}: reserved bits set in its kind-and-scale byte "
                                        f"({kind_and_scale:#04x}); the table is corrupt.")
        kind_name = LAYER_KINDS[kind]
        if kind_and_scale & VOCABULARY_BIT and kind_name != "object":
            raise CorruptBitstreamError(f"layer {index}: a {kind_name} row has no label, yet its vocabulary bit is "
                                        "set; the table is corrupt.")
        object_id, importance, label = 0, 0.0, kind_name
        if kind_name == "object":
            object_id = reader.varint(index)
            (importance,) = struct.unpack(">f", reader.take(4))
            if kind_and_scale & VOCABULARY_BIT:
                label = reader.vocabulary_label(index)
            else:
                label = reader.take(reader.byte()).decode("utf-8", "replace")
        quality, length = reader.byte(), reader.varint(index)
        (crc,) = _U32.unpack(reader.take(4))
        scale = 1 << scale_code  # code 7 (128) is refused by check_layers, naming the scale
        layers.append(LayerEntry(index=index, kind=kind_name, object_id=object_id, label=label,
                                 rank=rank if kind_name == "object" else -1, importance=importance, quality=quality,
                                 scale=scale, offset=offset, length=length, crc32=crc))
        rank += kind_name == "object"
        offset += length
    return layers, reader.position


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
        if entry.kind == "background" and entry.index != len(layers) - 1:
            raise CorruptBitstreamError(f"{where} is a second background layer; there must be exactly one, last.")
        if entry.kind == "preview" and entry.index != 0:
            raise CorruptBitstreamError(f"{where} is a preview layer; a preview may only be layer 0.")
        if not 1 <= entry.quality <= 100:
            raise CorruptBitstreamError(f"{where} has quality {entry.quality}; qualities lie in 1..100.")
        allowed = MASK_SCALES if entry.kind == "object" else SCALES
        if entry.scale not in allowed:
            raise CorruptBitstreamError(f"{where} ({entry.kind}) has scale {entry.scale}; its scales are {allowed}.")
        if entry.importance != entry.importance or abs(entry.importance) == float("inf"):
            raise CorruptBitstreamError(f"{where} has a non-finite importance.")
