"""The dct8 coder's parts: DC prediction on sparse block grids, the model's class merging, the
reconstruction offsets, and what the decoder does with cut or forged payloads."""

import numpy as np
import pytest
from fuzzing import crafted
from scipy.integrate import quad

from sdcomp_lite import load_sample
from sdcomp_lite.coding import dct
from sdcomp_lite.coding.dct import BlockGrid, DctTransform
from sdcomp_lite.errors import CorruptBitstreamError
from sdcomp_lite.metrics import psnr


def _sparse_region(seed: int, shape=(120, 160), density=0.55) -> np.ndarray:
    """A region of scattered 8x8 cells, with holes, islands and ragged edges (not block aligned at the border)."""
    rng = np.random.default_rng(seed)
    cells = rng.random((shape[0] // 8 + 1, shape[1] // 8 + 1)) < density
    return np.kron(cells, np.ones((8, 8), bool))[: shape[0], : shape[1]]


def _reference_dc(residuals: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The prediction rule written out block by block, in raster order, with plain integers."""
    known: dict[tuple[int, int], list[int]] = {}
    out = []
    for (r, c), residual in zip(zip(rows.tolist(), cols.tolist()), residuals.tolist()):
        left, top, top_left, top_right = (known.get(k) for k in ((r, c - 1), (r - 1, c), (r - 1, c - 1), (r - 1, c + 1)))
        value = []
        for ch, e in enumerate(residual):
            if left and top and top_left:
                a, b, x = left[ch], top[ch], top_left[ch]
                p = min(a, b) if x >= max(a, b) else max(a, b) if x <= min(a, b) else a + b - x
            elif left and top:
                p = (left[ch] + top[ch]) // 2
            elif left or top:
                p = (left or top)[ch]
            else:
                p = top_right[ch] if top_right else top_left[ch] if top_left else 0
            value.append(p + e)
        known[(r, c)] = value
        out.append(value)
    return np.array(out, dtype=np.int64).reshape(residuals.shape)


@pytest.mark.parametrize("seed", range(6))
def test_encoder_and_decoder_make_the_same_dc_predictions_on_a_sparse_grid(seed):
    rng = np.random.default_rng(100 + seed)
    grid = BlockGrid.of_region(_sparse_region(seed, density=(0.2, 0.5, 0.9)[seed % 3]))
    dc = rng.integers(-300, 300, size=(len(grid), 3)).cumsum(axis=0)  # smooth-ish, with large swings
    neighbours = dct._neighbours(grid.rows, grid.cols)
    residuals = dct._dc_residuals(dc, neighbours)  # the encoder's side: all DC levels known
    assert np.array_equal(dct._dc_from_residuals(residuals, grid.rows, grid.cols, neighbours), dc)  # wavefronts
    assert np.array_equal(_reference_dc(residuals, grid.rows, grid.cols), dc)  # the rule, block by block


def test_neighbours_are_found_only_where_blocks_are_coded():
    region = np.zeros((24, 32), bool)
    for r, c in [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3), (2, 3)]:
        region[8 * r : 8 * r + 8, 8 * c : 8 * c + 8] = True
    grid = BlockGrid.of_region(region)
    index = {(r, c): i for i, (r, c) in enumerate(zip(grid.rows.tolist(), grid.cols.tolist()))}
    left, top, top_left, top_right = dct._neighbours(grid.rows, grid.cols)
    block = index[(1, 1)]
    assert (left[block], top[block], top_left[block], top_right[block]) == (index[(1, 0)], index[(0, 1)], -1, index[(0, 2)])
    block = index[(1, 0)]
    assert (left[block], top[block], top_left[block], top_right[block]) == (-1, -1, -1, index[(0, 1)])
    block = index[(2, 3)]  # the last column: no wrap-around into the next row
    assert (left[block], top[block], top_left[block], top_right[block]) == (-1, index[(1, 3)], index[(1, 2)], -1)


def test_a_flat_region_costs_almost_nothing_and_its_dc_residuals_are_zero():
    image = np.full((64, 96, 3), 37, np.uint8)
    region = _sparse_region(3, shape=(64, 96))
    grid = BlockGrid.of_region(region)
    levels = DctTransform().levels(image, region, 60)
    residuals = dct._dc_residuals(levels[:, :, 0], dct._neighbours(grid.rows, grid.cols))
    islands = (dct._neighbours(grid.rows, grid.cols) < 0).all(axis=0)  # blocks with no coded neighbour predict 0
    assert np.all(residuals[~islands] == 0)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_small_region_round_trips_closely_at_high_quality(channels):
    image = load_sample("coffee").image[100:220, 200:360]
    image = image[:, :, :1] if channels == 1 else image
    region = _sparse_region(7)
    region[5:50, 3:40] = True  # and a part that is not block aligned
    coder = DctTransform()
    payload, estimate = coder.encode_region(image, region, 90)
    assert abs(8 * len(payload) - estimate) < 0.02 * estimate + 200
    decoded = coder.decode_region(payload, region, channels, 90)
    assert psnr(image[region][None], decoded[region][None]) > 40
    grid = BlockGrid.of_region(region)
    levels = np.concatenate([batch for _, batch, _ in dct._decode_levels(payload, grid, channels)])
    assert np.array_equal(levels, coder.levels(image, region, 90))  # every level, DC included, exactly
    assert coder.encode_region(image, region, 90)[0] == payload  # deterministic


def test_the_decoder_agrees_with_itself_across_batches(monkeypatch):
    image = load_sample("coffee").image[:160, :240]
    region = _sparse_region(2, shape=(160, 240))
    payload, _ = DctTransform().encode_region(image, region, 50)
    whole = DctTransform().decode_region(payload, region, 3, 50)
    monkeypatch.setattr(dct, "DECODE_BATCH", 7)
    assert np.array_equal(DctTransform().decode_region(payload, region, 3, 50), whole)


@pytest.mark.parametrize("quality", [10, 50])
def test_a_payload_cut_in_the_middle_raises_corrupt_bitstream_error(quality):
    """In the header, among the classes, the DC residuals or the AC levels. (A cut in the last dozen
    bytes or so can pass: the reader's check allows the coder's flush and rounding; the container's
    CRC catches those.)"""
    image = load_sample("astronaut").image[:96, :128]
    region = _sparse_region(4, shape=(96, 128), density=0.8)
    payload, _ = DctTransform().encode_region(image, region, quality)
    assert len(payload) > 200
    for cut in sorted({1, 5, 12, len(payload) // 4, len(payload) // 2, (3 * len(payload)) // 4}):
        with pytest.raises(CorruptBitstreamError):
            DctTransform().decode_region(payload[:cut], region, 3, quality)


@pytest.mark.parametrize("value", [1 << 20, -(1 << 20), 100_000])
def test_huge_forged_dc_residuals_decode_without_overflow(value):
    blocks = 12 * 16
    payload = crafted.dct8_payload([255], 3, [0] * blocks, [value] * (blocks * 3))
    region = np.ones((96, 128), bool)
    try:
        pixels = DctTransform().decode_region(payload, region, 3, 50)
    except CorruptBitstreamError:
        return
    assert pixels.shape == (96, 128, 3) and pixels.dtype == np.uint8


def test_a_small_layer_merges_its_activity_classes_into_fewer_models():
    image = load_sample("astronaut").image
    region = np.zeros(image.shape[:2], bool)
    region[200:248, 200:264] = True  # 48 blocks: too few to pay for a model per activity class
    levels = DctTransform().levels(image, region, 60)
    activity = dct._block_classes(levels)
    payload, _ = DctTransform().encode_region(image, region, 60)
    assert 1 + activity.max() > payload[0] >= 2
    grid = BlockGrid.of_region(region)
    symbols = levels.copy()
    symbols[:, :, 0] = dct._dc_residuals(levels[:, :, 0], dct._neighbours(grid.rows, grid.cols))
    merged = dct._merge_classes(activity, symbols, 3)
    assert np.array_equal(merged == 0, activity == 0)  # class 0 (no AC) is never merged
    order = np.argsort(activity, kind="stable")
    assert np.all(np.diff(merged[order]) >= 0)  # runs of neighbouring activity classes
    assert set(np.unique(merged).tolist()) == set(range(merged.max() + 1)) - ({0} if (activity > 0).all() else set())


@pytest.mark.parametrize("index", [0, 20, 40, 63])
def test_reconstruction_offsets_are_the_centroids_of_a_laplacian_in_the_bin(index):
    scale_index = np.arange(len(dct.SCALE_TABLE) * dct.BANDS) // dct.BANDS  # every scale, in every band
    offsets = dct._reconstruction_offsets(scale_index).reshape(-1, dct.BANDS)
    assert np.all(offsets[:, 0] == 0)  # DC: rounded to nearest, reconstructed at the level
    ac = offsets[:, 1]
    assert np.all(np.diff(ac) < 0) and -0.19 < ac.min() and ac.max() < dct.AC_ROUNDING  # |l| - delta stays > 0.68
    lam = np.sqrt(2.0) / dct.SCALE_TABLE[index]
    low = 2 - dct.AC_ROUNDING  # the bin of level 2

    def density(x):  # exp(-lam x), scaled: the same shape in every bin
        return np.exp(-lam * (x - low))

    centroid = quad(lambda x: x * density(x), low, low + 1)[0] / quad(density, low, low + 1)[0]
    assert offsets[index, 1] == pytest.approx(2 - centroid, abs=1e-5)
