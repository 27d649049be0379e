"""A from-scratch rANS coder for teaching (notebook 03), and the same symbols through CompressAI's coder.

rANS (range asymmetric numeral systems, Duda 2013) keeps the whole message in one integer, the
*state* x. With a frequency table whose frequencies f_s sum to M = 2**PRECISION, and c_s the
cumulative frequency of the symbols before s, coding symbol s maps

    x  ->  (x // f_s) * M + c_s + (x % f_s)

which multiplies x by about M / f_s = 1 / p_s: the state grows by -log2 p_s bits, exactly the
symbol's information. The decoder inverts it from the low bits: slot = x % M names the symbol
(c_s <= slot < c_s + f_s), and x = f_s * (x // M) + slot - c_s restores the previous state.

*Renormalisation* keeps x in a fixed window [LOWER, 256 * LOWER): before coding a symbol the
encoder writes the low byte of x out and shifts it away while x is too big for the symbol; the
decoder reads bytes back in while x is below LOWER. The decoder must pop symbols in the reverse
order of the pushes (rANS is a stack), so the encoder codes the message backwards and the decoder
reads it forwards. This is byte-wise rANS as in Fabian Giesen's ``rans_byte.h``; CompressAI's
coder (``compressai.ans``) is the same idea with a 64-bit state and 32-bit words.

The coder here is plain Python (slow, readable); :func:`compressai_encode` codes the same symbols
with CompressAI's C++ coder so the two sizes can be compared with the ideal -sum log2 p.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdcomp_lite.coding.entropy import SymbolReader, SymbolStream, categorical_table

PRECISION = 16  # frequencies sum to M = 2**16, as in CompressAI's CDFs
LOWER = 1 << 23  # the state lives in [LOWER, 256 * LOWER): 31 bits


@dataclass(frozen=True)
class FrequencyTable:
    """Integer frequencies of symbols 0..K-1, summing to ``2**PRECISION``; every symbol has f >= 1."""

    frequencies: tuple[int, ...]

    @classmethod
    def from_counts(cls, counts) -> FrequencyTable:
        """Scale non-negative ``counts`` (one per symbol) to sum to 2**PRECISION, keeping every f >= 1.

        Every symbol gets one slot, the rest is shared in proportion to the counts (largest remainders).
        """
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 1 or counts.size == 0 or counts.min() < 0 or counts.sum() <= 0:
            raise ValueError("counts must be a non-empty 1-D array of non-negative numbers with a positive sum.")
        total = 1 << PRECISION
        if counts.size > total:
            raise ValueError(f"at most {total} symbols fit a {PRECISION}-bit table.")
        scaled = counts / counts.sum() * (total - counts.size)  # one slot per symbol is reserved
        frequencies = 1 + np.floor(scaled).astype(np.int64)
        missing = total - int(frequencies.sum())  # 0 <= missing < K: largest remainders get one more
        frequencies[np.argsort(np.floor(scaled) - scaled, kind="stable")[:missing]] += 1
        return cls(tuple(int(f) for f in frequencies))

    @classmethod
    def from_symbols(cls, symbols, alphabet: int | None = None) -> FrequencyTable:
        """The table of the symbols' own counts (non-negative ints); ``alphabet`` symbols at least."""
        symbols = np.asarray(symbols, dtype=np.int64)
        return cls.from_counts(np.bincount(symbols, minlength=alphabet or 0))

    @property
    def cumulative(self) -> tuple[int, ...]:
        """c_s: the sum of the frequencies of the symbols before s (one entry per symbol)."""
        return tuple(int(c) for c in np.concatenate([[0], np.cumsum(self.frequencies)[:-1]]))

    def probabilities(self) -> np.ndarray:
        """The quantised probabilities f_s / M, float64 (K,)."""
        return np.asarray(self.frequencies, dtype=np.float64) / (1 << PRECISION)

    def ideal_bits(self, symbols) -> float:
        """-sum log2 (f_s / M) over ``symbols``: what an ideal coder spends with this table."""
        return float(np.log2(1 / self.probabilities()[np.asarray(symbols, dtype=np.int64)]).sum())


@dataclass(frozen=True)
class RansStep:
    """One encoder step, for stepping through: the symbol, the state before and after, bytes written."""

    symbol: int
    state_before: int
    bytes_out: tuple[int, ...]  # low bytes shifted out by renormalisation, in the order written
    state_after: int


def encode(symbols, table: FrequencyTable, trace: list[RansStep] | None = None) -> bytes:
    """rANS-code a sequence of ints in 0..K-1; ``trace`` (if given) receives one RansStep per symbol."""
    frequencies, cumulative = table.frequencies, table.cumulative
    state, out = LOWER, bytearray()
    for symbol in reversed([int(s) for s in symbols]):  # a stack: code backwards, decode forwards
        f, before, written = frequencies[symbol], state, len(out)
        limit = ((LOWER >> PRECISION) << 8) * f  # push would leave the window: shift bytes out first
        while state >= limit:
            out.append(state & 0xFF)
            state >>= 8
        state = (state // f << PRECISION) + cumulative[symbol] + state % f
        if trace is not None:
            trace.append(RansStep(symbol, before, tuple(out[written:]), state))
    out += state.to_bytes(4, "little")  # flush the final state
    return bytes(reversed(out))  # the decoder reads from the end the encoder finished at


def decode(data: bytes, count: int, table: FrequencyTable) -> list[int]:
    """Decode ``count`` symbols that :func:`encode` wrote with the same table."""
    frequencies, cumulative = table.frequencies, table.cumulative
    symbol_of_slot = np.repeat(np.arange(len(frequencies)), frequencies)  # slot -> symbol lookup
    state, position = int.from_bytes(data[:4], "big"), 4
    symbols = []
    for _ in range(count):
        slot = state & ((1 << PRECISION) - 1)
        symbol = int(symbol_of_slot[slot])
        state = frequencies[symbol] * (state >> PRECISION) + slot - cumulative[symbol]
        while state < LOWER and position < len(data):  # renormalise: pull bytes back in
            state = (state << 8) | data[position]
            position += 1
        symbols.append(symbol)
    return symbols


def ideal_bits(symbols) -> float:
    """-sum log2 p(s) with p the symbols' own frequencies: the zeroth-order bound for these symbols."""
    _, counts = np.unique(np.asarray(symbols, dtype=np.int64), return_counts=True)
    return float((counts * np.log2(counts.sum() / counts)).sum())


def compressai_encode(symbols, table: FrequencyTable) -> bytes:
    """Code the same symbols with CompressAI's rANS coder and the same probabilities."""
    stream = SymbolStream(categorical_table(table.probabilities()[None, :]))
    stream.add(np.asarray(symbols, dtype=np.int64), 0)
    return stream.finish()


def compressai_decode(data: bytes, count: int, table: FrequencyTable) -> list[int]:
    """Decode what :func:`compressai_encode` wrote."""
    reader = SymbolReader(data, categorical_table(table.probabilities()[None, :]))
    return [int(s) for s in reader.read(np.zeros(count, dtype=np.int64))]
