"""Layer coders built on ordinary image codecs: AVIF (libaom through imagecodecs) and JPEG XL.

Both are :class:`~sdcomp_lite.coding.region_coder.RegionCoder` s: a layer's region is coded as the
crop of its box (XYXY, aligned to 8 pixels), the pixels outside the region filled smoothly, and the
decoder computes the same box from the region it already knows, so no box is stored.

Only what the decoder cannot rebuild is stored. An AVIF file is an ISO-BMFF container (about
275 bytes of boxes: ftyp, meta, hdlr, iloc, ispe, av1C, colr, ...) around the AV1 data; every
field of those boxes follows from the crop's size and two bytes of the AV1 configuration, so a
layer stores those two bytes and the colour-matrix code, and the decoder rebuilds the container. The AV1
data libavif writes is three units: a temporal delimiter, a sequence header and the frame. The first two
follow from the crop's size, the configuration, the colour matrix and seven coding-tool flags (one byte), so
a layer stores that byte and the frame unit's payload (:func:`compact_av1`, :func:`expand_av1`): about 13
bytes fewer per layer. AV1 data of any other shape is stored whole, after a flag byte of 0x80.
JPEG XL is stored as its bare codestream (no container), which is already compact.

Untrusted payloads: before a codec sees them, the image size the payload declares (the AV1
sequence header, the JPEG XL size header) is checked against the crop the decoder expects, so
a tiny file cannot make the codec allocate a huge frame. libavif reads no side over
:data:`AVIF_MAX_SIDE` pixels, so the AVIF coder refuses to write one (:class:`ImageTooLargeError`).

Quality 1..100 means the same direction for every coder (higher: better, larger):
AVIF passes it to libavif's quality (0..100, where 100 is lossless) unchanged; JPEG XL maps it to a
Butteraugli distance ``0.1 + 14.9 * (1 - (quality - 1) / 99) ** 2`` (quality 100: distance 0.1,
quality 1: distance 15).

Taught in notebooks/00_quickstart.ipynb (the default AVIF layers).
"""

from __future__ import annotations

import struct

import imagecodecs
import numpy as np

from sdcomp_lite.coding import container
from sdcomp_lite.coding.region_coder import RegionCoder
from sdcomp_lite.coding.transforms import AVIF_SPEED
from sdcomp_lite.errors import BackendUnavailableError, CorruptBitstreamError, ImageTooLargeError
from sdcomp_lite.types import Window

AVIF_PIXEL_FORMAT = "yuv444"  # what imagecodecs uses for RGB by default (the whole-image AVIF anchor)
AVIF_MAX_SIDE = 32_768  # libavif's default image dimension limit: its decoder refuses a longer side


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, body: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + body)


def build_avif(width: int, height: int, av1c: bytes, matrix: int, av1_data: bytes) -> bytes:
    """A single-image AVIF file around ``av1_data`` (the layout libavif 1.x writes for 8-bit colour).

    ``av1c``: the two variable bytes of the AV1 configuration (profile, level, tier, depth,
    subsampling); ``matrix``: the colour matrix code (6, BT.601, for lossy; 0, identity, for lossless).
    """
    profile = av1c[0] >> 5
    brands = b"avifmif1miaf" + (b"MA1B" if profile == 0 else b"MA1A")
    ftyp = _box(b"ftyp", b"avif" + b"\0\0\0\0" + brands)
    hdlr = _full_box(b"hdlr", b"\0" * 4 + b"pict" + b"\0" * 12 + b"\0")
    pitm = _full_box(b"pitm", struct.pack(">H", 1))
    infe = _full_box(b"infe", struct.pack(">HH", 1, 0) + b"av01" + b"Color\0", version=2)
    iinf = _full_box(b"iinf", struct.pack(">H", 1) + infe)
    ispe = _full_box(b"ispe", struct.pack(">II", width, height))
    pixi = _full_box(b"pixi", bytes([3, 8, 8, 8]))
    av1c_box = _box(b"av1C", b"\x81" + av1c + b"\0")
    colr = _box(b"colr", b"nclx" + struct.pack(">HHHB", 2, 2, matrix, 0x80))
    ipco = _box(b"ipco", ispe + pixi + av1c_box + colr)
    ipma = _full_box(b"ipma", struct.pack(">IHB", 1, 1, 4) + bytes([0x01, 0x02, 0x83, 0x04]))
    iprp = _box(b"iprp", ipco + ipma)
    iloc_size = 8 + 4 + 2 + 2 * 4 + 2 * 4  # the iloc box's size, known before its offset field is
    meta_size = 12 + len(hdlr) + len(pitm) + iloc_size + len(iinf) + len(iprp)
    data_offset = len(ftyp) + meta_size + 8
    iloc = _full_box(b"iloc", bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 1, 0, 1, data_offset, len(av1_data)))
    meta = _full_box(b"meta", hdlr + pitm + iloc + iinf + iprp)
    return ftyp + meta + _box(b"mdat", av1_data)


def _top_level_boxes(data: bytes) -> dict[bytes, bytes]:
    boxes, position = {}, 0
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        if size < 8 or position + size > len(data):
            break
        boxes[kind] = data[position + 8 : position + size]
        position += size
    return boxes


class _Bits:
    """A bit reader over untrusted bytes: most significant bit first (AV1) or least (JPEG XL)."""

    def __init__(self, data: bytes, what: str, msb_first: bool = True) -> None:
        self.data, self.position, self.what, self.msb_first = data, 0, what, msb_first

    def read(self, count: int) -> int:
        value = 0
        for index in range(count):
            byte = self.position >> 3
            if byte >= len(self.data):
                raise CorruptBitstreamError(f"{self.what} ends early.")
            shift = 7 - (self.position & 7) if self.msb_first else self.position & 7
            bit = (self.data[byte] >> shift) & 1
            value = (value << 1) | bit if self.msb_first else value | bit << index
            self.position += 1
        return value

    def u32_size(self) -> int:
        """JPEG XL's U32 size field: a 2-bit selector, then 9, 13, 18 or 30 bits, plus 1."""
        return self.read((9, 13, 18, 30)[self.read(2)]) + 1


def read_leb128(data: bytes, position: int) -> tuple[int, int]:
    """An AV1 LEB128 size field at ``position``: (value, position after it)."""
    value = 0
    for index in range(8):
        if position >= len(data):
            raise CorruptBitstreamError("an AV1 unit's size field ends early.")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, position
    raise CorruptBitstreamError("an AV1 unit's size field is too long.")


VERBATIM = 0x80  # a compact AVIF payload's flag byte: the AV1 data follows whole
_TEMPORAL_DELIMITER = b"\x12\x00"  # OBU type 2, with a size field of 0
_SEQUENCE_HEADER_OBU, _FRAME_OBU = 0x0A, 0x32  # OBU headers: type 1 or 6, no extension, a size field


class _BitWriter:
    """Bits, most significant first, as AV1 writes them."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def write(self, value: int, count: int) -> None:
        self.bits += [(value >> shift) & 1 for shift in range(count - 1, -1, -1)]

    def trailing_bytes(self) -> bytes:
        """The bits, then AV1's trailing bits (a one, then zeros to the byte boundary), as bytes."""
        bits = self.bits + [1] + [0] * (-(len(self.bits) + 1) % 8)
        return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))


def sequence_header(av1c: bytes, matrix: int, tools: int, width: int, height: int) -> bytes:
    """The payload of the reduced still-picture sequence header libavif writes for a ``width`` x ``height`` frame.

    ``av1c``: the two variable bytes of the AV1 configuration (profile and level; tier, depth and chroma
    subsampling); ``matrix``: the colour matrix; ``tools``: bit 0 the 128x128 superblock, then filter intra, intra
    edge filter, superres, CDEF and loop restoration (bit 5); bit 6: a colour description (primaries and transfer
    2, unspecified, and ``matrix``, as :func:`build_avif`'s colour box says). The range is full and there is no
    film grain, as libavif writes a still image.
    """
    profile, level = av1c[0] >> 5, av1c[0] & 0x1F
    high_bitdepth, twelve_bit, mono = (av1c[1] >> 6) & 1, (av1c[1] >> 5) & 1, (av1c[1] >> 4) & 1
    subsampling_x, subsampling_y, position = (av1c[1] >> 3) & 1, (av1c[1] >> 2) & 1, av1c[1] & 3
    width_bits, height_bits = max(1, (width - 1).bit_length()), max(1, (height - 1).bit_length())
    bits = _BitWriter()
    bits.write(profile, 3)
    bits.write(1, 1)  # still_picture
    bits.write(1, 1)  # reduced_still_picture_header
    bits.write(level, 5)
    bits.write(width_bits - 1, 4)
    bits.write(height_bits - 1, 4)
    bits.write(width - 1, width_bits)
    bits.write(height - 1, height_bits)
    for flag in range(6):  # 128x128 superblock, filter intra, intra edge filter, superres, CDEF, restoration
        bits.write((tools >> flag) & 1, 1)
    bits.write(high_bitdepth, 1)
    if profile == 2 and high_bitdepth:
        bits.write(twelve_bit, 1)
    if profile != 1:
        bits.write(mono, 1)
    described = (tools >> 6) & 1
    bits.write(described, 1)  # color_description_present_flag
    if described:
        bits.write(2, 8)  # colour primaries: unspecified
        bits.write(2, 8)  # transfer characteristics: unspecified
        bits.write(matrix, 8)
    bits.write(1, 1)  # color_range: full
    if mono:
        return _tail(bits)
    if profile == 2 and high_bitdepth and twelve_bit:  # only then is the subsampling coded; else the profile's
        bits.write(subsampling_x, 1)
        if subsampling_x:
            bits.write(subsampling_y, 1)
        subsampled = subsampling_x and subsampling_y
    else:
        subsampled = profile == 0  # profile 0: 4:2:0; 1: 4:4:4; 2 below 12 bits: 4:2:2
    if subsampled:
        bits.write(position, 2)
    bits.write(0, 1)  # separate_uv_delta_q
    return _tail(bits)


def _tail(bits: _BitWriter) -> bytes:
    bits.write(0, 1)  # film_grain_params_present
    return bits.trailing_bytes()


def _obu_units(av1_data: bytes) -> list[tuple[int, bytes]]:
    """(OBU header byte, payload) of each unit of ``av1_data``; :class:`CorruptBitstreamError` for a unit without a
    size field or one that runs past the end."""
    units, position = [], 0
    while position < len(av1_data):
        header = av1_data[position]
        if not (header >> 1) & 1:
            raise CorruptBitstreamError("an AV1 unit without a size field; not an sdcomp-lite AVIF layer.")
        size, position = read_leb128(av1_data, position + 1 + ((header >> 2) & 1))
        if position + size > len(av1_data):
            raise CorruptBitstreamError("an AV1 unit runs past the end of its layer.")
        units.append((header, av1_data[position : position + size]))
        position += size
    return units


def compact_av1(av1c: bytes, matrix: int, av1_data: bytes, width: int, height: int) -> bytes:
    """The AV1 data libavif wrote for a ``width`` x ``height`` crop, less what :func:`expand_av1` rebuilds: a tools
    byte (see :func:`sequence_header`) and the frame unit's payload; anything else as :data:`VERBATIM` + the data."""
    try:
        units = _obu_units(av1_data)
    except CorruptBitstreamError:
        units = []
    if len(units) == 3 and av1_data.startswith(_TEMPORAL_DELIMITER):
        (_, _), (seq_header, seq), (frame_header, frame) = units
        if seq_header == _SEQUENCE_HEADER_OBU and frame_header == _FRAME_OBU:
            for tools in range(128):
                if sequence_header(av1c, matrix, tools, width, height) == seq:
                    compact = bytes([tools]) + frame
                    if expand_av1(av1c, matrix, compact, width, height) == av1_data:
                        return compact
                    break
    return bytes([VERBATIM]) + av1_data


def check_compact(av1c: bytes, tools: int) -> None:
    """Refuse (:class:`CorruptBitstreamError`) a compact layer's tools byte or configuration from which no sequence
    header is rebuilt: tools above 0x7f, a profile above 2, tier 1, or monochrome 4:4:4 (what no encoder writes)."""
    if tools > 0x7F:
        raise CorruptBitstreamError(f"an AVIF layer's tools byte is {tools:#04x}; it is at most 0x7f, or 0x80.")
    profile, mono = av1c[0] >> 5, (av1c[1] >> 4) & 1
    if profile > 2 or av1c[1] & 0x80 or (profile == 1 and mono):
        raise CorruptBitstreamError(f"an AVIF layer's configuration ({av1c.hex()}) is not one AV1 allows for a still "
                                    "picture (profile 0-2, tier 0, no monochrome 4:4:4).")


def expand_av1(av1c: bytes, matrix: int, compact: bytes, width: int, height: int) -> bytes:
    """The AV1 data :func:`compact_av1` stored as ``compact`` (its first byte: the tools, or :data:`VERBATIM`)."""
    if not compact:
        raise CorruptBitstreamError("an AVIF layer is too short.")
    if compact[0] == VERBATIM:
        return compact[1:]
    check_compact(av1c, compact[0])
    seq = sequence_header(av1c, matrix, compact[0], width, height)
    frame = compact[1:]
    return (_TEMPORAL_DELIMITER + bytes([_SEQUENCE_HEADER_OBU]) + container.varint(len(seq)) + seq
            + bytes([_FRAME_OBU]) + container.varint(len(frame)) + frame)


def av1_frame_sizes(av1_data: bytes) -> list[tuple[int, int]]:
    """The maximum frame size (width, height) declared by every sequence header in ``av1_data``.

    Only still-picture sequence headers with ``reduced_still_picture_header`` (what libavif
    writes for one image) are accepted; anything else raises :class:`CorruptBitstreamError`.
    """
    sizes = [_sequence_frame_size(payload) for header, payload in _obu_units(av1_data) if (header >> 3) & 0xF == 1]
    if not sizes:
        raise CorruptBitstreamError("an AVIF layer holds no AV1 sequence header.")
    return sizes


def _sequence_frame_size(payload: bytes) -> tuple[int, int]:
    bits = _Bits(payload, "an AV1 sequence header")
    bits.read(3)  # seq_profile
    still_picture, reduced = bits.read(1), bits.read(1)
    if not (still_picture and reduced):
        raise CorruptBitstreamError("an AV1 sequence header that is not a reduced still-picture header.")
    bits.read(5)  # seq_level_idx[0]
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


class AvifCoder(RegionCoder):
    """AVIF (AV1 intra, libaom through imagecodecs; 4:4:4 by default) for one region; container rebuilt at decode."""

    name = "avif"
    kind = "AVIF"
    decode_errors = (RuntimeError,)  # imagecodecs.AvifError is one; MemoryError and bugs are not

    def __init__(self, speed: int = AVIF_SPEED, pixelformat: str = AVIF_PIXEL_FORMAT) -> None:
        if not imagecodecs.AVIF.available:
            raise BackendUnavailableError("imagecodecs was built without AVIF; reinstall imagecodecs from PyPI.")
        self.speed, self.pixelformat = int(speed), pixelformat

    def encode_crop(self, crop: np.ndarray, window: Window, quality: int) -> bytes:
        if max(window.width, window.height) > AVIF_MAX_SIDE:
            raise ImageTooLargeError(
                f"a layer of {window.width}x{window.height} pixels: AVIF decoders read at most {AVIF_MAX_SIDE} pixels "
                "a side. Use transform='jpegxl' or 'dct8', or split the image into tiles."
            )
        avif = bytes(imagecodecs.avif_encode(crop, level=quality, speed=self.speed, pixelformat=self.pixelformat,
                                             numthreads=1))
        av1_data = _top_level_boxes(avif).get(b"mdat", b"")
        av1c = avif[avif.find(b"av1C") + 5 : avif.find(b"av1C") + 7]
        matrix = avif[avif.find(b"nclx") + 9] if b"nclx" in avif else -1
        if not 0 <= matrix < 256 or build_avif(crop.shape[1], crop.shape[0], av1c, matrix, av1_data) != avif:
            raise BackendUnavailableError(
                "this libavif writes a container sdcomp-lite cannot rebuild; install imagecodecs 2024-2026 "
                "(libavif 1.x) or use transform='jpegxl'."
            )
        return av1c + bytes([matrix]) + compact_av1(av1c, matrix, av1_data, crop.shape[1], crop.shape[0])

    def check_payload(self, payload: bytes, window: Window) -> None:
        if len(payload) < 4:
            raise CorruptBitstreamError("an AVIF layer is too short.")
        width, height = window.width, window.height
        if payload[3] != VERBATIM:  # compact: the sequence header is rebuilt for exactly this window
            check_compact(payload[:2], payload[3])
            return
        for declared in av1_frame_sizes(payload[4:]):
            if declared != (width, height):
                raise CorruptBitstreamError(
                    f"an AVIF layer declares a {declared[0]}x{declared[1]} frame where its region needs {width}x{height}."
                )

    def decode_crop(self, payload: bytes, window: Window, channels: int) -> np.ndarray:
        av1_data = expand_av1(payload[:2], payload[2], payload[3:], window.width, window.height)
        avif = build_avif(window.width, window.height, payload[:2], payload[2], av1_data)
        return imagecodecs.avif_decode(avif, numthreads=1)


def jpegxl_distance(quality: int) -> float:
    """Butteraugli distance for a quality 1..100 (see the module docstring)."""
    return 0.1 + 14.9 * (1.0 - (int(quality) - 1) / 99.0) ** 2


_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def jpegxl_size(codestream: bytes) -> tuple[int, int]:
    """(width, height) from a bare JPEG XL codestream's size header."""
    if codestream[:2] != b"\xff\x0a":
        raise CorruptBitstreamError("a JPEG XL layer does not start with a bare codestream signature.")
    bits = _Bits(codestream[2:], "a JPEG XL size header", msb_first=False)
    small = bits.read(1)
    height = (bits.read(5) + 1) * 8 if small else bits.u32_size()
    ratio = bits.read(3)
    if ratio:
        numerator, denominator = _JXL_RATIOS[ratio]
        return height * numerator // denominator, height
    return ((bits.read(5) + 1) * 8 if small else bits.u32_size()), height


class JpegXlCoder(RegionCoder):
    """JPEG XL (libjxl through imagecodecs) for one region, stored as a bare codestream."""

    name = "jpegxl"
    kind = "JPEG XL"
    decode_errors = (RuntimeError,)  # JpegxlError, and a bare RuntimeError ("could not determine frame count")

    def __init__(self, effort: int = 5) -> None:
        if not imagecodecs.JPEGXL.available:
            raise BackendUnavailableError("imagecodecs was built without JPEG XL; reinstall imagecodecs from PyPI.")
        self.effort = int(effort)

    def encode_crop(self, crop: np.ndarray, window: Window, quality: int) -> bytes:
        return bytes(imagecodecs.jpegxl_encode(crop, distance=jpegxl_distance(quality), effort=self.effort,
                                               usecontainer=False, numthreads=1))

    def check_payload(self, payload: bytes, window: Window) -> None:
        if jpegxl_size(payload) != (window.width, window.height):
            raise CorruptBitstreamError("a JPEG XL layer declares another size than its region needs.")

    def decode_crop(self, payload: bytes, window: Window, channels: int) -> np.ndarray:
        return imagecodecs.jpegxl_decode(payload, numthreads=1)

