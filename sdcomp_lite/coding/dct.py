"""The default content transform: an 8x8 block DCT with a parametric Gaussian coefficient model.

How a region (the pixels one layer must reconstruct) is coded:

1. Colour: RGB becomes YCbCr (JPEG's full-range BT.601), centred on zero.
2. Blocks: every 8x8 block that touches the region is coded. Pixels of such a block that lie
   outside the region are replaced by the mean of the inside pixels (so the edge of an object
   costs few extra bits); the decoder writes only the inside pixels.
3. Transform and quantisation: an orthonormal 2-D DCT per block and channel, divided by a step
   that grows with frequency and is larger for chroma; the quality (1-100) sets the base step.
4. Model: each block gets a class from its activity (0: all AC coefficients are zero, then
   log2 of the sum of |AC| levels). Coefficients are grouped by (class, channel, frequency
   band); each group is coded with the zero-mean Gaussian of CompressAI's scale table that
   fits it best. The encoder sends the class frequencies and one scale index per group (a few
   dozen bytes): these are the model's parameters, coded in the bitstream.
5. Coding: classes, DC differences (DC minus the previous block's DC) and AC levels go through
   CompressAI's rANS coder with those CDFs.

Taught in notebooks/03_structured_entropy_coding.ipynb (sections 1-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import dctn, idctn

from sdcomp_lite.coding.entropy import (
    SCALE_TABLE,
    SymbolReader,
    SymbolStream,
    best_scale_index,
    categorical_table,
    gaussian_table,
)
from sdcomp_lite.errors import CorruptBitstreamError

BLOCK = 8
MAX_CLASSES = 8
BANDS = 7  # band 0: DC difference; bands 1-6: AC by u + v
_BAND_OF_SUM = np.array([0, 1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 6])
_U, _V = np.meshgrid(np.arange(BLOCK), np.arange(BLOCK), indexing="ij")
BAND_OF_COEFFICIENT = _BAND_OF_SUM[_U + _V].ravel()  # (64,), 0 only at DC
_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)
AC_ROUNDING = 0.32  # dead-zone rounding of AC levels (encoder-only choice)


def base_step(quality: int) -> float:
    """Quantisation step of the luma DC coefficient for a quality in 1..100."""
    return float(128.0 * 2.0 ** (-quality / 14.0))


def step_matrix(quality: int, channels: int) -> np.ndarray:
    """Steps of shape (channels, 64): growing gently with frequency, 1.3x coarser for chroma.

    The constants were tuned for RGB PSNR against JPEG on the sample images (benchmarks/).
    """
    frequency_weight = 1.0 + 0.12 * (_U + _V).ravel()
    steps = np.stack([frequency_weight * (1.0 if c == 0 else 1.3) for c in range(channels)])
    return base_step(quality) * steps


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, C) to float64 zero-centred luma/chroma; grey stays one channel."""
    pixels = image.astype(np.float64) - 128.0
    if image.shape[2] == 1:
        return pixels
    return pixels @ _RGB_TO_YCBCR.T


def ycbcr_to_rgb(planes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, rounded and clipped to uint8."""
    if planes.shape[-1] == 3:
        planes = planes @ _YCBCR_TO_RGB.T.astype(planes.dtype)
    return np.clip(np.rint(planes + 128.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class BlockGrid:
    """The 8x8 blocks that a region touches, in raster order."""

    rows: np.ndarray  # (n,) block row of each block
    cols: np.ndarray  # (n,) block column
    inside: np.ndarray  # (n, 8, 8) bool: which pixels of the block belong to the region

    @classmethod
    def of_region(cls, region: np.ndarray) -> BlockGrid:
        padded = _pad_to_blocks(region[:, :, None].astype(np.uint8), mode="constant")[:, :, 0].astype(bool)
        blocks = _to_blocks(padded[:, :, None])[:, :, 0]  # (by, bx, 8, 8)
        rows, cols = np.nonzero(blocks.any(axis=(2, 3)))
        return cls(rows, cols, blocks[rows, cols])

    def __len__(self) -> int:
        return int(self.rows.size)


def _pad_to_blocks(array: np.ndarray, mode: str = "edge") -> np.ndarray:
    height, width = array.shape[:2]
    pad_y, pad_x = (-height) % BLOCK, (-width) % BLOCK
    return np.pad(array, ((0, pad_y), (0, pad_x), (0, 0)), mode=mode)


def _to_blocks(array: np.ndarray) -> np.ndarray:
    """(H, W, C) with H, W multiples of 8 to (H/8, W/8, C, 8, 8)."""
    height, width, channels = array.shape
    blocks = array.reshape(height // BLOCK, BLOCK, width // BLOCK, BLOCK, channels)
    return blocks.transpose(0, 2, 4, 1, 3)


class DctTransform:
    """Block-DCT content coder (see the module docstring). Needs no weights."""

    name = "dct8"
    block = BLOCK
    honours_quality = True

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]:
        """Code the pixels of ``image`` (uint8, (H, W, C)) where ``region`` (bool, (H, W)) is True.

        Returns the payload and the model's estimate of its size in bits.
        """
        levels = self.levels(image, region, quality)
        if len(levels) == 0:
            return b"", 0.0
        return _encode_levels(levels)

    def levels(self, image: np.ndarray, region: np.ndarray, quality: int) -> np.ndarray:
        """The quantised DCT levels the encoder codes: int64 (blocks, channels, 64), raster order."""
        grid = BlockGrid.of_region(region)
        channels = image.shape[2]
        if len(grid) == 0:
            return np.zeros((0, channels, 64), np.int64)
        blocks = _to_blocks(_pad_to_blocks(rgb_to_ycbcr(image)))[grid.rows, grid.cols]  # (n, C, 8, 8)
        blocks = _fill_outside(blocks, grid.inside)
        coefficients = dctn(blocks, axes=(2, 3), norm="ortho").reshape(len(grid), channels, 64)
        return _quantise(coefficients / step_matrix(quality, channels))

    def decode_region(
        self, payload: bytes, region: np.ndarray, channels: int, quality: int
    ) -> np.ndarray:
        """Decode a payload into uint8 pixels of shape (H, W, C); only ``region`` is valid.

        Blocks are decoded, transformed and converted in batches of :data:`DECODE_BATCH`, so the
        working memory stays small whatever the image size.
        """
        height, width = region.shape
        grid = BlockGrid.of_region(region)
        out = np.zeros((height + (-height) % BLOCK, width + (-width) % BLOCK, channels), np.uint8)
        view = _to_blocks(out)  # (by, bx, C, 8, 8), a view: writing to it writes to out
        steps = step_matrix(quality, channels).astype(np.float32)
        for start, levels in _decode_levels(payload, len(grid), channels):
            stop = start + len(levels)
            coefficients = (levels * steps).reshape(len(levels), channels, BLOCK, BLOCK)
            pixels = idctn(coefficients, axes=(2, 3), norm="ortho").astype(np.float32)  # (n, C, 8, 8) YCbCr
            rgb = ycbcr_to_rgb(pixels.transpose(0, 2, 3, 1))  # (n, 8, 8, C) uint8
            view[grid.rows[start:stop], grid.cols[start:stop]] = rgb.transpose(0, 3, 1, 2)
        return out[:height, :width]

    def decode_planes(self, payload: bytes, region: np.ndarray, channels: int, quality: int) -> np.ndarray:
        """For teaching: the decoded float32 YCbCr planes (H, W, C) before conversion; only ``region`` is valid."""
        height, width = region.shape
        grid = BlockGrid.of_region(region)
        planes = np.zeros((height + (-height) % BLOCK, width + (-width) % BLOCK, channels), np.float32)
        view = _to_blocks(planes)
        for start, levels in _decode_levels(payload, len(grid), channels):
            stop = start + len(levels)
            coefficients = (levels * step_matrix(quality, channels)).reshape(len(levels), channels, BLOCK, BLOCK)
            view[grid.rows[start:stop], grid.cols[start:stop]] = idctn(coefficients, axes=(2, 3), norm="ortho")
        return planes[:height, :width]

    def to_rgb(self, planes: np.ndarray) -> np.ndarray:
        """Convert decoded YCbCr planes (from :meth:`decode_planes`) to uint8 pixels."""
        return ycbcr_to_rgb(planes)


def _fill_outside(blocks: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Replace pixels outside the region by the mean of the block's inside pixels."""
    weights = inside[:, None].astype(np.float64)
    means = (blocks * weights).sum(axis=(2, 3), keepdims=True) / weights.sum(axis=(2, 3), keepdims=True)
    return np.where(inside[:, None], blocks, means)


def _quantise(scaled: np.ndarray) -> np.ndarray:
    levels = np.sign(scaled) * np.floor(np.abs(scaled) + AC_ROUNDING)
    levels[:, :, 0] = np.rint(scaled[:, :, 0])
    return levels.astype(np.int64)


def _block_classes(levels: np.ndarray) -> np.ndarray:
    activity = np.abs(levels[:, :, 1:]).sum(axis=(1, 2))
    classes = np.zeros(activity.shape, dtype=np.int64)
    active = activity > 0
    classes[active] = np.minimum(1 + np.floor(np.log2(activity[active])).astype(np.int64), MAX_CLASSES - 1)
    return classes


def _dc_differences(levels: np.ndarray) -> np.ndarray:
    dc = levels[:, :, 0]
    return np.diff(dc, axis=0, prepend=0)


def _group_indexes(classes: np.ndarray, channels: int) -> np.ndarray:
    """Group number of every level, shape (n, C, 64): ((class * C) + channel) * BANDS + band."""
    channel = np.arange(channels)[None, :, None]
    return (classes[:, None, None] * channels + channel) * BANDS + BAND_OF_COEFFICIENT[None, None, :]


def _coded_mask(classes: np.ndarray, channels: int) -> np.ndarray:
    """Which levels are coded: every DC, and AC only in blocks of class > 0."""
    coded = np.broadcast_to(classes[:, None, None] > 0, (classes.size, channels, 64)).copy()
    coded[:, :, 0] = True
    return coded


def _encode_levels(levels: np.ndarray) -> tuple[bytes, float]:
    count, channels, _ = levels.shape
    classes = _block_classes(levels)
    class_count = int(classes.max()) + 1
    frequency = np.bincount(classes, minlength=class_count)
    class_bytes = np.clip(np.ceil(frequency / frequency.max() * 255), 0, 255).astype(np.uint8)
    symbols = levels.copy()
    symbols[:, :, 0] = _dc_differences(levels)
    groups = _group_indexes(classes, channels)
    coded = _coded_mask(classes, channels)
    scale_index = np.zeros(class_count * channels * BANDS, dtype=np.uint8)
    for group in np.unique(groups[coded]):
        scale_index[group] = best_scale_index(symbols[coded & (groups == group)])
    class_model = categorical_table(_class_probabilities(class_bytes))
    table = gaussian_table() + class_model
    stream = SymbolStream(table)
    stream.add(classes, len(SCALE_TABLE))
    stream.add(symbols[coded], scale_index[groups[coded]])
    header = bytes([class_count]) + class_bytes.tobytes() + scale_index.tobytes()
    return header + stream.finish(), stream.ideal_bits() + 8 * len(header)


def _class_probabilities(class_bytes: np.ndarray) -> np.ndarray:
    weights = class_bytes.astype(np.float64)
    return (weights / weights.sum())[None, :]


DECODE_BATCH = 8192  # blocks decoded at a time


def _decode_levels(payload: bytes, count: int, channels: int):
    """Yield ``(first block, levels int32 (n, C, 64))`` batch by batch, in the encoder's order."""
    if count == 0:
        return
    if len(payload) < 1:
        raise CorruptBitstreamError("content payload is empty but the region is not.")
    class_count = payload[0]
    header_size = 1 + class_count + class_count * channels * BANDS
    if not 1 <= class_count <= MAX_CLASSES or len(payload) < header_size:
        raise CorruptBitstreamError("content payload has an impossible model header.")
    class_bytes = np.frombuffer(payload, np.uint8, class_count, 1)
    scale_index = np.frombuffer(payload, np.uint8, class_count * channels * BANDS, 1 + class_count)
    if class_bytes.max() == 0 or scale_index.max() >= len(SCALE_TABLE):
        raise CorruptBitstreamError("content payload has an impossible model header.")
    table = gaussian_table() + categorical_table(_class_probabilities(class_bytes))
    reader = SymbolReader(payload[header_size:], table)
    classes = reader.read(np.full(count, len(SCALE_TABLE)))
    if classes.min() < 0 or classes.max() >= class_count:
        raise CorruptBitstreamError("content payload decodes to an impossible block class.")
    previous_dc = np.zeros(channels, np.int64)
    for start in range(0, count, DECODE_BATCH):
        batch = classes[start : start + DECODE_BATCH]
        groups = _group_indexes(batch, channels)
        coded = _coded_mask(batch, channels)
        symbols = np.zeros((len(batch), channels, 64), dtype=np.int64)
        symbols[coded] = reader.read(scale_index[groups[coded]].astype(np.int64))
        dc = np.cumsum(symbols[:, :, 0], axis=0) + previous_dc
        previous_dc = dc[-1]
        symbols[:, :, 0] = dc
        yield start, np.clip(symbols, -(2**30), 2**30).astype(np.int32)
