import struct
import zlib

import pytest

from sdcomp_lite.coding import container
from sdcomp_lite.errors import (
    BadMagicError,
    CorruptBitstreamError,
    ImageTooLargeError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)

HEADER = container.Header(3, 10, 20, "dct8", (1, 2, 3))


def _entry(kind, object_id=0, label="", importance=0.0, quality=50, scale=1):
    return container.LayerEntry(index=0, kind=kind, object_id=object_id, label=label, rank=0, importance=importance,
                                quality=quality, scale=scale, offset=0, length=0, crc32=0)


def _sample(header=HEADER, entries=None) -> bytes:
    entries = entries or [(_entry("object", 5, "cat", 0.75), b"abc"), (_entry("background", quality=40), b"defgh")]
    return container.pack(header, entries)


def _with_table_crc(data: bytes, table_end: int) -> bytes:
    """Recompute the table CRC of a hand-edited file (as an attacker would)."""
    return data[:table_end] + struct.pack(">I", zlib.crc32(data[:table_end])) + data[table_end + 4 :]


def test_round_trip_keeps_every_field():
    parsed = container.unpack(_sample())
    assert parsed.header == HEADER
    first, second = parsed.layers
    assert (first.kind, first.object_id, first.label, first.rank, first.quality) == ("object", 5, "cat", 0, 50)
    assert (second.kind, second.rank, second.quality, second.scale) == ("background", -1, 40, 1)
    assert first.importance == pytest.approx(0.75)
    assert (second.offset, second.length) == (3, 5)
    assert parsed.layer_bytes(0) == b"abc" and parsed.layer_bytes(1) == b"defgh"


def test_truncated_payload_reports_missing_layer():
    parsed = container.unpack(_sample()[:-1])
    assert parsed.layer_bytes(0) == b"abc"
    assert parsed.layer_bytes(1) is None


def test_wrong_magic():
    with pytest.raises(BadMagicError):
        container.unpack(b"PNG\x89" + _sample()[4:])


@pytest.mark.parametrize("version", [1, 2, 3, 4, 99])
def test_other_versions_give_the_documented_error(version):
    data = bytearray(_sample())
    data[4] = version
    with pytest.raises(UnsupportedVersionError, match="reads version 5"):
        container.unpack(bytes(data))
    with pytest.raises(UnsupportedVersionError):  # even when only 5 bytes arrived
        container.unpack(bytes(data[:5]))


def test_table_crc_catches_a_flipped_label_byte():
    data = bytearray(_sample(entries=[(_entry("object", 5, "tabby cat", 0.75), b"abc"), (_entry("background"), b"d")]))
    index = bytes(data).index(b"cat")
    data[index] ^= 0x20
    with pytest.raises(CorruptBitstreamError):
        container.unpack(bytes(data))


@pytest.mark.parametrize("length", [0, 1, 3, 4, 10, 34])
def test_short_data_is_truncated_not_foreign(length):
    with pytest.raises(TruncatedBitstreamError):
        container.unpack(_sample()[:length])


def test_pixel_budget_is_the_callers_and_the_side_limit_the_formats():
    big = container.Header(3, 65_535, 65_535, "dct8", (0, 0, 0))
    data = _sample(big)
    with pytest.raises(ImageTooLargeError, match="max_pixels="):
        container.unpack(data)
    assert container.unpack(data, max_pixels=65_535**2).header.width == 65_535


@pytest.mark.parametrize(
    "entries, message",
    [
        ([(_entry("object", 1, "a"), b"x")], "end with exactly one background"),
        ([(_entry("background"), b""), (_entry("background"), b"")], "second background"),
        ([(_entry("object", 1, "a"), b""), (_entry("preview", scale=8), b""), (_entry("background"), b"")],
         "preview may only be layer 0"),
        ([(_entry("background", quality=0), b"")], "quality 0"),
        ([(_entry("background", quality=255), b"")], "quality 255"),
        ([(_entry("background", scale=3), b"")], "scale 128"),  # no code for 3: written as the impossible code 7
        ([(_entry("background", scale=64), b"")], "background.*scale 64"),
        ([(_entry("preview", scale=16), b""), (_entry("background"), b"")], "preview.*scale 16"),
        ([(_entry("object", 1, "a", scale=128), b""), (_entry("background"), b"")], "object.*scale 128"),
        ([(_entry("object", 1, "a", importance=float("nan")), b""), (_entry("background"), b"")], "non-finite"),
    ],
)
def test_impossible_tables_are_refused_even_with_valid_crcs(entries, message):
    with pytest.raises(CorruptBitstreamError, match=message):
        container.unpack(_sample(entries=entries))


def test_unknown_kind_and_bad_transform_name_are_refused():
    data = bytearray(_sample())
    table_end = len(data) - 8 - 4
    kind_at = container.HEADER.size + len(b"dct8")
    row_start = data[kind_at]
    data[kind_at] = 0xC0 | row_start & container.SCALE_BITS  # kind 3
    with pytest.raises(CorruptBitstreamError, match="unknown kind"):
        container.unpack(_with_table_crc(bytes(data), table_end))
    data[kind_at] = row_start | 0x08  # an object row with a reserved bit set
    with pytest.raises(CorruptBitstreamError, match="reserved bits"):
        container.unpack(_with_table_crc(bytes(data), table_end))
    odd = container.Header(3, 10, 20, "dct\x018", (1, 2, 3))
    with pytest.raises(CorruptBitstreamError, match="transform"):
        container.unpack(_sample(odd))


def test_many_empty_background_layers_cost_nothing_to_refuse():
    entries = [(_entry("background"), b"")] * 65_535
    with pytest.raises(CorruptBitstreamError, match="second background"):
        container.unpack(_sample(container.Header(3, 2048, 2048, "dct8", (0, 0, 0)), entries))


def test_object_layers_may_use_superblock_sized_mask_cells():
    entries = [(_entry("object", 1, "a", scale=scale), b"") for scale in (16, 32, 64)] + [(_entry("background"), b"")]
    assert [layer.scale for layer in container.unpack(_sample(entries=entries)).layers[:3]] == [16, 32, 64]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16_383, 16_384, 2**32 - 1])
def test_varints_round_trip_in_as_few_bytes_as_they_need(value):
    entries = [(_entry("object", value, "a"), b""), (_entry("background"), b"")]
    parsed = container.unpack(_sample(entries=entries))
    assert parsed.layers[0].object_id == value
    assert len(container.varint(value)) == max(1, -(-value.bit_length() // 7))


@pytest.mark.parametrize("number, message", [(b"\x80\x00", "over-long"), (b"\xff\xff\xff\xff\x10", "over-long"),
                                             (b"\x80\x80\x80\x80\x80\x01", "over-long"), (b"\x80", "ends inside")])
def test_a_redundant_over_long_or_cut_varint_is_refused(number, message):
    row = bytes([container.KIND_CODES["object"] << container.KIND_SHIFT]) + number
    head = container.pack_header(3, 10, 20, b"\0\0\0", 1, b"dct8") + row
    with pytest.raises((CorruptBitstreamError, TruncatedBitstreamError), match=message):
        container.unpack(head + container.table_crc(head))


def test_preview_and_background_rows_store_no_label_id_or_importance():
    entries = [(_entry("preview", scale=4), b"p"), (_entry("object", 9, "cat", 0.5), b"o"), (_entry("background"), b"b")]
    data = _sample(entries=entries)
    parsed = container.unpack(data)
    assert [(e.kind, e.label, e.object_id, e.importance) for e in parsed.layers] == [
        ("preview", "preview", 0, 0.0), ("object", "cat", 9, 0.5), ("background", "background", 0, 0.0)]
    # preview and background rows: kind-and-scale, quality, length and CRC (7 bytes); the object's adds its id,
    # importance and label ("cat" from the vocabulary: a part count, the name's index and its count)
    assert parsed.table_size == container.HEADER.size + 4 + 7 + (1 + 1 + 4 + 3 + 6) + 7 + 4


@pytest.mark.parametrize("entry", [_entry("background", object_id=3), _entry("background", importance=0.5),
                                   _entry("background", label="sky"), _entry("preview", label="background", scale=8)])
def test_pack_refuses_preview_or_background_fields_the_table_cannot_hold(entry):
    from sdcomp_lite.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="stores no object id"):
        container.pack(HEADER, [(entry, b"")])


@pytest.mark.parametrize("label", ["person", "person x3", "face x2 + couch x5 + dining table + cup x4 + bottle",
                                   "salient object x4294967295", "cat + cat"])
def test_vocabulary_labels_take_a_byte_a_name_and_read_back_exactly(label):
    code = container.vocabulary_label(label)
    assert code is not None and len(code) <= 1 + 6 * (label.count(" + ") + 1)
    data = _sample(entries=[(_entry("object", 5, label, 0.75), b"abc"), (_entry("background"), b"d")])
    first = container.unpack(data).layers[0]
    assert first.label == label
    assert data[container.HEADER.size + 4] & container.VOCABULARY_BIT  # the row's kind-and-scale byte


@pytest.mark.parametrize("label", ["helmet", "person + helmet", "person x1", "person x03", "person x", "person  x2",
                                   "person x\uff12", "person x4294967296", "Person", "", "person +", "..."])
def test_other_labels_are_spelt_out(label):
    label = label.encode().decode("unicode_escape")
    assert container.vocabulary_label(label) is None
    data = _sample(entries=[(_entry("object", 5, label, 0.75), b"abc"), (_entry("background"), b"d")])
    assert container.unpack(data).layers[0].label == label
    assert not data[container.HEADER.size + 4] & container.VOCABULARY_BIT


def _vocabulary_row(code: bytes, kind: int = 0) -> bytes:
    head = container.pack_header(3, 10, 20, b"\1\2\3", 2, b"dct8")
    head += container.pack_row(kind, 5, 0, 50, 1, 1, zlib.crc32(b"a"), code, vocabulary=True)
    head += container.pack_row(1, 0, 0, 50, 1, 1, zlib.crc32(b"b"), b"")
    return head + container.table_crc(head) + b"ab"


@pytest.mark.parametrize("code, message", [
    (b"\x00", "has no name"),  # no part
    (bytes([1, len(container.LABEL_VOCABULARY), 1]), "vocabulary entry 82"),  # past the vocabulary
    (b"\x01\x00\x00", "0 times"),  # a count of 0
    (b"\x01\x00\x80\x00", "over-long or redundant"),  # a redundant varint count
    (bytes([200]) + bytes([len(container.LABEL_VOCABULARY) - 1, 1]) * 200, "more than 255 bytes"),
])
def test_impossible_vocabulary_labels_are_refused(code, message):
    with pytest.raises(CorruptBitstreamError, match=message):
        container.unpack(_vocabulary_row(code))


def test_a_vocabulary_bit_on_a_row_without_label_is_refused():
    with pytest.raises(CorruptBitstreamError, match="vocabulary bit"):
        container.unpack(_vocabulary_row(b"", kind=2))


def test_data_that_ends_inside_a_vocabulary_label_is_truncated():
    data = _vocabulary_row(b"\x02\x00\x01\x0f\x01")  # person + bear
    with pytest.raises(TruncatedBitstreamError):
        container.unpack(data[: container.HEADER.size + 4 + 1 + 1 + 4 + 3])  # the data stops after "person"


def test_the_vocabulary_is_frozen():
    """The bitstream codes names by their place in the vocabulary: reordering it would misname old files."""
    import hashlib

    assert len(container.LABEL_VOCABULARY) == 82
    assert hashlib.sha256("\n".join(container.LABEL_VOCABULARY).encode()).hexdigest()[:16] == "16510f534179a712"
