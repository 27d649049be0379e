"""Reading and checking images: what the codec accepts, and clear errors for the rest."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from sdcomp_lite.coding.container import MAX_SIDE  # the format's limit: width and height are u16
from sdcomp_lite.errors import DataFileError, InvalidImageError

MAX_PIXELS = 2**28  # 268 megapixels: about 0.8 GB as 8-bit RGB
MAX_FILE_BYTES = 2**30  # an image file larger than 1 GiB is refused before it is opened
MAX_JPEG_SCANS = 100  # a progressive JPEG has about 10; each scan is a pass over every coefficient


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image file fully (so that truncated files fail here, not later), upright.

    What you see is what is coded: the EXIF orientation is applied (``ImageOps.exif_transpose``),
    so boxes and masks refer to the picture as displayed (COCO's own photographs carry no
    orientation tag, so their annotations are unaffected). Refused with :class:`InvalidImageError`,
    each before any pixel is decoded: a file of over :data:`MAX_FILE_BYTES`; more than
    :data:`MAX_SIDE` pixels a side or ``max_pixels`` in all (from the header; Pillow's own
    decompression-bomb limit, which this does not change, also applies); an animation or a
    multi-page file (animated GIF, APNG or WebP, multi-page TIFF, MPO): every frame but the first
    would be lost, so save the frame you want as its own file; a progressive JPEG of over
    :data:`MAX_JPEG_SCANS` scans (each one a pass over the whole image); and samples of over
    8 bits (16-bit PNG, TIFF or PPM), which Pillow would silently cut to 8. A missing file is a
    :class:`DataFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"image file not found: {path}")
    where = f"image {path}"
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidImageError(f"{where} is over {MAX_FILE_BYTES >> 20} MiB; downscale or recompress it first.")
        with Image.open(path) as image:
            _check_size(*image.size, where=where, max_pixels=max_pixels)
            _check_single_frame(image, where)
            _check_depth(image, where)
            if image.format in ("JPEG", "MPO"):
                _check_scans(path, where)
            image.load()  # Pillow >= 10 keeps the loaded pixels when the file closes: no copy needed
        return _upright(image)
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as error:
        raise InvalidImageError(f"{where} is too large to open safely ({error}); downscale it first.") from None
    except MemoryError:
        raise InvalidImageError(f"{where} does not fit in memory; downscale it first.") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError) as error:  # what PIL's
        # decoders raise (IndexError: a GIF cut inside its second frame's header, found by benchmarks/fuzz_images.py)
        raise InvalidImageError(f"cannot read {where}: {error}; check that it is a PNG, JPEG or similar.") from error


def to_uint8_array(image: np.ndarray | Image.Image | str | Path) -> np.ndarray:
    """Return the image as a uint8 array of shape (H, W, 3) for colour or (H, W, 1) for grey.

    Accepted: PIL images of mode RGB, L or P (palette, expanded to RGB), turned upright by their
    EXIF orientation; uint8 arrays of shape (H, W), (H, W, 1) or (H, W, 3); a path to such an image
    (read by :func:`load_image`, which also refuses animations and 16-bit files). Anything else
    (alpha channels, 16-bit or float data, CMYK) raises :class:`InvalidImageError` with the
    conversion to make, because coding it would silently change it. A PIL image fresh from
    ``Image.open`` is checked for 16-bit samples too; one already loaded has lost that information
    (Pillow keeps 16-bit RGB as 8-bit 'RGB'), so pass the path when in doubt.
    """
    if isinstance(image, (str, Path)):
        image = load_image(image)
    if isinstance(image, Image.Image):
        _check_size(*image.size, where="image")
        try:
            _check_depth(image, "image")
            return _pil_to_array(_upright(image))
        except InvalidImageError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError) as error:
            raise InvalidImageError(f"cannot read the image's pixels: {error}") from error
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"expected a PIL image, a NumPy array or a path, got {type(image).__name__}")
    return _check_array(image)


def _check_size(width: int, height: int, where: str, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse a PIL image by its header size, before its pixels are decoded (same limits as _check_array)."""
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_PIXELS:
        raise InvalidImageError(
            f"{where} is {width}x{height}; the container holds at most {MAX_SIDE} pixels a side "
            f"and {MAX_PIXELS} pixels in all. Tile or downscale it first."
        )
    if height * width > max_pixels:
        raise InvalidImageError(
            f"{where} is {width}x{height} = {width * height} pixels, over the budget of {max_pixels}; downscale it, "
            "or raise the budget (max_pixels=, or --max-pixels on the command line) if it fits in memory."
        )


def _check_single_frame(image: Image.Image, where: str) -> None:
    """Refuse animations and multi-page files (``is_animated`` reads only as far as a second frame)."""
    if getattr(image, "is_animated", False):
        raise InvalidImageError(
            f"{where} holds several frames ({image.format}: an animation, a multi-page file or an MPO); only one "
            "picture can be coded, so save the one you want as its own file, e.g. "
            "Image.open(path).save('frame0.png') for the first."
        )


def _check_depth(image: Image.Image, where: str) -> None:
    """Refuse samples of over 8 bits, found in the decoder's raw mode before Pillow cuts them to 8."""
    for tile in getattr(image, "tile", None) or []:
        codec, args = tile[0], tile[3]
        raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else ""
        deep_ppm = codec == "ppm" and isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], int) and args[1] > 255
        if ";16" in raw or ";32" in raw or deep_ppm:
            raise InvalidImageError(
                f"{where} has 16-bit samples ({image.format}); the codec codes 8-bit images. Convert it yourself "
                "(e.g. np.asarray of the 16-bit data >> 8, as uint8) so that the loss is your choice."
            )


def _check_scans(path: Path, where: str) -> None:
    """Refuse a JPEG of over :data:`MAX_JPEG_SCANS` scans (counted from its markers, nothing decoded)."""
    scans = _jpeg_scans(path.read_bytes())
    if scans > MAX_JPEG_SCANS:
        raise InvalidImageError(
            f"{where} is a progressive JPEG of {scans} scans (at most {MAX_JPEG_SCANS}; ordinary ones have about 10), "
            "which takes minutes to decode; re-save it as a baseline JPEG or a PNG first."
        )


def _jpeg_scans(data: bytes) -> int:
    """Start-of-scan markers of the first JPEG image in ``data``, walking its segments (stops at EOI or damage)."""
    scans, position, end = 0, 2, len(data)
    while position + 4 <= end and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte
            position += 1
            continue
        if marker == 0xD9:  # end of image
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker != 0xDA:
            continue
        scans += 1
        while True:  # skip the entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RSTn inside it
            position = data.find(b"\xff", position)
            if position < 0 or position + 1 >= end:
                return scans
            follower = data[position + 1]
            if follower == 0xFF:
                position += 1
            elif follower == 0x00 or 0xD0 <= follower <= 0xD7:
                position += 2
            else:
                break
    return scans


def _upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF orientation says (a transposed copy), or itself when it needs no turn."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError, struct.error):  # damaged EXIF: no orientation to apply
        return image
    return ImageOps.exif_transpose(image) if orientation in (2, 3, 4, 5, 6, 7, 8) else image


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.mode == "P" and "transparency" not in image.info:
        image = image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "P"):
        raise InvalidImageError(
            f"image mode {image.mode!r} has transparency, which the codec does not code; "
            "flatten it first, e.g. image.convert('RGB')."
        )
    if image.mode not in ("RGB", "L"):
        raise InvalidImageError(
            f"image mode {image.mode!r} is not supported (16-bit, float, CMYK, ...); "
            "convert it to 8-bit 'RGB' or 'L' first, and check the result looks right."
        )
    return _check_array(_strips_to_array(image))


def _strips_to_array(image: Image.Image) -> np.ndarray:
    """``np.asarray(image)`` in strips of about 4 MB: 3 bytes a pixel beside Pillow's 4, not 3 + 3 + 4."""
    width, height = image.size
    bands = len(image.getbands())
    pixels = np.empty((height, width, bands) if bands > 1 else (height, width), dtype=np.uint8)
    rows = max(1, 2**22 // (width * bands))
    for top in range(0, height, rows):
        pixels[top : top + rows] = np.asarray(image.crop((0, top, width, min(height, top + rows))))
    return pixels


def _check_array(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        raise InvalidImageError(
            f"image array has dtype {array.dtype}; the codec codes 8-bit images. "
            "Scale it to uint8 yourself (e.g. 16-bit: (a >> 8).astype(np.uint8)) so the loss is your choice."
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise InvalidImageError(
            f"image array has shape {array.shape}; expected (H, W), (H, W, 1) or (H, W, 3). "
            "Drop an alpha channel with array[..., :3] after compositing it."
        )
    height, width = array.shape[:2]
    if height < 1 or width < 1:
        raise InvalidImageError(f"image is empty ({height}x{width}).")
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_PIXELS:
        raise InvalidImageError(
            f"image is {width}x{height}; the container holds at most {MAX_SIDE} pixels a side "
            f"and {MAX_PIXELS} pixels in all. Tile or downscale it first."
        )
    return array


def to_rgb_array(image) -> np.ndarray:
    """Like :func:`to_uint8_array`, but grey is repeated into three channels: uint8 (H, W, 3)."""
    pixels = to_uint8_array(image)
    # C-contiguous: MediaPipe refuses views such as a decoder's crop or a flipped array
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else np.ascontiguousarray(pixels)
