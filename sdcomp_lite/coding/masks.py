"""Lossless, context-modelled coding of binary object masks.

Only the mask's bounding box is coded. Each pixel is coded with a binary probability chosen by
its *context*: four already-decoded neighbours in the two rows above it (up-left, up, up-right,
and two-up), giving 16 contexts. Inside a smooth shape most contexts are all-0 or all-1 and
almost certain, so the bits go to the boundary. The encoder measures P(pixel = 1) for each
context, sends each as one byte (on a logit scale), and codes the pixels with CompressAI's rANS.
Because contexts use only the rows above, a whole row decodes in one call.

Payload (this module is its one home: :func:`pack_box`, :func:`unpack_box`, :data:`CONTEXTS`,
:data:`MODEL_BYTES`, :func:`context_table`): the box as four varints (``x0, y0``, then its width and
height, on the mask's grid; all zero for an empty mask); if the box is not empty, the model (each
context's P(pixel = 1) as a 4-bit level, two a byte: 8 bytes) and the rANS string.

Taught in notebooks/03_structured_entropy_coding.ipynb (section 6).
"""

from __future__ import annotations

import numpy as np

from sdcomp_lite.coding.container import read_varint, varint
from sdcomp_lite.coding.entropy import SymbolReader, SymbolStream, categorical_table
from sdcomp_lite.errors import CorruptBitstreamError
from sdcomp_lite.types import Window, box_from_mask

CONTEXTS = 16
MODEL_BYTES = CONTEXTS // 2  # a 4-bit level per context, context 2k in the high half of byte k
LEVELS = 16
LOGIT_STEP = 1.5  # level n means P(1) = sigmoid(1.5 (n - 7.5)): 1.3e-5 to 0.99999


def pack_box(x0: int, y0: int, x1: int, y1: int) -> bytes:
    """A mask's box (XYXY, on the mask's grid; all zero for an empty mask) as the payload writes it: varints of
    ``x0``, ``y0``, the width and the height."""
    return varint(x0) + varint(y0) + varint(x1 - x0) + varint(y1 - y0)


def unpack_box(payload: bytes, start: int = 0) -> tuple[tuple[int, int, int, int], int] | None:
    """The box (XYXY) a payload holds at ``start`` and the position after it, unchecked; None when the payload
    ends inside it or a number is not a shortest varint."""
    numbers, position = [], start
    for _ in range(4):
        read = read_varint(payload, position)
        if read is None:
            return None
        number, position = read
        numbers.append(number)
    x0, y0, width, height = numbers
    return (x0, y0, x0 + width, y0 + height), position


def _row_contexts(above: np.ndarray, two_above: np.ndarray) -> np.ndarray:
    """Context number of every pixel in a row, from the two rows above it (bool arrays)."""
    left = np.concatenate(([False], above[:-1]))
    right = np.concatenate((above[1:], [False]))
    return left.astype(np.int64) | (above.astype(np.int64) << 1) | (right.astype(np.int64) << 2) | (
        two_above.astype(np.int64) << 3
    )


def _all_contexts(crop: np.ndarray) -> np.ndarray:
    """Contexts of every pixel of a cropped mask, computed at once (encoder side)."""
    height, width = crop.shape
    padded = np.zeros((height + 2, width + 2), dtype=np.int64)
    padded[2:, 1:-1] = crop
    above = padded[1:-1, 1:-1]
    return padded[1:-1, :-2] | (above << 1) | (padded[1:-1, 2:] << 2) | (padded[:-2, 1:-1] << 3)


def _context_levels(crop: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    """Each context's P(pixel = 1) measured on the crop, quantised to a level (uint8, 0..15)."""
    ones = np.bincount(contexts.ravel(), weights=crop.ravel().astype(np.float64), minlength=CONTEXTS)
    total = np.bincount(contexts.ravel(), minlength=CONTEXTS).astype(np.float64)
    probability = (ones + 0.4) / (total + 0.8)
    logits = np.log(probability / (1 - probability))
    return np.clip(np.round(logits / LOGIT_STEP + (LEVELS - 1) / 2), 0, LEVELS - 1).astype(np.uint8)


def pack_model(levels: np.ndarray) -> bytes:
    """16 context levels (0..15) as the payload's 8 model bytes."""
    levels = np.asarray(levels, np.uint8)
    return ((levels[0::2] << 4) | levels[1::2]).astype(np.uint8).tobytes()


def unpack_model(model: bytes) -> np.ndarray:
    """The 16 context levels (uint8) that 8 model bytes hold."""
    packed = np.frombuffer(bytes(model), np.uint8, count=MODEL_BYTES)
    return np.stack([packed >> 4, packed & 0x0F], axis=1).ravel()


def context_statistics(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For teaching: how often each of the 16 contexts occurs inside the mask's box, and the
    probability P(pixel = 1) the encoder sends for it (after its 4-bit quantisation)."""
    if not mask.any():
        return np.zeros(CONTEXTS, np.int64), np.full(CONTEXTS, 0.5)
    x0, y0, x1, y1 = (int(v) for v in box_from_mask(mask))
    crop = mask[y0:y1, x0:x1]
    contexts = _all_contexts(crop)
    counts = np.bincount(contexts.ravel(), minlength=CONTEXTS)
    return counts, _p_one(_context_levels(crop, contexts))


def _p_one(levels: np.ndarray) -> np.ndarray:
    """P(pixel = 1) that each context level stands for."""
    return 1.0 / (1.0 + np.exp(-(levels.astype(np.float64) - (LEVELS - 1) / 2) * LOGIT_STEP))


def context_table(model: bytes):
    """The rANS table of the 16 contexts that the :data:`MODEL_BYTES` model bytes stand for."""
    p_one = _p_one(unpack_model(model))
    return categorical_table(np.stack([1 - p_one, p_one], axis=1))


def encode_mask(mask: np.ndarray) -> tuple[bytes, float]:
    """Code a boolean mask losslessly. Returns the payload and the model's estimate in bits."""
    if not mask.any():
        return pack_box(0, 0, 0, 0), 0.0
    x0, y0, x1, y1 = (int(v) for v in box_from_mask(mask))
    crop = mask[y0:y1, x0:x1]
    contexts = _all_contexts(crop)
    model = pack_model(_context_levels(crop, contexts))
    table = context_table(model)
    stream = SymbolStream(table)
    stream.add(crop.astype(np.int64), contexts)
    box = pack_box(x0, y0, x1, y1)
    estimate = stream.ideal_bits() + 8 * (MODEL_BYTES + len(box))
    return box + model + stream.finish(), estimate


def read_mask_box(payload: bytes, height: int, width: int) -> Window | None:
    """A mask payload's box (XYXY; None if the mask is empty), checked against a ``height`` x ``width`` grid,
    without decoding the mask: :class:`CorruptBitstreamError` if it does not fit or its contexts are missing."""
    box, _ = _checked_box(payload, height, width)
    return box


def _checked_box(payload: bytes, height: int, width: int) -> tuple[Window | None, int]:
    read = unpack_box(payload)
    if read is None:
        raise CorruptBitstreamError("mask payload does not start with a box (four shortest varints).")
    (x0, y0, x1, y1), end = read
    if x1 == x0 == 0 and y1 == y0 == 0:
        return None, end
    if not (x0 < x1 <= width and y0 < y1 <= height) or len(payload) < end + MODEL_BYTES:
        raise CorruptBitstreamError(f"mask box ({x0}, {y0}, {x1}, {y1}) does not fit a {width}x{height} image.")
    return Window(x0, y0, x1, y1), end


def decode_mask_box(payload: bytes, height: int, width: int) -> tuple[Window | None, np.ndarray]:
    """Decode a mask's box (a :class:`~sdcomp_lite.types.Window`, XYXY; None if empty) and the bool crop inside it.

    The work is proportional to the box, not the image (``height`` x ``width`` only bounds it).
    """
    box, start = _checked_box(payload, height, width)
    if box is None:
        return None, np.zeros((0, 0), dtype=bool)
    x0, y0, x1, y1 = box
    table = context_table(payload[start : start + MODEL_BYTES])
    reader = SymbolReader(payload[start + MODEL_BYTES :], table)
    crop = np.zeros((y1 - y0 + 2, x1 - x0), dtype=bool)  # two zero rows above the box
    for row in range(2, crop.shape[0]):
        bits = reader.read(_row_contexts(crop[row - 1], crop[row - 2]))
        if bits.size and (bits.min() < 0 or bits.max() > 1):
            raise CorruptBitstreamError("mask data decodes to a value that is not 0 or 1.")
        crop[row] = bits.astype(bool)
    return Window(x0, y0, x1, y1), crop[2:]


def decode_mask(payload: bytes, height: int, width: int) -> np.ndarray:
    """Decode the boolean mask of shape (height, width) that :func:`encode_mask` coded."""
    box, crop = decode_mask_box(payload, height, width)
    mask = np.zeros((height, width), dtype=bool)
    if box is not None:
        mask[box.slices] = crop
    return mask
