"""The glass-box content transform: an 8x8 block DCT with a parametric Gaussian coefficient model.

How a region (the pixels one layer must reconstruct) is coded:

1. Colour: RGB becomes YCbCr (JPEG's full-range BT.601), centred on zero.
2. Blocks: every 8x8 block that touches the region is coded. Pixels of such a block that lie
   outside the region are replaced by the mean of the inside pixels (so the edge of an object
   costs few extra bits); the decoder writes only the inside pixels.
3. Transform and quantisation: an orthonormal 2-D DCT per block and channel, divided by a step
   that grows with frequency and is larger for chroma; the quality (1-100) sets the base step.
   DC levels are rounded to nearest, AC levels with a dead zone (:data:`AC_ROUNDING`).
4. DC prediction: each DC level is predicted from the DC levels of the neighbouring coded blocks,
   with the median predictor of JPEG-LS (LOCO-I) on left, top and top-left (see
   :func:`_dc_predictions` for the blocks that lack some of them); the residual is coded.
5. Model: each block gets a class from its activity (0: all AC levels are zero; otherwise
   1 + floor(log2 of the sum of |AC| levels), at most 7). The encoder then merges runs of
   neighbouring activity classes where a model of their own costs more header bytes than it
   saves bits (a minimum-description-length choice: a small object layer sends two or three
   classes, not eight). Levels are grouped by (class, channel, frequency band; band 0 is the DC residual);
   each group is coded with the zero-mean Gaussian of CompressAI's scale table that fits it
   best. The encoder sends the class frequencies and one scale index per group: these are the
   model's parameters, coded in the bitstream.
6. Coding: the classes, then every DC residual, then the AC levels (block by block, in raster
   order) go through CompressAI's rANS coder with those CDFs.
7. Reconstruction: level x step, except that a nonzero AC level l is reconstructed at
   sign(l) (|l| - delta): the centroid of its quantisation bin if the coefficient is Laplacian
   (the classic model of DCT coefficients) with the variance of the group's Gaussian. The
   decoder derives delta from the scale index it already has (:func:`_reconstruction_offsets`),
   so it costs no bits: about +0.24 steps (towards zero) for groups of nearly all zeros,
   down to -0.18 (away from zero) for wide groups at high quality.

The decoder rebuilds the DC levels wavefront by wavefront and decodes the rest in batches of
:data:`DECODE_BATCH` blocks, so its time and memory stay proportional to the region.

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
    categorical_table,
    gaussian_bits,
    gaussian_table,
)
from sdcomp_lite.errors import CorruptBitstreamError

BLOCK = 8
MAX_CLASSES = 8
BANDS = 7  # band 0: DC residual; bands 1-6: AC by u + v
_BAND_OF_SUM = np.array([0, 1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 6])
_U, _V = np.meshgrid(np.arange(BLOCK), np.arange(BLOCK), indexing="ij")
BAND_OF_COEFFICIENT = _BAND_OF_SUM[_U + _V].ravel()  # (64,), 0 only at DC
_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)
AC_ROUNDING = 0.32  # dead-zone rounding of AC levels: |level| >= 1 from 0.68 of a step (encoder-only choice)
# CompressAI's rANS coder starts from a state of 2**31 and ends by writing its 64-bit state, of
# which fewer than 32 bits are the symbols' information: every stream costs more than 32 bits
# beyond that information, so adding 32 keeps the estimate a lower bound and brings it closer.
RANS_FLUSH_BITS = 32


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
    honours_quality = True

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]:
        """Code the pixels of ``image`` (uint8, (H, W, C)) where ``region`` (bool, (H, W)) is True.

        Returns the payload and the model's estimate of its size in bits.
        """
        grid = BlockGrid.of_region(region)
        if len(grid) == 0:
            return b"", 0.0
        return _encode_levels(_levels(image, grid, quality), grid)

    def levels(self, image: np.ndarray, region: np.ndarray, quality: int) -> np.ndarray:
        """The quantised DCT levels the encoder codes: int64 (blocks, channels, 64), raster order."""
        return _levels(image, BlockGrid.of_region(region), quality)

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
        for start, levels, offsets in _decode_levels(payload, grid, channels):
            stop = start + len(levels)
            coefficients = _dequantise(levels, steps, offsets).reshape(len(levels), channels, BLOCK, BLOCK)
            pixels = idctn(coefficients, axes=(2, 3), norm="ortho").astype(np.float32)  # (n, C, 8, 8) YCbCr
            rgb = ycbcr_to_rgb(pixels.transpose(0, 2, 3, 1))  # (n, 8, 8, C) uint8
            view[grid.rows[start:stop], grid.cols[start:stop]] = rgb.transpose(0, 3, 1, 2)
        return out[:height, :width]


def _levels(image: np.ndarray, grid: BlockGrid, quality: int) -> np.ndarray:
    channels = image.shape[2]
    if len(grid) == 0:
        return np.zeros((0, channels, 64), np.int64)
    blocks = _to_blocks(_pad_to_blocks(rgb_to_ycbcr(image)))[grid.rows, grid.cols]  # (n, C, 8, 8)
    blocks = _fill_outside(blocks, grid.inside)
    coefficients = dctn(blocks, axes=(2, 3), norm="ortho").reshape(len(grid), channels, 64)
    return _quantise(coefficients / step_matrix(quality, channels))


def _fill_outside(blocks: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Replace pixels outside the region by the mean of the block's inside pixels."""
    weights = inside[:, None].astype(np.float64)
    means = (blocks * weights).sum(axis=(2, 3), keepdims=True) / weights.sum(axis=(2, 3), keepdims=True)
    return np.where(inside[:, None], blocks, means)


def _reconstruction_offsets(scale_index: np.ndarray) -> np.ndarray:
    """delta of every group (float32, the shape of ``scale_index``): a nonzero AC level l is reconstructed at
    sign(l) * (|l| - delta), in steps; 0 for the DC groups (band 0), which are rounded to nearest.

    Model: the coefficient (in steps) is Laplacian, p(x) ~ exp(-lambda |x|), with the variance
    2 / lambda**2 of the group's Gaussian (scale sigma, in steps): lambda = sqrt(2) / sigma. Such a
    density has the same shape in every bin, so the centroid of the bin of |l|, which starts at
    |l| - AC_ROUNDING and is one step wide, lies 1 / lambda - 1 / (exp(lambda) - 1) above its
    start: that centroid is the reconstruction with the least mean squared error. No tuned
    constant: delta follows from the dead zone and the scale the encoder sent anyway.
    """
    lam = np.sqrt(2.0) / np.asarray(SCALE_TABLE)[scale_index]
    delta = AC_ROUNDING - (1.0 / lam - 1.0 / np.expm1(lam))
    delta = delta.reshape(-1, BANDS)
    delta[:, 0] = 0.0
    return delta.ravel().astype(np.float32)


def _dequantise(levels: np.ndarray, steps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Coefficients from levels: (level - sign(level) * offset) * step (see :func:`_reconstruction_offsets`)."""
    values = levels.astype(steps.dtype)
    values -= np.sign(values) * offsets.astype(steps.dtype)
    return values * steps


def _quantise(scaled: np.ndarray) -> np.ndarray:
    levels = np.sign(scaled) * np.floor(np.abs(scaled) + AC_ROUNDING)
    levels[:, :, 0] = np.rint(scaled[:, :, 0])
    return levels.astype(np.int64)


def _block_classes(levels: np.ndarray) -> np.ndarray:
    """Activity class of every block: 0 when all its AC levels are 0, else 1 + floor(log2 sum |AC|), at most 7."""
    activity = np.abs(levels[:, :, 1:]).sum(axis=(1, 2))
    classes = np.zeros(activity.shape, dtype=np.int64)
    active = activity > 0
    classes[active] = np.minimum(1 + np.floor(np.log2(activity[active])).astype(np.int64), MAX_CLASSES - 1)
    return classes


def _neighbours(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Index (into the coded blocks) of each block's left, top, top-left and top-right neighbour,
    -1 where that neighbour is not coded: int64 (4, n). ``rows``/``cols`` are in raster order."""
    stride = int(cols.max()) + 3 if cols.size else 3
    keys = rows * stride + cols + 1  # sorted, since the blocks are in raster order
    found = np.full((4, keys.size), -1, dtype=np.int64)
    for k, shift in enumerate((-1, -stride, -stride - 1, -stride + 1)):
        wanted = keys + shift
        position = np.minimum(np.searchsorted(keys, wanted), max(keys.size - 1, 0))
        hit = keys[position] == wanted
        found[k, hit] = position[hit]
    return found


def _dc_predictions(dc: np.ndarray, neighbours: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Predicted DC levels (int64, (len(blocks), C)) of ``blocks`` from their coded neighbours' ``dc``.

    Left, top and top-left coded: the median predictor of JPEG-LS (LOCO-I). Left and top only:
    their mean, rounded down. One of them: that one. Neither: the top-right, else the top-left,
    else 0. Integers only, so encoder and decoder agree exactly; every neighbour read lies on an
    earlier wavefront ``2 * row + col``, which is what lets the decoder rebuild a wavefront at once.
    """
    index = neighbours[:, blocks]  # (4, m): left, top, top-left, top-right
    left, top, top_left, top_right = (dc[np.maximum(i, 0)] for i in index)
    has_left, has_top, has_top_left, has_top_right = ((i >= 0)[:, None] for i in index)
    low, high = np.minimum(left, top), np.maximum(left, top)
    median = np.where(top_left >= high, low, np.where(top_left <= low, high, left + top - top_left))
    both = np.where(has_top_left, median, (left + top) >> 1)
    one = np.where(has_left, left, top)
    neither = np.where(has_top_right, top_right, np.where(has_top_left, top_left, 0))
    return np.where(has_left & has_top, both, np.where(has_left | has_top, one, neither))


def _dc_residuals(dc: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """The encoder's side: every DC level minus its prediction (all levels are known)."""
    return dc - _dc_predictions(dc, neighbours, np.arange(dc.shape[0]))


def _dc_from_residuals(residuals: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                       neighbours: np.ndarray) -> np.ndarray:
    """The decoder's side: rebuild the DC levels wavefront by wavefront (``2 * row + col``)."""
    dc = np.zeros_like(residuals)
    wave = 2 * rows + cols
    order = np.argsort(wave, kind="stable")
    for blocks in np.split(order, np.flatnonzero(np.diff(wave[order])) + 1):
        dc[blocks] = residuals[blocks] + _dc_predictions(dc, neighbours, blocks)
    return dc


def _group_indexes(classes: np.ndarray, channels: int) -> np.ndarray:
    """Group number of every level, shape (n, C, 64): ((class * C) + channel) * BANDS + band."""
    channel = np.arange(channels)[None, :, None]
    return (classes[:, None, None] * channels + channel) * BANDS + BAND_OF_COEFFICIENT[None, None, :]


def _coded_mask(classes: np.ndarray, channels: int) -> np.ndarray:
    """Which levels are coded: every DC, and AC only in blocks of class > 0."""
    coded = np.broadcast_to(classes[:, None, None] > 0, (classes.size, channels, 64)).copy()
    coded[:, :, 0] = True
    return coded


def _histograms(classes: np.ndarray, symbols: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of |symbol| per group of ``classes``, float64 (MAX_CLASSES, C * BANDS, width), and the bits of
    each magnitude 0 .. width - 1 under each Gaussian (:func:`~sdcomp_lite.coding.entropy.gaussian_bits`):
    ``histograms @ bits`` is what each group costs with each Gaussian, (..., 64)."""
    coded = _coded_mask(classes, channels)
    magnitude, group = np.abs(symbols[coded]), _group_indexes(classes, channels)[coded]
    width = int(magnitude.max()) + 1
    counts = np.bincount(group * width + magnitude, minlength=MAX_CLASSES * channels * BANDS * width)
    return counts.reshape(MAX_CLASSES, channels * BANDS, width).astype(np.float64), gaussian_bits(np.arange(width))


def _merge_classes(activity: np.ndarray, symbols: np.ndarray, channels: int) -> np.ndarray:
    """Coded class of every block: class 0 (no AC) stays 0; the activity classes > 0 that occur are
    split into runs of neighbouring classes, each run one class with its own model, choosing the
    runs that code in the fewest bits *including* the model's header bytes (a minimum description
    length choice: a small layer cannot afford eight models)."""
    present = [a for a in range(1, MAX_CLASSES) if (activity == a).any()]
    mapping = np.zeros(MAX_CLASSES, dtype=np.int64)
    if not present:
        return mapping[activity]
    histograms, bits = _histograms(activity, symbols, channels)
    cumulative = np.concatenate([np.zeros((1, *histograms.shape[1:])), np.cumsum(histograms[present], axis=0)])
    blocks = np.concatenate([[0], np.cumsum([(activity == a).sum() for a in present])])
    total = activity.size

    def cost(i: int, j: int) -> float:  # one class for present[i:j]: levels, class symbols, header
        levels = ((cumulative[j] - cumulative[i]) @ bits).min(axis=1).sum()
        count = blocks[j] - blocks[i]
        return levels + count * np.log2(total / count) + 8 * (1 + channels * BANDS)

    best, cut = [0.0], [0]
    for j in range(1, len(present) + 1):
        options = [best[i] + cost(i, j) for i in range(j)]
        cut.append(int(np.argmin(options)))
        best.append(min(options))
    runs, j = [], len(present)
    while j > 0:
        runs.append((cut[j], j))
        j = cut[j]
    for number, (i, j) in enumerate(reversed(runs), start=1):
        mapping[present[i:j]] = number
    return mapping[activity]


def _encode_levels(levels: np.ndarray, grid: BlockGrid) -> tuple[bytes, float]:
    count, channels, _ = levels.shape
    symbols = levels.copy()
    symbols[:, :, 0] = _dc_residuals(levels[:, :, 0], _neighbours(grid.rows, grid.cols))
    classes = _merge_classes(_block_classes(levels), symbols, channels)
    class_count = int(classes.max()) + 1
    frequency = np.bincount(classes, minlength=class_count)
    class_bytes = np.clip(np.ceil(frequency / frequency.max() * 255), 0, 255).astype(np.uint8)
    groups = _group_indexes(classes, channels)
    coded = _coded_mask(classes, channels)
    histograms, bits = _histograms(classes, symbols, channels)
    scale_index = np.argmin(histograms[:class_count] @ bits, axis=-1).astype(np.uint8).ravel()
    class_model = categorical_table(_class_probabilities(class_bytes))
    table = gaussian_table() + class_model
    stream = SymbolStream(table)
    stream.add(classes, len(SCALE_TABLE))
    stream.add(symbols[:, :, 0], scale_index[groups[:, :, 0]])  # every DC residual first
    ac = coded[:, :, 1:]
    stream.add(symbols[:, :, 1:][ac], scale_index[groups[:, :, 1:][ac]])  # then the AC levels
    header = bytes([class_count]) + class_bytes.tobytes() + scale_index.tobytes()
    return header + stream.finish(), stream.ideal_bits() + RANS_FLUSH_BITS + 8 * len(header)


def _class_probabilities(class_bytes: np.ndarray) -> np.ndarray:
    weights = class_bytes.astype(np.float64)
    return (weights / weights.sum())[None, :]


DECODE_BATCH = 8192  # blocks decoded at a time


def _decode_levels(payload: bytes, grid: BlockGrid, channels: int):
    """Yield ``(first block, levels int32 (n, C, 64), reconstruction offsets float32 (n, C, 64))``
    batch by batch, in the encoder's order. The classes and DC levels of all blocks are decoded
    first (a few int64 per block, less than the :class:`BlockGrid` itself holds), then the AC
    levels in batches of :data:`DECODE_BATCH` blocks."""
    count = len(grid)
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
    dc_scale_index = scale_index.reshape(class_count, channels, BANDS)[classes, :, 0]  # (n, C): band 0's model
    residuals = reader.read(dc_scale_index.astype(np.int64))
    dc = _dc_from_residuals(residuals, grid.rows, grid.cols, _neighbours(grid.rows, grid.cols))
    offsets = _reconstruction_offsets(scale_index)
    for start in range(0, count, DECODE_BATCH):
        batch = classes[start : start + DECODE_BATCH]
        groups = _group_indexes(batch, channels)
        ac = _coded_mask(batch, channels)[:, :, 1:]
        symbols = np.zeros((len(batch), channels, 64), dtype=np.int64)
        symbols[:, :, 1:][ac] = reader.read(scale_index[groups[:, :, 1:][ac]].astype(np.int64))
        symbols[:, :, 0] = dc[start : start + len(batch)]
        yield start, np.clip(symbols, -(2**30), 2**30).astype(np.int32), offsets[groups]
