"""Fuzzing the decoder (tests/fuzzing) and issue 11's crafted files as regression tests.

Every decode of untrusted bytes runs in a worker process under a memory and a time limit, so a
crash shows up as an outcome, not as a dead test run. The long run is benchmarks/fuzz_bitstreams.py.
"""

import ctypes
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from fuzzing import MUTATIONS, RAW_MUTATIONS, Case, CaseMaker, DecodePool, Draft, crafted, seed_files, summarise
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdcomp_lite.coding import container, decode, decode_progressive, inspect, layered, read_header
from sdcomp_lite.coding.dct import DctTransform
from sdcomp_lite.coding.masks import decode_mask
from sdcomp_lite.errors import (
    BitstreamError,
    CorruptBitstreamError,
    ImageTooLargeError,
    SdcompError,
    TruncatedBitstreamError,
)

CI_CASES = 2000
FUZZ_SEED = 0


@pytest.fixture(scope="module")
def seeds():
    return seed_files()


@pytest.fixture(scope="module")
def pool():
    with DecodePool(workers=2) as workers:
        yield workers


def _outcome(pool, data, mode="decode"):
    result = pool.decode(data, mode)
    return result.outcome, result.detail


# --- the fuzzer's own machinery ------------------------------------------------------------------

def test_seed_files_cover_every_transform_and_round_trip_through_a_draft(seeds):
    assert {name.split("-")[0] for name in seeds} == {"avif", "jpegxl", "dct8"}
    assert sum(len(data) < 1024 for data in seeds.values()) >= len(seeds) // 2
    for data in seeds.values():
        assert Draft.parse(data).to_bytes() == data


def test_cases_depend_only_on_seed_and_index(seeds):
    first, again, other = CaseMaker(seeds, 5), CaseMaker(seeds, 5), CaseMaker(seeds, 6)
    for index in (0, 17, 999):
        assert first.case(index) == again.case(index)
    assert [first.case(k).data for k in range(40)] != [other.case(k).data for k in range(40)]


def test_every_mutation_changes_its_seed(seeds):
    maker = CaseMaker(seeds, FUZZ_SEED)
    changed = {case.kind for case in maker.cases(3 * len(maker.kinds)) if case.data != seeds[case.seed_file]}
    assert changed == set(MUTATIONS) | set(RAW_MUTATIONS)


def _segfault(data, mode):
    ctypes.string_at(0)


def _spin(data, mode):
    while True:
        pass


def _allocate(data, mode):
    return bytearray(2 << 30)


def _key_error(data, mode):
    raise KeyError(data)


@pytest.mark.parametrize("decoder, outcome", [(_segfault, "signal"), (_spin, "hang"), (_allocate, "memory"),
                                              (_key_error, "other-exception")])
def test_the_pool_reports_each_kind_of_bug_and_recovers(decoder, outcome):
    with DecodePool(workers=1, timeout=0.5, kill_after=1.5, decoder=decoder) as bad:
        results = bad.run([Case(0, "given", "", b"x"), Case(1, "given", "", b"y")])
    assert [r.outcome for r in results] == [outcome, outcome]  # the second case ran in a fresh worker if need be


def test_fuzzing_finds_no_crash_hang_memory_blowup_or_stray_exception(pool, seeds):
    started = time.monotonic()
    outcomes = pool.run(CaseMaker(seeds, FUZZ_SEED).cases(CI_CASES))
    summary = summarise(outcomes)
    bugs = summary["bugs"]
    report = "\n".join(f"case {b['index']} ({b['kind']} of {b['seed_file']}): {b['outcome']} {b['detail']}\n{b['trace']}"
                       for b in bugs)
    assert not bugs, f"{len(bugs)} bugs; rebuild with CaseMaker(seed_files(), {FUZZ_SEED}).case(index):\n{report}"
    counts = summary["outcomes"]
    # the mutations get past the CRCs: many files still decode, and errors come from deep inside
    assert counts["ok"] > 0.2 * CI_CASES and counts["sdcomp-error"] > 0.4 * CI_CASES, counts
    assert summary["small_cases"] > 0.6 * CI_CASES  # files under 1 KB, each decoded or refused within the limits
    print(f"\n{CI_CASES} fuzz cases in {time.monotonic() - started:.0f} s: {counts}")


# --- hypothesis on the parsers, in this process (no entropy decoding) ---------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_the_container_parser_accepts_or_refuses_any_bytes(data):
    try:
        container.unpack(data)
    except BitstreamError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=120), st.integers(1, 40), st.integers(1, 40))
def test_the_mask_decoder_accepts_or_refuses_any_bytes(payload, height, width):
    try:
        mask = decode_mask(payload, height, width)
    except CorruptBitstreamError:
        return
    assert mask.shape == (height, width) and mask.dtype == bool


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_the_dct8_decoder_accepts_or_refuses_any_payload(payload):
    region = np.zeros((24, 16), bool)
    region[3:20, 2:15] = True
    try:
        pixels = DctTransform().decode_region(payload, region, 3, 50)
    except CorruptBitstreamError:
        return
    assert pixels.shape == (24, 16, 3) and pixels.dtype == np.uint8


def test_coverage_guided_fuzzing_finds_nothing_in_a_short_run(tmp_path):
    pytest.importorskip("atheris", reason="atheris is optional (Linux x86-64 wheels for CPython 3.11 and 3.12)")
    harness = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_atheris.py"
    run = subprocess.run([sys.executable, str(harness), "-runs=5000", "-seed=1", "-rss_limit_mb=4096", "-timeout=10",
                          f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done 5000 runs" in run.stderr


# --- issue 11: crafted files ----------------------------------------------------------------------

@pytest.mark.parametrize("side", [512, 4096])
def test_a_short_dct8_stream_for_many_symbols_is_refused_every_time(pool, side):
    """Finding 1: an 82-byte file (512x512) decoded to heap memory; at 8192x8192, a segfault."""
    data = crafted.short_dct8_stream(side)
    assert len(data) < 100
    assert _outcome(pool, data) == ("sdcomp-error", "CorruptBitstreamError")
    assert _outcome(pool, data, "progressive") == ("sdcomp-error", "CorruptBitstreamError")


def test_a_tiny_file_claiming_16384_squared_is_refused_before_any_work():
    """Finding 2: a 40-byte file like this one (44 here) used to allocate about 22 GB."""
    data = crafted.huge_header(16_384)
    assert len(data) < 64
    for read in (decode, inspect, read_header):
        with pytest.raises(ImageTooLargeError, match="max_pixels="):
            read(data)


@pytest.mark.parametrize("width, height", [(0, 10), (10, 0)])
def test_an_empty_side_is_refused(width, height):
    with pytest.raises(CorruptBitstreamError, match="image size"):
        decode(crafted.bitstream(width, height, 1, "dct8", [("background", b"")]))


@pytest.mark.parametrize("value", [-1000, -1, 2, 255, 1 << 20])
def test_a_block_class_out_of_range_is_refused_even_through_the_escape_path(value):
    """Finding 5: -1000 gave IndexError, -1 picked another model. Two classes: 0 and 1 are valid."""
    payload = crafted.dct8_payload([128, 128], 1, [value])
    with pytest.raises(CorruptBitstreamError, match="block class"):
        DctTransform().decode_region(payload, np.ones((8, 8), bool), 1, 50)


@pytest.mark.parametrize("value", [-1, 2, -1000])
def test_a_mask_symbol_other_than_0_or_1_is_refused(value):
    """Finding 5: a mask symbol of -1 passed the `> 1` check and became True."""
    symbols = np.zeros(16, np.int64)
    symbols[5] = value
    with pytest.raises(CorruptBitstreamError, match="not 0 or 1"):
        decode_mask(crafted.mask_payload((0, 0, 4, 4), symbols), 4, 4)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_a_1_to_3_byte_prefix_is_truncated_not_foreign(seeds, length):
    """Finding 9: BadMagicError, although the docs say truncated."""
    for data in seeds.values():
        with pytest.raises(TruncatedBitstreamError):
            decode(data[:length])


# --- found by this fuzzer, fixed: regression tests -------------------------------------------------

def test_a_memory_error_subclass_becomes_image_too_large(monkeypatch, seeds):
    class ArrayMemoryError(MemoryError):  # what numpy.core._exceptions._ArrayMemoryError is
        pass

    def out_of_memory(*args, **kwargs):
        raise ArrayMemoryError("Unable to allocate 384. MiB")

    monkeypatch.setattr(DctTransform, "decode_region", out_of_memory)
    data = next(data for name, data in seeds.items() if name.startswith("dct8"))
    with pytest.raises(ImageTooLargeError):
        decode(data)


def test_a_file_under_1_kb_decodes_within_1_gb():
    """A valid 4096x4096 file of 79 bytes decodes within the memory limit. It takes about 3 CPU s (benchmarks/README.md
    gives the time); the pool's 15 CPU s is a guard against a hang, not a speed target, so a shared machine passes it."""
    data = crafted.flat_dct8(4096, 3)
    assert len(data) < 100
    with DecodePool(workers=1, timeout=15.0) as own:
        result = own.decode(data)
    assert result.outcome in ("ok", "sdcomp-error"), (result.outcome, result.detail)


def test_empty_object_layers_cost_almost_nothing():
    data = crafted.empty_object_layers(60, 2048)
    started = time.process_time()
    with warnings.catch_warnings(), pytest.raises(SdcompError):  # the background payload is empty
        warnings.simplefilter("ignore")
        decode(data)
    assert time.process_time() - started < 0.5


def test_masks_over_the_work_budget_are_refused_before_any_layer_is_decoded(monkeypatch):
    data = crafted.full_box_masks(5, 256)  # five all-zero masks over the whole 256 x 256 box
    decoded_masks = []
    real = layered.decode_mask_box
    monkeypatch.setattr(layered, "decode_mask_box", lambda *args: decoded_masks.append(1) or real(*args))
    with pytest.raises(ImageTooLargeError, match="layer 4: the masks cover more than 4 times the pixel budget"):
        decode(data, max_pixels=256 * 256)
    with pytest.raises(ImageTooLargeError, match="layer 4"):
        next(decode_progressive(data, max_pixels=256 * 256))  # no step is yielded first
    assert decoded_masks == []  # refused up front, not after decoding four masks
    assert decode(data, layers=4, max_pixels=256 * 256).layers_decoded == 4  # a prefix within the budget decodes


def test_windows_over_the_work_budget_are_refused_whatever_the_cell_size():
    """Found in review: with 64-pixel cells a mask of a few bytes opens a whole-image window, so counting mask cells
    alone let 16,384 such layers through (25 CPU minutes)."""
    data = crafted.full_box_windows(33, 128)
    with pytest.raises(ImageTooLargeError, match="layer 32: the layers' windows cover more than 32 times"):
        decode(data, max_pixels=128 * 128)
    with pytest.raises(CorruptBitstreamError, match="content payload is empty"):  # 32 fit: decoding starts
        decode(crafted.full_box_windows(32, 128), max_pixels=128 * 128)


def test_a_corrupt_mask_keeps_its_own_error_under_the_budget_check():
    """A mask whose length overruns its layer is corrupt, whatever its box claims; the budget check must not call
    it too large."""
    mask = crafted.mask_payload((0, 0, 4096, 4096), np.zeros(16, np.int64))
    payload = container.varint(10_000) + mask
    data = crafted.bitstream(64, 64, 1, "dct8", [("object", payload), ("background", b"")])
    with pytest.raises(CorruptBitstreamError, match="mask length exceeds the layer"):
        decode(data)


@pytest.mark.parametrize("prefix", [b"", b"\x80", b"\x88\x00", b"\xff\xff\xff\xff\x7f", b"\x80\x80\x80\x80\x80\x01"])
def test_a_mask_length_that_is_not_a_shortest_varint_is_corrupt(prefix):
    data = crafted.bitstream(64, 64, 1, "dct8", [("object", prefix), ("background", b"")])
    with pytest.raises(CorruptBitstreamError, match="does not start with a mask length"):
        decode(data)
