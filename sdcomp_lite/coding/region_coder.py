"""The region coder: what every layer coder built on a rectangle codec shares (AVIF, JPEG XL, learned models).

A layer's *region* (bool (H, W)) is coded as one rectangular crop:

1. the crop's window is the region's box ``(x0, y0, x1, y1)`` ("XYXY"), aligned outward to
   ``block`` pixels and clipped to the image (:func:`~sdcomp_lite.coding.fill.aligned_box`);
2. pixels of the window outside the region are filled smoothly
   (:func:`~sdcomp_lite.coding.fill.push_pull_fill`), so they cost almost nothing, and a grey
   image is repeated to three channels (:func:`fill_crop`);
3. a subclass codes that uint8 RGB crop (:meth:`RegionCoder.encode_crop`).

The decoder computes the same window from the region it already knows (no box is stored), lets the
subclass check the payload against it before any codec allocates a frame
(:meth:`RegionCoder.check_payload`), decodes (:meth:`RegionCoder.decode_crop`; the codec's own
errors, listed in ``decode_errors``, become :class:`CorruptBitstreamError`) and pastes the crop back.

Taught in notebooks/06_bring_your_own_models.ipynb (section 5, a learned layer coder).
"""

from __future__ import annotations

import numpy as np

from sdcomp_lite.coding.fill import aligned_box, push_pull_fill
from sdcomp_lite.errors import CorruptBitstreamError
from sdcomp_lite.types import Window

RGB = 3


def fill_crop(image: np.ndarray, region: np.ndarray, window: Window) -> np.ndarray:
    """The ``window`` (XYXY) of ``image`` (uint8 (H, W, C)) with pixels outside ``region`` (bool (H, W))
    filled smoothly, as contiguous uint8 RGB (h, w, 3): a grey image's channel is repeated."""
    crop = push_pull_fill(image[window.slices], region[window.slices])
    if crop.shape[2] == 1:
        crop = np.repeat(crop, RGB, axis=2)
    return np.ascontiguousarray(crop)


def paste_crop(out: np.ndarray, pixels: np.ndarray, window: Window) -> None:
    """Write a decoded crop (uint8 (h, w), (h, w, 1) or (h, w, 3)) into ``window`` of ``out`` (uint8 (H, W, C)):
    an RGB crop gives its first channel to a grey ``out``, a grey crop all three to an RGB one."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    source = pixels[:, :, : out.shape[2]] if pixels.ndim == 3 else pixels
    if source.shape[:2] != (window.height, window.width) or source.dtype != np.uint8 or source.shape[2:] not in (
            (1,), (out.shape[2],)):
        raise CorruptBitstreamError(f"a layer decodes to {pixels.shape} {pixels.dtype}, not its region's crop.")
    out[window.slices] = source


class RegionCoder:
    """Base of a layer coder that codes a region as one rectangular crop (see the module docstring).

    Subclasses set ``name`` (the header's transform name), ``kind`` (for messages), ``block`` (the
    crop alignment in pixels), ``honours_quality`` and ``decode_errors``, and implement
    :meth:`encode_crop`, :meth:`check_payload` and :meth:`decode_crop`.
    """

    name: str = ""
    kind: str = ""
    block: int = 8
    honours_quality: bool = True
    decode_errors: tuple[type[Exception], ...] = ()  # the codec's own exception types for bad data

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]:
        """Code ``image`` (uint8 (H, W, C)) where ``region`` (bool (H, W)) is True: payload and its size in bits."""
        window = aligned_box(region, self.block)
        if window is None:
            return b"", 0.0
        payload = self.encode_crop(fill_crop(image, region, window), window, int(quality))
        return payload, 8.0 * len(payload)

    def decode_region(self, payload: bytes, region: np.ndarray, channels: int, quality: int) -> np.ndarray:
        """Decode a payload into uint8 (H, W, channels); only ``region`` is valid."""
        out = np.zeros((*region.shape, channels), np.uint8)
        window = aligned_box(region, self.block)
        if window is None:
            return out
        self.check_payload(payload, window)  # before the codec allocates anything
        try:
            pixels = np.asarray(self.decode_crop(payload, window, channels))
        except self.decode_errors as error:
            raise CorruptBitstreamError(f"a {self.kind} layer cannot be decoded: {error}") from error
        paste_crop(out, pixels, window)
        return out

    def encode_crop(self, crop: np.ndarray, window: Window, quality: int) -> bytes:
        """Code ``crop`` (uint8 RGB (h, w, 3)) of ``window`` (XYXY) at ``quality`` 1..100."""
        raise NotImplementedError

    def check_payload(self, payload: bytes, window: Window) -> None:
        """Raise :class:`CorruptBitstreamError` unless ``payload`` declares exactly ``window``'s size."""
        raise NotImplementedError

    def decode_crop(self, payload: bytes, window: Window, channels: int) -> np.ndarray:
        """The crop of ``window``: uint8 (h, w), (h, w, 1) or (h, w, 3)."""
        raise NotImplementedError
