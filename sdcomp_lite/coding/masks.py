"""Lossless, context-modelled coding of binary object masks.

Only the mask's bounding box is coded. Each pixel is coded with a binary probability chosen by
its *context*: four already-decoded neighbours in the two rows above it (up-left, up, up-right,
and two-up), giving 16 contexts. Inside a smooth shape most contexts are all-0 or all-1 and
almost certain, so the bits go to the boundary. The encoder measures P(pixel = 1) for each
context, sends each as one byte (on a logit scale), and codes the pixels with CompressAI's rANS.
Because contexts use only the rows above, a whole row decodes in one call.

Payload (this module is its one home: :data:`BOX`, :data:`CONTEXTS`, :func:`context_table`): the box
``(x0, y0, x1, y1)`` ("XYXY", u16 each, all zero for an empty mask); if the box is not empty,
16 context bytes and the rANS string.

Taught in notebooks/03_structured_entropy_coding.ipynb (section 6).
"""

from __future__ import annotations

import struct

import numpy as np

from sdcomp_lite.coding.entropy import SymbolReader, SymbolStream, categorical_table
from sdcomp_lite.errors import CorruptBitstreamError
from sdcomp_lite.types import Window, box_from_mask

CONTEXTS = 16
BOX = struct.Struct(">HHHH")  # x0, y0, x1, y1 ("XYXY") of the coded crop
LOGIT_STEP = 12.0  # context byte b means P(1) = sigmoid((b - 128) / 12)


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


def _context_bytes(crop: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    ones = np.bincount(contexts.ravel(), weights=crop.ravel().astype(np.float64), minlength=CONTEXTS)
    total = np.bincount(contexts.ravel(), minlength=CONTEXTS).astype(np.float64)
    probability = (ones + 0.4) / (total + 0.8)
    logits = np.log(probability / (1 - probability))
    return np.clip(np.round(logits * LOGIT_STEP + 128), 0, 255).astype(np.uint8)


def context_statistics(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For teaching: how often each of the 16 contexts occurs inside the mask's box, and the
    probability P(pixel = 1) the encoder sends for it (after its one-byte quantisation)."""
    if not mask.any():
        return np.zeros(CONTEXTS, np.int64), np.full(CONTEXTS, 0.5)
    x0, y0, x1, y1 = (int(v) for v in box_from_mask(mask))
    crop = mask[y0:y1, x0:x1]
    contexts = _all_contexts(crop)
    counts = np.bincount(contexts.ravel(), minlength=CONTEXTS)
    context_bytes = _context_bytes(crop, contexts)
    return counts, _p_one(context_bytes)


def _p_one(context_bytes: np.ndarray) -> np.ndarray:
    """P(pixel = 1) that each context byte stands for."""
    return 1.0 / (1.0 + np.exp(-(context_bytes.astype(np.float64) - 128) / LOGIT_STEP))


def context_table(context_bytes: np.ndarray):
    """The rANS table of the 16 contexts that 16 context bytes (uint8) stand for."""
    p_one = _p_one(context_bytes)
    return categorical_table(np.stack([1 - p_one, p_one], axis=1))


def encode_mask(mask: np.ndarray) -> tuple[bytes, float]:
    """Code a boolean mask losslessly. Returns the payload and the model's estimate in bits."""
    if not mask.any():
        return BOX.pack(0, 0, 0, 0), 0.0
    x0, y0, x1, y1 = (int(v) for v in box_from_mask(mask))
    crop = mask[y0:y1, x0:x1]
    contexts = _all_contexts(crop)
    context_bytes = _context_bytes(crop, contexts)
    table = context_table(context_bytes)
    stream = SymbolStream(table)
    stream.add(crop.astype(np.int64), contexts)
    estimate = stream.ideal_bits() + 8 * (CONTEXTS + BOX.size)
    return BOX.pack(x0, y0, x1, y1) + context_bytes.tobytes() + stream.finish(), estimate


def read_mask_box(payload: bytes, height: int, width: int) -> Window | None:
    """A mask payload's box (XYXY; None if the mask is empty), checked against a ``height`` x ``width`` grid,
    without decoding the mask: :class:`CorruptBitstreamError` if it does not fit or its contexts are missing."""
    if len(payload) < BOX.size:
        raise CorruptBitstreamError("mask payload is shorter than its box.")
    x0, y0, x1, y1 = BOX.unpack_from(payload)
    if x1 == x0 == 0 and y1 == y0 == 0:
        return None
    if not (x0 < x1 <= width and y0 < y1 <= height) or len(payload) < BOX.size + CONTEXTS:
        raise CorruptBitstreamError(f"mask box ({x0}, {y0}, {x1}, {y1}) does not fit a {width}x{height} image.")
    return Window(x0, y0, x1, y1)


def decode_mask_box(payload: bytes, height: int, width: int) -> tuple[Window | None, np.ndarray]:
    """Decode a mask's box (a :class:`~sdcomp_lite.types.Window`, XYXY; None if empty) and the bool crop inside it.

    The work is proportional to the box, not the image (``height`` x ``width`` only bounds it).
    """
    box = read_mask_box(payload, height, width)
    if box is None:
        return None, np.zeros((0, 0), dtype=bool)
    x0, y0, x1, y1 = box
    context_bytes = np.frombuffer(payload, dtype=np.uint8, count=CONTEXTS, offset=BOX.size)
    table = context_table(context_bytes)
    reader = SymbolReader(payload[BOX.size + CONTEXTS :], table)
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
