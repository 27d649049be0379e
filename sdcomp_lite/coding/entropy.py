"""Probability models and the rANS coder, both taken from CompressAI.

CompressAI keeps the coder (``compressai.ans``) apart from the probability models that feed it
(``compressai.entropy_models``): a model is a list of quantised CDFs, and every symbol is coded
with the CDF that its *index* picks. This module builds such lists of CDFs:

* Gaussian CDFs, one per scale of CompressAI's usual scale table, from ``GaussianConditional``;
* small categorical CDFs (binary mask contexts, block classes) from probabilities we send.

``SymbolStream`` collects (symbol, CDF index) pairs and codes them in one rANS string;
``SymbolReader`` decodes them back in the same order, batch by batch.

Reading untrusted data safely. CompressAI's decoder reads its input without bounds checks, so
:class:`SymbolReader` never hands it the payload itself: it hands it a copy followed by padding
that the decoder can provably not run past, and after every bounded batch it adds up the
information the decoded symbols carry (-log2 P under the same quantised CDFs, plus escaped
bits). rANS reads input in proportion to that information, so a stream that asks for more
information than its bytes hold has been read past its end: :class:`CorruptBitstreamError`.
The padding bytes (0xA5) keep the decoder's state large, so in the padding it still reads in
proportion to information, and they contain no 0xF nibble, so escapes cannot chain in them.

Taught in ``notebooks/03_structured_entropy_coding.ipynb``.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

with warnings.catch_warnings():  # CompressAI 1.2.8 calls torch.jit.script, which torch 2.14 deprecates
    warnings.simplefilter("ignore", FutureWarning)
    from compressai._CXX import pmf_to_quantized_cdf
    from compressai.ans import RansDecoder, RansEncoder
    from compressai.entropy_models import GaussianConditional
    from compressai.models.google import get_scale_table

from sdcomp_lite.errors import CorruptBitstreamError

PRECISION = 16  # CompressAI's rANS works with 16-bit CDFs
SCALE_TABLE = tuple(float(s) for s in get_scale_table())  # CompressAI's 64 scales, 0.11 to 256
ESCAPE_FLOOR = 2.0**-PRECISION
# CompressAI's encoder sizes its output buffer by the symbol count, so a stream of very few
# symbols overflows it; shorter streams are padded with this many symbols the decoder never reads.
MIN_SYMBOLS = 16


@dataclass(frozen=True)
class CdfTable:
    """CDFs in the layout CompressAI's rANS coder expects (one row per model)."""

    cdfs: tuple[tuple[int, ...], ...]
    lengths: tuple[int, ...]
    offsets: tuple[int, ...]

    def __add__(self, other: CdfTable) -> CdfTable:
        return CdfTable(self.cdfs + other.cdfs, self.lengths + other.lengths, self.offsets + other.offsets)

    def __len__(self) -> int:
        return len(self.cdfs)


@functools.lru_cache(maxsize=1)
def gaussian_table() -> CdfTable:
    """One zero-mean Gaussian CDF per entry of :data:`SCALE_TABLE` (CompressAI's table)."""
    model = GaussianConditional(list(SCALE_TABLE))
    model.update()
    return CdfTable(
        tuple(tuple(row) for row in model.quantized_cdf.tolist()),
        tuple(model.cdf_length.tolist()),
        tuple(model.offset.tolist()),
    )


def categorical_table(probabilities: np.ndarray) -> CdfTable:
    """CDFs for categorical symbols: ``probabilities`` has shape (models, symbols), rows summing to 1.

    An escape slot of tiny probability is appended, as CompressAI's coder requires.
    """
    rows = []
    for row in np.asarray(probabilities, dtype=np.float64):
        pmf = np.maximum(row, ESCAPE_FLOOR)
        pmf = np.append(pmf / pmf.sum() * (1 - ESCAPE_FLOOR), ESCAPE_FLOOR)
        rows.append(tuple(pmf_to_quantized_cdf(pmf.tolist(), PRECISION)))
    return CdfTable(tuple(rows), tuple(len(r) for r in rows), tuple(0 for _ in rows))


def gaussian_bits(magnitudes: np.ndarray) -> np.ndarray:
    """Bits of coding a value of each magnitude (|value|, shape (m,)) with each zero-mean Gaussian
    of :data:`SCALE_TABLE`, from its probability mass on [|value| - 0.5, |value| + 0.5]: float64 (m, 64)."""
    scales = np.asarray(SCALE_TABLE)[:, None]
    probability = ndtr((0.5 - magnitudes) / scales) - ndtr((-0.5 - magnitudes) / scales)
    return -np.log2(np.maximum(probability, 1e-9)).T


def best_scale_index(values: np.ndarray) -> int:
    """Index into :data:`SCALE_TABLE` of the Gaussian that codes ``values`` in the fewest bits."""
    unique, counts = np.unique(np.abs(values), return_counts=True)
    bits = (gaussian_bits(unique).T * counts).sum(axis=1)
    return int(np.argmin(bits))


@dataclass
class SymbolStream:
    """Collects symbols with the CDF index that codes each, then codes them all at once."""

    table: CdfTable
    symbols: list[np.ndarray] = field(default_factory=list)
    indexes: list[np.ndarray] = field(default_factory=list)

    def add(self, symbols: np.ndarray, indexes: np.ndarray) -> None:
        """Queue integer ``symbols`` to be coded with the CDF rows ``indexes`` (same shape)."""
        self.symbols.append(np.asarray(symbols, dtype=np.int64).ravel())
        self.indexes.append(np.broadcast_to(np.asarray(indexes, dtype=np.int64), np.shape(symbols)).ravel())

    def ideal_bits(self) -> float:
        """The model's estimate: the sum of -log2 P(symbol) under the quantised CDFs, plus the raw
        bits of escaped values (CompressAI codes values outside a CDF's range as 4-bit chunks)."""
        if not self.symbols:
            return 0.0
        symbols, indexes = np.concatenate(self.symbols), np.concatenate(self.indexes)
        lengths = np.asarray(self.table.lengths, dtype=np.int64)
        offsets = np.asarray(self.table.offsets, dtype=np.int64)
        return _information_bits(symbols, indexes, _padded(self.table), lengths, offsets)

    def finish(self) -> bytes:
        """The rANS-coded bytes of every queued symbol, in order."""
        if not self.symbols:
            return b""
        symbols = np.concatenate(self.symbols).astype(np.int32)
        indexes = np.concatenate(self.indexes).astype(np.int32)
        if symbols.size < MIN_SYMBOLS:
            padding = MIN_SYMBOLS - symbols.size
            symbols = np.concatenate([symbols, np.zeros(padding, np.int32)])
            indexes = np.concatenate([indexes, np.full(padding, indexes[-1], np.int32)])
        return RansEncoder().encode_with_indexes(
            symbols.tolist(), indexes.tolist(), [list(c) for c in self.table.cdfs],
            list(self.table.lengths), list(self.table.offsets),
        )


def _padded(table: CdfTable) -> np.ndarray:
    width = max(table.lengths)
    cdf = np.zeros((len(table), width), dtype=np.int64)
    for row, values in enumerate(table.cdfs):
        cdf[row, : len(values)] = values
    return cdf


BATCH = 65_536  # most symbols decoded per call to CompressAI's decoder
_PAD_BYTE = 0xA5
_SLACK_BITS = 96.0  # the coder's 64-bit initial state plus rounding


class SymbolReader:
    """Reads back what a :class:`SymbolStream` wrote, in batches, in the same order.

    Safe on untrusted data (see the module docstring): every read stays inside a padded copy,
    and a stream that runs out raises :class:`CorruptBitstreamError`.
    """

    def __init__(self, data: bytes, table: CdfTable) -> None:
        self._length = len(data)
        # worst case per batch: one 32-bit word per symbol, a few escape nibbles per symbol, and
        # escape runs fed by the real data (at most 16 bytes of reads per real byte)
        padding = 16 * self._length + 16 * BATCH + 4096
        self._buffer = bytes(data) + bytes([_PAD_BYTE]) * padding
        self._decoder = RansDecoder()
        self._decoder.set_stream(self._buffer)
        self._cdfs = [list(c) for c in table.cdfs]
        self._lengths = list(table.lengths)
        self._offsets = list(table.offsets)
        self._size = len(table)
        self._cdf = _padded(table)
        self._table_lengths = np.asarray(table.lengths, dtype=np.int64)
        self._table_offsets = np.asarray(table.offsets, dtype=np.int64)
        self._bits = 0.0
        self._symbols = 0

    def read(self, indexes: np.ndarray) -> np.ndarray:
        """Decode one symbol per entry of ``indexes``; returns int64 array of the same shape."""
        indexes = np.asarray(indexes, dtype=np.int64)
        if indexes.size == 0:
            return np.zeros(indexes.shape, dtype=np.int64)
        if indexes.min() < 0 or indexes.max() >= self._size:
            raise CorruptBitstreamError("a layer asks for a probability model that does not exist.")
        flat = indexes.ravel()
        values = np.empty(flat.size, dtype=np.int64)
        for start in range(0, flat.size, BATCH):
            batch = flat[start : start + BATCH]
            decoded = self._decoder.decode_stream(
                batch.astype(np.int32).tolist(), self._cdfs, self._lengths, self._offsets
            )
            values[start : start + batch.size] = decoded
            self._account(values[start : start + batch.size], batch)
        return values.reshape(indexes.shape)

    def _account(self, values: np.ndarray, indexes: np.ndarray) -> None:
        """Add the batch's information; raise if the stream has been read past its end."""
        self._bits += _information_bits(values, indexes, self._cdf, self._table_lengths, self._table_offsets)
        self._symbols += values.size
        allowed = 8.0 * self._length + _SLACK_BITS + self._symbols * 2.0**-13
        if self._bits > allowed:
            raise CorruptBitstreamError(
                f"a layer's entropy-coded data ends early: its {self._length} bytes cannot hold the "
                f"{self._symbols} symbols its header implies. The file is corrupt or was made by hand."
            )


def _information_bits(values, indexes, cdf, lengths, offsets) -> float:
    """Bits that coding ``values`` with the CDF rows ``indexes`` takes: -log2 P plus escaped bits."""
    relative = values - offsets[indexes]
    escape_value = lengths[indexes] - 2
    escaped = (relative < 0) | (relative >= escape_value)
    coded = np.where(escaped, escape_value, relative)
    probability = (cdf[indexes, coded + 1] - cdf[indexes, coded]) / float(1 << PRECISION)
    raw = np.where(relative < 0, -2 * relative - 1, 2 * (relative - escape_value))[escaped]
    chunks = np.ceil(np.log2(raw.astype(np.float64) + 1.0) / 4).astype(np.int64)
    bypass_bits = 4 * (chunks // 15 + 1 + chunks)
    return float(-np.log2(np.maximum(probability, 2.0**-PRECISION)).sum() + bypass_bits.sum())
