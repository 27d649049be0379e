"""Fuzzing cases: structure-aware mutations of real bitstreams, every length and CRC32 recomputed.

:func:`seed_files` encodes small synthetic scenes with every weightless transform (``avif``,
``jpegxl``, ``dct8``), grey and colour, with and without a preview, background scale 1, 2 and 4, mask cells of 1 to 64 pixels.
:class:`CaseMaker` parses a seed into a :class:`Draft` (header fields, table rows, payloads), applies
one named mutation and writes it back with every length and CRC32 recomputed, so the mutated bytes
get past the CRCs and reach the mask decoder, the entropy decoders and the image codecs:

* header fields and the transform name set to boundary values (0, 1, max, 2**k +- 1, -n as unsigned);
* table fields; layers deleted, duplicated, swapped, or spliced in from another seed;
* payload bytes flipped, set, inserted, deleted, truncated, extended, replaced;
* fields inside a payload: the mask length, box and context bytes; the ``dct8`` model header; the
  AVIF configuration bytes, OBU headers and sizes and the AV1 sequence header; the JPEG XL
  signature and size header;
* entropy-coded symbols re-coded with out-of-range values (the escape path), or a stream cut short;

plus raw cases: random bytes, random bytes after a valid header, prefixes, unrepaired bit flips,
two files back to back. Case ``index`` of fuzzing ``seed`` depends on nothing else, so any case
can be rebuilt from those two numbers.
"""

from __future__ import annotations

import functools
import random
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from sdcomp_lite.coding import container, encode
from sdcomp_lite.coding.container import read_varint, varint
from sdcomp_lite.coding.dct import BANDS
from sdcomp_lite.coding.entropy import SCALE_TABLE, SymbolStream, categorical_table, gaussian_table
from sdcomp_lite.coding.image_coders import read_leb128
from sdcomp_lite.coding.masks import MODEL_BYTES, context_table, pack_box, unpack_box
from sdcomp_lite.errors import CorruptBitstreamError
from sdcomp_lite.types import SceneObject

TRANSFORMS = ("avif", "jpegxl", "dct8")  # the registered transforms that need no weights


# --- seeds ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedConfig:
    """One seed file's scene and encoder options."""

    height: int
    width: int
    channels: int
    objects: int
    preview: bool = False
    background_scale: int = 1
    options: tuple[tuple[str, object], ...] = ()


SEED_CONFIGS = (
    SeedConfig(32, 48, 3, 2),
    SeedConfig(64, 64, 1, 3, preview=True, background_scale=2, options=(("mask_scale", 2),)),
    SeedConfig(64, 64, 3, 3, preview=True, background_scale=4,
               options=(("object_quality", "by-importance"), ("background_quality", 20), ("quality", 70))),
    SeedConfig(32, 48, 1, 1, background_scale=4),
    SeedConfig(24, 40, 3, 0, preview=True, background_scale=2),
    SeedConfig(40, 56, 3, 4, options=(("group_equal", True), ("mask_scale", 8))),
    SeedConfig(96, 80, 3, 3, preview=True, options=(("max_layers", 2), ("mask_scale", 64))),
)


def synthetic_scene(height: int, width: int, channels: int, objects: int, seed: int = 0):
    """A smooth noisy image (uint8 (H, W) or (H, W, 3)) and up to 4 objects: disc, rectangle, square, stripe."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[:height, :width]
    base = np.stack([xs * 3.0, ys * 4.0, (xs + ys) * 2.0], axis=2) + rng.normal(0, 8, (height, width, 3))
    image = np.clip(base, 0, 255).astype(np.uint8)
    image = image if channels == 3 else image[:, :, 1]
    masks = [
        (ys - height * 0.4) ** 2 + (xs - width * 0.4) ** 2 < (min(height, width) * 0.3) ** 2,
        (ys >= height // 2) & (xs >= width // 2),
        (ys >= 2) & (ys < 10) & (xs >= 3) & (xs < 11),
        xs == width - 3,
    ]
    importances = (0.9, 0.5, 0.5, 0.2)
    scene = [SceneObject(10 + k, f"object {k}", (0, 0, width, height), masks[k], importance=importances[k])
             for k in range(objects)]
    return image, scene


def seed_files(configs: Sequence[SeedConfig] = SEED_CONFIGS, transforms: Sequence[str] = TRANSFORMS) -> dict[str, bytes]:
    """Small real encodes, by name (``"dct8-64x64x1-3o-p-s2-m2"``: 3 objects, a preview, background
    scale 2, mask scale 2): every config with every transform."""
    seeds = {}
    for number, config in enumerate(configs):
        image, objects = synthetic_scene(config.height, config.width, config.channels, config.objects, seed=number)
        for transform in transforms:
            encoded = encode(image, objects, transform=transform, preview=config.preview,
                             background_scale=config.background_scale, **dict(config.options))
            name = (f"{transform}-{config.height}x{config.width}x{config.channels}-{config.objects}o"
                    f"{'-p' if config.preview else ''}-s{config.background_scale}")
            name += f"-m{dict(config.options)['mask_scale']}" if "mask_scale" in dict(config.options) else ""
            seeds[name] = encoded.data
    return seeds


# --- an editable file ----------------------------------------------------------------------------

@dataclass
class Row:
    """A layer-table row as raw integers; ``None`` in ``length``, ``crc`` or ``label_length`` means computed. With
    ``vocabulary`` the row's vocabulary bit is set and ``label`` holds the coded label (no length byte)."""

    kind: int
    object_id: int
    importance_bits: int
    quality: int
    scale: int
    label: bytes
    length: int | None = None
    crc: int | None = None
    label_length: int | None = None
    vocabulary: bool = False


@dataclass
class Draft:
    """A bitstream as editable fields; :meth:`to_bytes` recomputes what is ``None`` and every CRC."""

    channels: int
    width: int
    height: int
    fill: bytes
    name: bytes
    rows: list[Row]
    payloads: list[bytes]
    magic: bytes = container.MAGIC
    version: int = container.VERSION
    count: int | None = None
    name_length: int | None = None
    table_crc: int | None = None
    transform: str = ""  # the seed's transform, for payload-aware mutations

    @classmethod
    def parse(cls, data: bytes) -> Draft:
        parsed = container.unpack(data, max_pixels=container.MAX_SIDE**2)
        header = parsed.header
        rows, payloads = [], []
        for entry in parsed.layers:
            code = container.vocabulary_label(entry.label) if entry.kind == "object" else None
            rows.append(Row(container.KIND_CODES[entry.kind], entry.object_id, container.float32_bits(entry.importance),
                            entry.quality, entry.scale, entry.label.encode("utf-8") if code is None else code,
                            vocabulary=code is not None))
            payloads.append(parsed.layer_bytes(entry.index) or b"")
        return cls(header.channels, header.width, header.height, bytes(header.fill), header.transform.encode("ascii"),
                   rows, payloads, transform=header.transform)

    def kind_of(self, index: int) -> str:
        return container.LAYER_KINDS.get(self.rows[index].kind, "unknown")

    def to_bytes(self) -> bytes:
        count = len(self.rows) if self.count is None else self.count
        parts = [container.pack_header(self.channels, self.width, self.height, self.fill, count, self.name,
                                       name_length=self.name_length, magic=self.magic, version=self.version)]
        for row, payload in zip(self.rows, self.payloads):
            length = len(payload) if row.length is None else row.length
            crc = zlib.crc32(payload) if row.crc is None else row.crc
            parts.append(container.pack_row(row.kind, row.object_id, row.importance_bits, row.quality, row.scale, length,
                                            crc, row.label, label_length=row.label_length, vocabulary=row.vocabulary))
        head = b"".join(parts)
        crc = container.table_crc(head) if self.table_crc is None else struct.pack(">I", self.table_crc & 0xFFFFFFFF)
        return head + crc + b"".join(self.payloads)


def boundary_values(bits: int, rng: random.Random) -> int:
    """An interesting value for an unsigned field of ``bits`` bits: 0, 1, max, 2**k +- 1, -n as unsigned, random."""
    top = (1 << bits) - 1
    k = rng.randrange(1, bits + 1)
    choices = (0, 1, 2, top, top - 1, (1 << k) - 1, (1 << k) & top, ((1 << k) + 1) & top, (-1000) & top,
               1 << (bits - 1), rng.randrange(top + 1))
    return rng.choice(choices)


# --- mutations -----------------------------------------------------------------------------------
# Each takes (draft, rng, seeds) and edits the draft in place; it returns False when it does not apply.

Mutation = Callable[[Draft, random.Random, dict[str, Draft]], bool]
MUTATIONS: dict[str, Mutation] = {}


def _mutation(name: str):
    def register(function: Mutation) -> Mutation:
        MUTATIONS[name] = function
        return function
    return register


def _layer(draft: Draft, rng: random.Random, kinds: tuple[str, ...] = ("object", "background", "preview")) -> int | None:
    choices = [i for i in range(len(draft.rows)) if draft.kind_of(i) in kinds and draft.payloads[i]]
    return rng.choice(choices) if choices else None


def _layer_mutation(name: str, kinds: tuple[str, ...] = ("object", "background", "preview")):
    """Register a mutation of one layer of the given kinds (it receives the layer index; skipped
    when the file has none)."""
    def register(function) -> Mutation:
        def mutate(draft, rng, seeds):
            i = _layer(draft, rng, kinds)
            return False if i is None else function(draft, rng, seeds, i)
        mutate.__doc__ = function.__doc__
        return _mutation(name)(mutate)
    return register


def _content_start(draft: Draft, index: int) -> int | None:
    """Where the transform's content starts in a layer's payload (after the mask of an object layer)."""
    payload = draft.payloads[index]
    if draft.kind_of(index) != "object":
        return 0
    read = read_varint(payload, 0)
    if read is None:
        return None
    end = read[1] + read[0]
    return end if end <= len(payload) else None


def _edit(payload: bytes, start: int, end: int, new: bytes) -> bytes:
    return payload[:start] + new + payload[end:]


@_mutation("header-field")
def _header_field(draft, rng, seeds):
    name, bits = rng.choice((("version", 8), ("channels", 8), ("width", 16), ("height", 16), ("count", 16),
                             ("name_length", 8), ("fill", 8)))
    value = boundary_values(bits, rng)
    if name == "fill":
        draft.fill = bytes([value] * 3)
    else:
        setattr(draft, name, value)
    return True


@_mutation("header-size")
def _header_size(draft, rng, seeds):
    w, h = draft.width, draft.height
    draft.width, draft.height = rng.choice((
        (1, 1), (8, 8), (9, 7), (w + 1, h), (w, h - 1), (w * 2, h * 2), (h, w), (w // 2 or 1, h),
        (4096, 4096), (4097, 4096), (2048, 2048), (8192, 8192), (16384, 16384), (65535, 1), (1, 65535), (65535, 65535),
    ))
    return True


@_mutation("header-channels")
def _header_channels(draft, rng, seeds):
    draft.channels = 4 - draft.channels if rng.random() < 0.8 else rng.choice((0, 2, 4, 255))
    return True


@_mutation("transform-name")
def _transform_name(draft, rng, seeds):
    # never a "compressai:<zoo name>": decoding it would try to download weights
    draft.name = rng.choice((b"avif", b"jpegxl", b"dct8", b"", b"x", b"ca:x", b"compressai:", b"DCT8", b"dct8\0",
                             b"a" * 64, b"a" * 65, b"b" * 255, b"\xff\xfe", b"dct8 ", b"registry"))
    return True


@_mutation("table-field")
def _table_field(draft, rng, seeds):
    row = rng.choice(draft.rows)
    name, bits = rng.choice((("kind", 8), ("object_id", 32), ("importance_bits", 32), ("quality", 8), ("scale", 8),
                             ("length", 32), ("crc", 32), ("label_length", 8)))
    value = boundary_values(bits, rng)
    if name == "importance_bits" and rng.random() < 0.5:  # NaN, infinities, -0, the smallest and largest floats
        value = rng.choice((0x7FC00000, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF))
    setattr(row, name, value)
    return True


@_mutation("label-vocabulary")
def _label_vocabulary(draft, rng, seeds):
    """A row's label coded from the vocabulary with impossible or extreme parts, or the vocabulary bit on a
    row that has no label, or a spelt-out label read as a coded one."""
    row = rng.choice(draft.rows)
    top = len(container.LABEL_VOCABULARY)
    choice = rng.randrange(5)
    if choice == 0:  # no part, too many parts, or parts cut short
        row.label = rng.choice((b"\x00", b"\xff", b"\x02\x00", bytes([rng.randrange(1, 256)])))
    elif choice == 1:  # indices past the vocabulary, counts of 0, redundant or over-long counts
        part = rng.choice((bytes([top, 1]), bytes([255, 1]), b"\x00\x00", b"\x00\x80\x00", b"\x00\xff\xff\xff\xff\x7f"))
        row.label = b"\x01" + part
    elif choice == 2:  # a label that spells out to more than 255 bytes, or just under
        parts = rng.choice((200, 18, 19, 255))
        row.label = bytes([parts]) + (bytes([top - 1]) + container.varint(rng.choice((1, 2, 0xFFFFFFFF)))) * parts
    elif choice == 3:  # valid parts, any names and counts
        parts = [(rng.randrange(top), rng.choice((1, 2, 127, 128, 0xFFFFFFFF))) for _ in range(rng.randrange(1, 6))]
        row.label = bytes([len(parts)]) + b"".join(bytes([i]) + container.varint(n) for i, n in parts)
    else:  # the bit flipped: a spelt-out label read as coded, a coded one as spelt out, or on any kind of row
        row.label = rng.choice((row.label, b"person", b""))
    row.vocabulary = not row.vocabulary if choice == 4 else True
    return True


@_mutation("table-valid-values")
def _table_valid_values(draft, rng, seeds):
    """Fields set to other *valid* values: the layers decode with the wrong geometry or steps."""
    row = rng.choice(draft.rows)
    if rng.random() < 0.5:
        row.scale = rng.choice(container.MASK_SCALES if row.kind == 0 else container.SCALES)  # what a reader accepts
    else:
        row.quality = rng.choice((1, 2, 50, 99, 100))
    if rng.random() < 0.3:
        row.kind = rng.choice((0, 1, 2))
    return True


@_mutation("layers-edit")
def _layers_edit(draft, rng, seeds):
    count = len(draft.rows)
    i, j = rng.randrange(count), rng.randrange(count)
    action = rng.choice(("delete", "duplicate", "swap", "reverse", "repeat-objects"))
    pairs = list(zip(draft.rows, draft.payloads))
    if action == "delete":
        del pairs[i]
    elif action == "duplicate":
        pairs.insert(j, pairs[i])
    elif action == "swap":
        pairs[i], pairs[j] = pairs[j], pairs[i]
    elif action == "reverse":
        pairs.reverse()
    else:
        objects = [p for p in pairs if p[0].kind == 0] or pairs[:1]
        pairs = pairs[:-1] + objects * rng.choice((2, 10, 50)) + pairs[-1:]
    draft.rows = [Row(**vars(row)) for row, _ in pairs]
    draft.payloads = [payload for _, payload in pairs]
    return True


@_mutation("splice")
def _splice(draft, rng, seeds):
    """A layer (row and payload) from another seed replaces or joins one of this file's."""
    other = seeds[rng.choice(sorted(seeds))]
    k = rng.randrange(len(other.rows))
    row, payload = Row(**vars(other.rows[k])), other.payloads[k]
    i = rng.randrange(len(draft.rows))
    if rng.random() < 0.5:
        draft.rows[i], draft.payloads[i] = row, payload
    else:
        draft.rows.insert(i, row)
        draft.payloads.insert(i, payload)
    return True


@_layer_mutation("payload-bitflip")
def _payload_bitflip(draft, rng, seeds, i):
    data = bytearray(draft.payloads[i])
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        position = rng.randrange(8 * len(data))
        data[position >> 3] ^= 1 << (position & 7)
    draft.payloads[i] = bytes(data)
    return True


@_layer_mutation("payload-bytes")
def _payload_bytes(draft, rng, seeds, i):
    data = bytearray(draft.payloads[i])
    for _ in range(rng.choice((1, 2, 4))):
        data[rng.randrange(len(data))] = boundary_values(8, rng)
    draft.payloads[i] = bytes(data)
    return True


@_layer_mutation("payload-insert-delete")
def _payload_insert_delete(draft, rng, seeds, i):
    payload, position, count = draft.payloads[i], rng.randrange(len(draft.payloads[i])), rng.choice((1, 2, 4, 16))
    if rng.random() < 0.5:
        draft.payloads[i] = _edit(payload, position, position, rng.randbytes(count))
    else:
        draft.payloads[i] = _edit(payload, position, position + count, b"")
    return True


@_layer_mutation("payload-truncate")
def _payload_truncate(draft, rng, seeds, i):
    payload = draft.payloads[i]
    draft.payloads[i] = payload[: rng.choice((0, 1, 2, 3, 4, 8, len(payload) // 2, len(payload) - 1,
                                              rng.randrange(len(payload))))]
    return True


@_layer_mutation("payload-extend")
def _payload_extend(draft, rng, seeds, i):
    count = rng.choice((1, 7, 64, 4096))
    draft.payloads[i] += rng.choice((b"\0" * count, b"\xff" * count, rng.randbytes(count), draft.payloads[i]))
    return True


@_mutation("payload-random")
def _payload_random(draft, rng, seeds):
    i = rng.randrange(len(draft.rows))
    content = _content_start(draft, i) if rng.random() < 0.5 else 0
    start = content or 0
    draft.payloads[i] = draft.payloads[i][:start] + rng.randbytes(rng.choice((1, 16, 100, 1000)))
    return True


@_mutation("payload-swap")
def _payload_swap(draft, rng, seeds):
    """Payloads exchanged between layers (their rows stay): a mask read as content and the like."""
    i, j = rng.randrange(len(draft.rows)), rng.randrange(len(draft.rows))
    draft.payloads[i], draft.payloads[j] = draft.payloads[j], draft.payloads[i]
    return True


@_mutation("mask-length")
def _mask_length(draft, rng, seeds):
    i = _layer(draft, rng, ("object",))
    read = None if i is None else read_varint(draft.payloads[i], 0)
    if read is None:
        return False
    payload = draft.payloads[i]
    length, start = read
    choice = rng.randrange(6)
    if choice == 0:  # a redundant varint: the same length with a final zero byte
        prefix = bytes([*(b | 0x80 for b in varint(length)[:-1]), varint(length)[-1] | 0x80, 0])
    elif choice == 1:  # a varint that never ends, or one longer than 5 bytes
        prefix = rng.choice((b"\x80" * rng.randrange(1, 8), b"\xff\xff\xff\xff\x7f", b"\x80"))
    else:
        value = rng.choice((length - 1, length + 1, len(payload) - 1, len(payload), 0, 7, 8, 24,
                            boundary_values(32, rng))) & 0xFFFFFFFF
        prefix = varint(value)
    draft.payloads[i] = prefix + payload[start:]
    return True


def _mask_span(draft: Draft, index: int) -> tuple[int, int] | None:
    """(start, end) of an object layer's mask payload, if it holds a box."""
    end = _content_start(draft, index)
    start = None if end is None else read_varint(draft.payloads[index], 0)[1]
    if end is None or unpack_box(draft.payloads[index][:end], start) is None:
        return None
    return start, end


def _mask_mutation(name: str, min_length: int = 0):
    """Register a mutation of one object layer's mask payload; it receives the layer index and the
    mask's (start, end), and is skipped (returns False) when no mask holds ``min_length`` bytes."""
    def register(function) -> Mutation:
        def mutate(draft, rng, seeds):
            i = _layer(draft, rng, ("object",))
            span = None if i is None else _mask_span(draft, i)
            if span is None or span[1] - span[0] < min_length:
                return False
            return function(draft, rng, seeds, i, span)
        mutate.__doc__ = function.__doc__
        return _mutation(name)(mutate)
    return register


@_mask_mutation("mask-box")
def _mask_box(draft, rng, seeds, i, span):
    start, _ = span
    box, box_end = unpack_box(draft.payloads[i], start)
    box = list(box)
    w, h = draft.width, draft.height
    choice = rng.randrange(4)
    if choice == 0:
        box = [0, 0, 0, 0]
    elif choice == 1:
        box = [0, 0, w, h]
    elif choice == 2:
        box[rng.randrange(4)] = rng.choice((0, 1, w - 1, w, w + 1, h, h + 1, 65535))
    else:
        box = [box[2], box[3], box[0], box[1]]
    new = pack_box(*box) if rng.randrange(4) else _raw_box(box, rng)
    draft.payloads[i] = _edit(draft.payloads[i], start, box_end, new)
    return True


def _raw_box(box: list[int], rng: random.Random) -> bytes:
    """A box written wrongly: a redundant or over-long varint, a negative size cut to 32 bits, or cut short."""
    x0, y0, x1, y1 = box
    numbers = [varint(n) for n in (x0, y0, (x1 - x0) & 0xFFFFFFFF, (y1 - y0) & 0xFFFFFFFF)]
    k = rng.randrange(4)
    choice = rng.randrange(3)
    if choice == 0:
        numbers[k] = bytes(b | 0x80 for b in numbers[k]) + b"\x00"
    elif choice == 1:
        numbers[k] = b"\xff" * 5 + b"\x01"
    else:
        numbers = numbers[:k]
    return b"".join(numbers)


def _box_end(payload: bytes, start: int) -> int:
    return unpack_box(payload, start)[1]


@_mask_mutation("mask-contexts")
def _mask_contexts(draft, rng, seeds, i, span):
    start = _box_end(draft.payloads[i], span[0])
    if span[1] - start < MODEL_BYTES:
        return False
    value = rng.choice((0, 255, 128, None))
    contexts = rng.randbytes(MODEL_BYTES) if value is None else bytes([value]) * MODEL_BYTES
    draft.payloads[i] = _edit(draft.payloads[i], start, start + MODEL_BYTES, contexts)
    return True


@_mask_mutation("mask-symbols")
def _mask_symbols(draft, rng, seeds, i, span):
    """The mask's pixels re-coded: all 0 (context 0, as the decoder will pick) except one odd value."""
    start, end = span
    payload = draft.payloads[i]
    (x0, y0, x1, y1), box_end = unpack_box(payload, start)
    if end - box_end < MODEL_BYTES:
        return False
    contexts = payload[box_end : box_end + MODEL_BYTES]
    area = max(x1 - x0, 0) * max(y1 - y0, 0)
    symbols = np.zeros(max(min(area, 1 << 16), 1), np.int64)
    symbols[rng.randrange(symbols.size)] = rng.choice((-1, 2, 3, -1000, 1 << 20, 1))
    stream = SymbolStream(context_table(contexts))
    stream.add(symbols, 0)
    mask = payload[start : box_end + MODEL_BYTES] + stream.finish()
    draft.payloads[i] = varint(len(mask)) + mask + payload[end:]
    return True


def _content(draft: Draft, rng: random.Random, transform: str) -> tuple[int, int] | None:
    """A layer (index, content start) whose content is non-empty and was written by ``transform``."""
    if draft.transform != transform:
        return None
    candidates = []
    for i in range(len(draft.rows)):
        start = _content_start(draft, i)
        if start is not None and len(draft.payloads[i]) > start:
            candidates.append((i, start))
    return rng.choice(candidates) if candidates else None


def _content_mutation(name: str, transform: str):
    """Register a mutation of one layer's content written by ``transform``; it receives the layer
    index and where its content starts, and is skipped (returns False) when there is none."""
    def register(function) -> Mutation:
        def mutate(draft, rng, seeds):
            found = _content(draft, rng, transform)
            return False if found is None else function(draft, rng, seeds, *found)
        mutate.__doc__ = function.__doc__
        return _mutation(name)(mutate)
    return register


def _dct8_header_size(draft: Draft, payload: bytes, start: int) -> int | None:
    classes = payload[start]
    size = 1 + classes + classes * draft.channels * BANDS
    return size if start + size <= len(payload) else None


@_content_mutation("dct8-header", "dct8")
def _dct8_header(draft, rng, seeds, i, start):
    payload = bytearray(draft.payloads[i])
    classes = payload[start]
    choice = rng.randrange(4)
    if choice == 0:
        payload[start] = rng.choice((0, 1, 7, 8, 9, 255, (classes - 1) & 0xFF, (classes + 1) & 0xFF))
    elif choice == 1 and classes:
        payload[start + 1 : start + 1 + classes] = bytes([rng.choice((0, 255))]) * classes
    elif choice == 2:
        position = start + 1 + classes + rng.randrange(max(classes * draft.channels * 7, 1))
        if position < len(payload):
            payload[position] = rng.choice((63, 64, 255, 0))
    else:
        size = _dct8_header_size(draft, bytes(payload), start) or 1
        del payload[start + rng.randrange(size) :]
    draft.payloads[i] = bytes(payload)
    return True


@_content_mutation("dct8-short-stream", "dct8")
def _dct8_short_stream(draft, rng, seeds, i, start):
    """The model header kept, the rANS stream cut to a few bytes: far too short for its symbols."""
    size = _dct8_header_size(draft, draft.payloads[i], start)
    if size is None:
        return False
    cut = start + size + rng.choice((0, 1, 2, 4, 8, 16))
    draft.payloads[i] = draft.payloads[i][:cut]
    if rng.random() < 0.5:  # and make every block claim the most active class
        payload = bytearray(draft.payloads[i])
        classes = payload[start]
        payload[start + 1 : start + 1 + classes] = bytes([1] * (classes - 1) + [255])
        draft.payloads[i] = bytes(payload)
    return True


@_content_mutation("dct8-symbols", "dct8")
def _dct8_symbols(draft, rng, seeds, i, start):
    """The stream re-coded with the layer's own model: classes, then levels, some out of range."""
    payload = draft.payloads[i]
    size = _dct8_header_size(draft, payload, start)
    classes = payload[start]
    if size is None or not classes:
        return False
    weights = np.frombuffer(payload, np.uint8, classes, start + 1).astype(np.float64) + 1e-3
    table = gaussian_table() + categorical_table((weights / weights.sum())[None, :])
    blocks = rng.choice((1, 4, 16, 64, 600))
    class_symbols = np.array([rng.randrange(classes) for _ in range(blocks)], np.int64)
    class_symbols[rng.randrange(blocks)] = rng.choice((-1, classes, 255, -1000, 1 << 20, 0))
    levels = np.array([rng.randrange(-3, 4) for _ in range(blocks * draft.channels * rng.choice((1, 64)))], np.int64)
    if rng.random() < 0.3:
        levels[rng.randrange(levels.size)] = rng.choice((1 << 15, -(1 << 15), 100_000))
    stream = SymbolStream(table)
    stream.add(class_symbols, len(SCALE_TABLE))
    stream.add(levels, np.array([rng.randrange(len(SCALE_TABLE)) for _ in range(levels.size)]))
    draft.payloads[i] = payload[: start + 1 + classes + classes * draft.channels * BANDS] + stream.finish()
    return True


def _obus(av1: bytes) -> list[tuple[int, int, int]]:
    """(start, size-field start, payload end) of each well-formed OBU of an AV1 stream."""
    units, position = [], 0
    while position < len(av1):
        start = position
        position += 1 + ((av1[position] >> 2) & 1)
        try:
            size, after = read_leb128(av1, position)
        except CorruptBitstreamError:
            break
        units.append((start, position, after + size))
        position = after + size
    return units


def _leb128_bytes(value: int, minimum: int = 1) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value or len(out) + 1 < minimum:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@_content_mutation("avif-config", "avif")
def _avif_config(draft, rng, seeds, i, start):
    payload = bytearray(draft.payloads[i])
    payload[start + rng.randrange(min(3, len(payload) - start))] = boundary_values(8, rng)
    draft.payloads[i] = bytes(payload)
    return True


@functools.lru_cache(maxsize=16)
def _whole_av1(width: int, height: int) -> bytes:
    """The AV1 data (temporal delimiter, sequence header, frame) libavif writes for a grey ``width`` x ``height``
    image: what an AVIF layer stores whole after its 0x80 tools byte."""
    import imagecodecs

    from sdcomp_lite.coding.image_coders import _top_level_boxes

    image = np.full((height, width, 3), 128, np.uint8)
    return _top_level_boxes(bytes(imagecodecs.avif_encode(image, level=30, speed=10, numthreads=1)))[b"mdat"]


def _as_verbatim(payload: bytes, start: int, rng: random.Random) -> bytes:
    """A compact AVIF layer (tools byte, then the frame) given whole AV1 data instead (tools byte 0x80): of a frame
    of a random small size, which the decoder's size check then meets (the encoder writes compact layers only)."""
    if payload[start + 3 : start + 4] == b"\x80":
        return payload
    size = rng.choice(((8, 8), (16, 8), (64, 64), (24, 40), (1, 1), (200, 3)))
    return payload[: start + 3] + b"\x80" + _whole_av1(*size)


@_content_mutation("avif-tools", "avif")
def _avif_tools(draft, rng, seeds, i, start):
    """A compact AVIF layer's tools byte (the coding tools its rebuilt sequence header declares, or 0x80: whole
    AV1 data follows) set to another value."""
    payload = bytearray(draft.payloads[i])
    if len(payload) <= start + 3:
        return False
    payload[start + 3] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF, payload[start + 3] ^ (1 << rng.randrange(8))))
    draft.payloads[i] = bytes(payload)
    return True


@_content_mutation("avif-obu", "avif")
def _avif_obu(draft, rng, seeds, i, start):
    """An OBU's header byte or size field changed, or an OBU dropped or repeated (in whole AV1 data,
    :func:`_as_verbatim`)."""
    payload = _as_verbatim(draft.payloads[i], start, rng)
    start += 1  # the tools byte
    av1 = payload[start + 3 :]
    units = _obus(av1)
    if not units:
        return False
    unit_start, size_at, end = rng.choice(units)
    action = rng.randrange(4)
    if action == 0:
        av1 = _edit(av1, unit_start, unit_start + 1, bytes([av1[unit_start] ^ (1 << rng.randrange(8))]))
    elif action == 1:
        _, after = read_leb128(av1, size_at)
        size = end - after
        value = rng.choice((0, 1, size - 1, size + 1, 1 << 28, (1 << 32) - 1, 1 << 56, size)) & ((1 << 56) - 1)
        av1 = _edit(av1, size_at, after, _leb128_bytes(value, rng.choice((1, 1, 8, 9))))
    elif action == 2:
        av1 = _edit(av1, unit_start, end, b"")
    else:
        av1 = _edit(av1, end, end, av1[unit_start:end] * rng.choice((1, 2)))
    draft.payloads[i] = payload[: start + 3] + av1
    return True


@_content_mutation("avif-sequence", "avif")
def _avif_sequence(draft, rng, seeds, i, start):
    """One bit of an AV1 sequence header (in whole AV1 data, :func:`_as_verbatim`): in the frame size fields, or
    anywhere."""
    payload = _as_verbatim(draft.payloads[i], start, rng)
    start += 1  # the tools byte
    av1 = bytearray(payload[start + 3 :])
    units = [(size_at, end) for unit, size_at, end in _obus(bytes(av1)) if (av1[unit] >> 3) & 0xF == 1]
    if not units:
        return False
    size_at, end = rng.choice(units)
    _, body = read_leb128(bytes(av1), size_at)
    if body >= end:
        return False
    # bits 10..: frame_width_bits, frame_height_bits, then the maximum frame size (what the size check reads)
    bit = rng.randrange(10, 40) if rng.random() < 0.5 else rng.randrange(8 * (end - body))
    if body + bit // 8 >= len(av1):
        return False
    av1[body + bit // 8] ^= 0x80 >> (bit % 8)
    draft.payloads[i] = payload[: start + 3] + bytes(av1)
    return True


@_content_mutation("jpegxl-header", "jpegxl")
def _jpegxl_header(draft, rng, seeds, i, start):
    payload = bytearray(draft.payloads[i])
    position = start + rng.randrange(min(12, len(payload) - start))
    if rng.random() < 0.6:
        payload[position] ^= 1 << rng.randrange(8)
    else:
        payload[position] = boundary_values(8, rng)
    draft.payloads[i] = bytes(payload)
    return True


@_mutation("stacked")
def _stacked(draft, rng, seeds):
    """Two to four of the payload-level mutations above, together."""
    names = [n for n in MUTATIONS if n.startswith(("payload-", "mask-", "dct8-", "avif-", "jpegxl-", "table-"))]
    for _ in range(rng.randrange(2, 5)):
        MUTATIONS[rng.choice(names)](draft, rng, seeds)
    return True


# raw cases: they work on bytes, not on a draft

def _raw_random(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    return rng.randbytes(rng.choice((0, 1, 3, 4, 5, 16, 24, 100, 1000, 2048)))


def _raw_after_header(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    cut = container.HEADER.size + data[container.HEADER.size - 1]
    if rng.random() < 0.5:  # after the table too, its CRC intact
        cut = len(data) - sum(len(p) for p in Draft.parse(data).payloads)
    return data[:cut] + rng.randbytes(rng.choice((0, 1, 20, 200, 2000)))


def _raw_prefix(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    return data[: rng.choice((1, 2, 3, 4, 5, 8, 16, 20, rng.randrange(len(data))))]


def _raw_bitflip(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 2, 5))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _raw_concat(data: bytes, rng: random.Random, seeds: dict[str, bytes]) -> bytes:
    return data + seeds[rng.choice(sorted(seeds))]


RAW_MUTATIONS: dict[str, Callable[[bytes, random.Random, dict[str, bytes]], bytes]] = {
    "raw-random": _raw_random,
    "raw-after-header": _raw_after_header,
    "raw-prefix": _raw_prefix,
    "raw-bitflip": _raw_bitflip,
    "raw-concat": _raw_concat,
}


# --- cases ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One input for the decoder, and how it was made."""

    index: int
    kind: str  # the mutation's name
    seed_file: str
    data: bytes
    mode: str = "decode"  # or "progressive" (decode_progressive, every step)


class CaseMaker:
    """Builds case ``index`` of a fuzzing ``seed`` from the seed files, deterministically."""

    def __init__(self, seeds: dict[str, bytes], seed: int = 0) -> None:
        self.seeds, self.seed = seeds, seed
        self.names = sorted(seeds)
        self.drafts = {name: Draft.parse(data) for name, data in seeds.items()}
        self.kinds = sorted(MUTATIONS) + sorted(RAW_MUTATIONS)

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}:{index}")
        name = rng.choice(self.names)
        kind = self.kinds[index % len(self.kinds)]  # every kind equally often
        mode = "progressive" if rng.random() < 0.1 else "decode"
        if kind in RAW_MUTATIONS:
            return Case(index, kind, name, RAW_MUTATIONS[kind](self.seeds[name], rng, self.seeds), mode)
        for _ in range(20):  # a mutation that does not fit this seed: another seed, same kind
            draft = Draft.parse(self.seeds[name])
            if MUTATIONS[kind](draft, rng, self.drafts):
                return Case(index, kind, name, draft.to_bytes(), mode)
            name = rng.choice(self.names)
        return Case(index, kind, name, self.seeds[name], mode)

    def cases(self, count: int, start: int = 0) -> Iterable[Case]:
        return (self.case(index) for index in range(start, start + count))
