import pytest

from sdcomp_lite.coding import container
from sdcomp_lite.errors import (
    BadMagicError,
    CorruptBitstreamError,
    TruncatedBitstreamError,
    UnsupportedVersionError,
)


def _sample() -> bytes:
    header = container.Header(3, 10, 20, 50, "dct8", (1, 2, 3))
    entries = [
        (container.LayerEntry(0, "object", 5, "cat", 0, 0.75, 50, 0, 0, 0), b"abc"),
        (container.LayerEntry(0, "background", 0, "background", 1, 0.0, 40, 0, 0, 0), b"defgh"),
    ]
    return container.pack(header, entries)


def test_round_trip_keeps_every_field():
    parsed = container.unpack(_sample())
    assert parsed.header == container.Header(3, 10, 20, 50, "dct8", (1, 2, 3))
    first, second = parsed.layers
    assert (first.kind, first.object_id, first.label, first.rank, first.quality) == ("object", 5, "cat", 0, 50)
    assert first.importance == pytest.approx(0.75)
    assert (second.offset, second.length) == (3, 5)
    assert parsed.layer_bytes(0) == b"abc" and parsed.layer_bytes(1) == b"defgh"


def test_truncated_payload_reports_missing_layer():
    data = _sample()
    parsed = container.unpack(data[:-1])
    assert parsed.layer_bytes(0) == b"abc"
    assert parsed.layer_bytes(1) is None


def test_wrong_magic():
    with pytest.raises(BadMagicError):
        container.unpack(b"PNG\x89" + _sample()[4:])


def test_wrong_version():
    data = bytearray(_sample())
    data[4] = 99
    with pytest.raises(UnsupportedVersionError):
        container.unpack(bytes(data))


def test_table_crc_catches_a_flipped_label_byte():
    data = bytearray(_sample())
    index = bytes(data).index(b"cat")
    data[index] ^= 0x20
    with pytest.raises(CorruptBitstreamError):
        container.unpack(bytes(data))


@pytest.mark.parametrize("length", [0, 1, 3, 4, 10, 34])
def test_short_data(length):
    with pytest.raises((BadMagicError, TruncatedBitstreamError)):
        container.unpack(_sample()[:length])
