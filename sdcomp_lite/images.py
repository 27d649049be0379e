"""Reading and checking images: what the codec accepts, and clear errors for the rest."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

from sdcomp_lite.errors import DataFileError, InvalidImageError

MAX_SIDE = 65_535
MAX_PIXELS = 2**28  # 268 megapixels: about 0.8 GB as 8-bit RGB


def load_image(path: str | Path) -> Image.Image:
    """Open an image file fully (so that truncated files fail here, not later).

    Raises :class:`DataFileError` if there is no such file and :class:`InvalidImageError` if it is
    not a readable image or is larger than :data:`MAX_SIDE` a side or :data:`MAX_PIXELS` in all
    (checked from the header, before the pixels are decoded).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"image file not found: {path}")
    try:
        with Image.open(path) as image:
            _check_size(*image.size, where=f"image {path}")
            image.load()
            return image.copy()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as error:
        raise InvalidImageError(f"image {path} is too large to open safely ({error}); downscale it first.") from None
    except MemoryError:
        raise InvalidImageError(f"image {path} does not fit in memory; downscale it first.") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as error:  # what PIL's decoders raise
        raise InvalidImageError(f"cannot read image {path}: {error}; check that it is a PNG, JPEG or similar.") from error


def to_uint8_array(image: np.ndarray | Image.Image | str | Path) -> np.ndarray:
    """Return the image as a uint8 array of shape (H, W, 3) for colour or (H, W, 1) for grey.

    Accepted: PIL images of mode RGB, L or P (palette, expanded to RGB); uint8 arrays of shape
    (H, W), (H, W, 1) or (H, W, 3); a path to such an image. Anything else (alpha channels,
    16-bit or float data, CMYK) raises :class:`InvalidImageError` with the conversion to make,
    because coding it would silently change it.
    """
    if isinstance(image, (str, Path)):
        image = load_image(image)
    if isinstance(image, Image.Image):
        _check_size(*image.size, where="image")
        try:
            return _pil_to_array(image)
        except InvalidImageError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError) as error:
            raise InvalidImageError(f"cannot read the image's pixels: {error}") from error
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"expected a PIL image, a NumPy array or a path, got {type(image).__name__}")
    return _check_array(image)


def _check_size(width: int, height: int, where: str) -> None:
    """Refuse a PIL image by its header size, before its pixels are decoded (same limits as _check_array)."""
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_PIXELS:
        raise InvalidImageError(
            f"{where} is {width}x{height}; the container holds at most {MAX_SIDE} pixels a side "
            f"and {MAX_PIXELS} pixels in all. Tile or downscale it first."
        )


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
    return _check_array(np.asarray(image))


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
