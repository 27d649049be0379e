"""Issue 20, findings 5 and 6: image bombs are refused before decoding, and images are never
silently changed (EXIF orientation applied, several frames and 16-bit samples refused)."""

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdcomp_lite.errors import InvalidImageError
from sdcomp_lite.images import MAX_JPEG_SCANS, load_image, to_uint8_array

RNG = np.random.default_rng(0)
PICTURE = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)


def _png(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A valid PNG of zeros written chunk by chunk (a huge one compresses to a few hundred KB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + bytes(width * 3 * bit_depth // 8 if colour == 2 else width * bit_depth // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _segments(data: bytes):
    """(marker, start, end) of each JPEG segment, a scan's entropy-coded data included."""
    position, found = 2, []
    while position < len(data) and data[position + 1] != 0xD9:
        marker, end = data[position + 1], position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        while marker == 0xDA:
            end = data.find(b"\xff", end)
            if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 2
                continue
            break
        found.append((marker, position, end))
        position = end
    return found


def progressive_bomb(side: int, scans: int) -> bytes:
    """A progressive JPEG whose last (tiny) refinement scan is repeated: every scan is a pass over the image."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (128, 128, 128)).save(buffer, "JPEG", progressive=True, quality=80)
    data = buffer.getvalue()
    _, start, end = [s for s in _segments(data) if s[0] == 0xDA][-1]
    return data[:end] + data[start:end] * scans + data[end:]


def _refused(path, *words, **options):
    start = time.perf_counter()
    with pytest.raises(InvalidImageError) as caught:
        load_image(path, **options)
    message = str(caught.value)
    assert "\n" not in message and all(word in message for word in words), message
    assert time.perf_counter() - start < 2
    return message


def test_a_huge_png_is_refused_from_its_header_under_the_given_budget(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(_png(5000, 4000))  # 20 megapixels of zeros: 60 KB on disk, 60 MB decoded
    _refused(path, "5000x4000", "over the budget of 1000000", "--max-pixels", max_pixels=1_000_000)
    assert load_image(path).size == (5000, 4000)  # the library's default budget (MAX_PIXELS) allows it


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_without_decoding(tmp_path):
    path = tmp_path / "scans.jpg"
    path.write_bytes(progressive_bomb(512, 2000))
    _refused(path, "progressive JPEG of 20", f"at most {MAX_JPEG_SCANS}", "baseline")
    path.write_bytes(progressive_bomb(64, 20))  # a few extra scans are fine
    assert load_image(path).size == (64, 64)


def test_ordinary_jpegs_count_few_scans():
    from sdcomp_lite.images import _jpeg_scans

    for progressive, expected in ((False, 1), (True, 10)):
        buffer = io.BytesIO()
        Image.fromarray(PICTURE).save(buffer, "JPEG", progressive=progressive)
        assert _jpeg_scans(buffer.getvalue()) == expected
    assert _jpeg_scans(b"\xff\xd8\xff\xda") == 0 and _jpeg_scans(b"") == 0  # damaged: counting stops


def test_the_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(PICTURE).save(tmp_path / "turned.jpg", exif=exif, quality=100)
    upright = to_uint8_array(tmp_path / "turned.jpg")
    stored = np.asarray(Image.open(tmp_path / "turned.jpg"))
    assert upright.shape == (32, 24, 3) and np.array_equal(upright, np.rot90(stored, -1))
    assert np.array_equal(to_uint8_array(Image.open(tmp_path / "turned.jpg")), upright)  # a PIL image too


def _frames(kind: str, path: Path) -> None:
    first, second = Image.fromarray(PICTURE), Image.fromarray(255 - PICTURE)
    options = {"gif": {}, "png": {}, "webp": {"lossless": True}, "tiff": {}, "mpo": {}}[kind]
    first.save(path, save_all=True, append_images=[second], **options)


@pytest.mark.parametrize("kind", ["gif", "png", "webp", "tiff", "mpo"])
def test_animations_and_multi_page_files_are_refused(tmp_path, kind):
    path = tmp_path / f"frames.{kind}"
    _frames(kind, path)
    _refused(path, "several frames", "save the one you want as its own file")
    single = tmp_path / f"single.{kind}"
    Image.fromarray(PICTURE).save(single)
    assert load_image(single).size == (32, 24)


@pytest.mark.parametrize("name, make", [
    ("rgb16.png", lambda p: p.write_bytes(_png(8, 4, bit_depth=16, colour=2))),
    ("grey16.png", lambda p: p.write_bytes(_png(8, 4, bit_depth=16, colour=0))),
    ("rgb16.ppm", lambda p: p.write_bytes(b"P6 8 4 65535\n" + bytes(8 * 4 * 6))),
    ("grey16.pgm", lambda p: p.write_bytes(b"P5 8 4 65535\n" + bytes(8 * 4 * 2))),
    ("rgb16.tif", lambda p: _tiff16(p)),
])
def test_16_bit_files_are_refused_not_cut_to_8_bits(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    for call in (lambda: load_image(path), lambda: to_uint8_array(path), lambda: to_uint8_array(Image.open(path))):
        with pytest.raises(InvalidImageError, match="16-bit|mode 'I"):
            call()


def _tiff16(path: Path) -> None:
    import cv2

    assert cv2.imwrite(str(path), np.full((4, 8, 3), 1000, np.uint16))


def test_eight_bit_files_still_load_exactly(tmp_path):
    for name in ("a.png", "a.ppm", "a.tif", "a.bmp", "a.webp"):
        Image.fromarray(PICTURE).save(tmp_path / name, **({"lossless": True} if name.endswith("webp") else {}))
        assert np.array_equal(to_uint8_array(tmp_path / name), PICTURE), name


def test_encode_has_the_max_pixels_option_its_messages_name(tmp_path, capsys):
    from sdcomp_lite.cli import main

    big = tmp_path / "big.png"
    big.write_bytes(_png(5000, 4000))
    (tmp_path / "ann.json").write_text('{"images": [{"id": 1, "file_name": "big.png"}], "annotations": []}')
    status = main(["encode", str(big), "--objects", str(tmp_path / "ann.json"), "-o", str(tmp_path / "x.sdc")])
    err = capsys.readouterr().err.strip()
    assert status != 0 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "over the budget of 16777216" in err and "--max-pixels" in err
    status = main(["encode", str(big), "--objects", str(tmp_path / "ann.json"), "-o", str(tmp_path / "x.sdc"),
                   "--max-pixels", "100"])
    assert status != 0 and "over the budget of 100" in capsys.readouterr().err
    assert not (tmp_path / "x.sdc").exists()


def test_an_animated_gif_cut_inside_its_second_frame_is_an_invalid_image_error(tmp_path):
    # found by benchmarks/fuzz_images.py: Pillow's is_animated raised IndexError
    _frames("gif", tmp_path / "frames.gif")
    data = (tmp_path / "frames.gif").read_bytes()
    cuts = 0
    for cut in range(len(data) // 2, len(data), 5):
        (tmp_path / "cut.gif").write_bytes(data[:cut])
        try:
            load_image(tmp_path / "cut.gif")
        except InvalidImageError:
            cuts += 1
    assert cuts > 0
