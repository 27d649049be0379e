"""The teaching rANS coder: round trips, sizes against the ideal and against CompressAI's coder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcomp_lite.coding import toy_rans
from sdcomp_lite.coding.toy_rans import LOWER, PRECISION, FrequencyTable

symbol_lists = st.integers(1, 12).flatmap(
    lambda alphabet: st.tuples(st.just(alphabet), st.lists(st.integers(0, alphabet - 1), max_size=300))
)


@settings(max_examples=60, deadline=None)
@given(symbol_lists)
def test_round_trip_any_symbols(case):
    alphabet, symbols = case
    table = FrequencyTable.from_symbols(symbols, alphabet) if symbols else FrequencyTable.from_counts([1] * alphabet)
    data = toy_rans.encode(symbols, table)
    assert toy_rans.decode(data, len(symbols), table) == symbols


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=40).filter(lambda c: sum(c) > 0))
def test_frequency_table_sums_to_the_precision_and_keeps_every_symbol(counts):
    table = FrequencyTable.from_counts(counts)
    assert sum(table.frequencies) == 1 << PRECISION
    assert min(table.frequencies) >= 1
    assert table.cumulative[0] == 0 and len(table.cumulative) == len(counts)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=50, max_size=400), st.integers(0, 1000))
def test_size_is_within_a_few_bytes_of_the_ideal_and_of_compressai(symbols, seed):
    table = FrequencyTable.from_symbols(symbols, 6)
    ideal = table.ideal_bits(symbols) / 8
    ours = len(toy_rans.encode(symbols, table))
    theirs = toy_rans.compressai_encode(symbols, table)
    assert ideal <= ours <= ideal + 5  # 4 bytes of flushed state, less what the first state carries
    assert abs(ours - len(theirs)) <= 8  # CompressAI flushes 8 bytes and writes 32-bit words
    assert toy_rans.compressai_decode(theirs, len(symbols), table) == symbols


def test_quantised_table_costs_almost_nothing_over_the_empirical_entropy():
    symbols = np.random.default_rng(0).geometric(0.3, 5000) - 1
    table = FrequencyTable.from_symbols(symbols)
    assert toy_rans.ideal_bits(symbols) <= table.ideal_bits(symbols) <= toy_rans.ideal_bits(symbols) * 1.001 + 1


def test_trace_shows_the_state_staying_in_its_window():
    symbols = [0, 1, 1, 2, 0, 0, 0, 3] * 20
    table = FrequencyTable.from_symbols(symbols)
    trace: list[toy_rans.RansStep] = []
    data = toy_rans.encode(symbols, table, trace)
    assert [step.symbol for step in trace] == symbols[::-1]
    assert all(LOWER <= step.state_after < LOWER << 8 for step in trace)
    assert sum(len(step.bytes_out) for step in trace) == len(data) - 4
    assert any(step.bytes_out for step in trace)  # renormalisation happened


def test_a_certain_symbol_costs_nothing():
    table = FrequencyTable.from_counts([5])
    assert toy_rans.encode([0] * 1000, table) == LOWER.to_bytes(4, "big")


@pytest.mark.parametrize("counts", [[], [0, 0], [-1, 2], [[1, 2]]])
def test_bad_counts_are_refused(counts):
    with pytest.raises(ValueError, match="counts"):
        FrequencyTable.from_counts(counts)
