"""Time to answer: how long a receiver on an R kbit/s channel waits before a task can answer.

A codec delivers a sequence of *decodable prefixes* (:class:`Step`): sdcomp-lite one per layer,
progressive JPEG one per complete scan, an ordinary codec a single one, the whole file. The task
answers at the first step whose score reaches the threshold (default: 0.9 of its score on the
original). The time is the transfer time of that step's bytes, ``bytes * 8 / R`` (R in kbit/s,
1 kbit = 1000 bits), plus the decode time of the image the task saw, counted in full (not
overlapped with the transfer, so a streaming decoder can only do better). Task inference time
is left out: it is the same model on the same image size for every codec.

Progressive JPEG prefixes: a scan is complete when its entropy-coded data ends (the next marker
that is neither a stuffed byte ``FF 00`` nor a restart marker ``FF D0..D7``); that prefix with an
end-of-image marker ``FF D9`` appended decodes with any baseline decoder (Pillow included).

Used by ``benchmarks/time_to_answer.py``.

Taught in notebooks/04_progressive_decoding.ipynb (sections 2 and 4).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from sdcomp_lite.errors import InvalidParameterError

RATES_KBPS = (64, 256, 1024)
DEFAULT_FRACTION = 0.9
EOI = b"\xff\xd9"
_SOI, _SOS = 0xD8, 0xDA
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field (TEM, RST0..7)


@dataclass(frozen=True)
class Step:
    """One decodable prefix of a codec's file and the task's score on it.

    Attributes:
        num_bytes: bytes the receiver needs for this prefix (headers included).
        score: the task's headline score on the image decoded from it (higher is better).
        decode_s: seconds to decode that image from what was received (wall clock).
        label: what the prefix holds, e.g. ``"layer 2/5 (person)"``, ``"scan 3/10"``, ``"whole file"``.
    """

    num_bytes: int
    score: float
    decode_s: float
    label: str


@dataclass(frozen=True)
class Answer:
    """When the task answers on one channel; ``step`` is None (and times infinite) when it never does.

    Attributes:
        rate_kbps: channel rate in kbit/s (1 kbit = 1000 bits).
        threshold: the score the task had to reach.
        step: index of the answering :class:`Step`, or None.
        num_bytes: bytes received when it answered (0 when never).
        label: the answering step's label, or ``"never"``.
        transfer_s: ``num_bytes * 8 / (1000 * rate_kbps)`` seconds (inf when never).
        decode_s: decode seconds of the answering image (inf when never).
    """

    rate_kbps: float
    threshold: float
    step: int | None
    num_bytes: int
    label: str
    transfer_s: float
    decode_s: float

    @property
    def answered(self) -> bool:
        return self.step is not None

    @property
    def total_s(self) -> float:
        """Seconds from the first byte sent to the task's answer: transfer plus decode."""
        return self.transfer_s + self.decode_s


def transfer_seconds(num_bytes: int, rate_kbps: float) -> float:
    """Seconds to send ``num_bytes`` bytes at ``rate_kbps`` kbit/s (1 kbit = 1000 bits)."""
    if not rate_kbps > 0:
        raise InvalidParameterError(f"rate_kbps must be positive, got {rate_kbps!r}.")
    return 8 * num_bytes / (1000 * rate_kbps)


def time_to_answer(steps: Sequence[Step], threshold: float, rate_kbps: float) -> Answer:
    """The first step (in arrival order) whose score reaches ``threshold``, timed on the channel."""
    transfer_seconds(0, rate_kbps)  # checks the rate
    for index, step in enumerate(steps):
        if step.score >= threshold:
            return Answer(rate_kbps, threshold, index, step.num_bytes, step.label,
                          transfer_seconds(step.num_bytes, rate_kbps), step.decode_s)
    return Answer(rate_kbps, threshold, None, 0, "never", math.inf, math.inf)


def score_over_time(steps: Sequence[Step], rate_kbps: float) -> tuple[np.ndarray, np.ndarray]:
    """Step curve of the score the receiver has against time: (seconds, score) float64 arrays.

    Starts at (0, 0): nothing decoded yet. Each step's time is its transfer time plus its decode
    time; plot with ``drawstyle="steps-post"``.
    """
    times = [0.0] + [transfer_seconds(s.num_bytes, rate_kbps) + s.decode_s for s in steps]
    scores = [0.0] + [s.score for s in steps]
    return np.asarray(times, dtype=np.float64), np.asarray(scores, dtype=np.float64)


def lowest_quality(measure: Callable[[int], float], target: float, low: int = 1, high: int = 100) -> int:
    """The lowest quality in ``low..high`` whose ``measure`` (e.g. PSNR in dB) reaches ``target``.

    Bisection, assuming the measure rises with quality (about ``log2(high - low)`` calls);
    returns ``high`` when even ``high`` misses the target (check the measure there).
    """
    if low > high:
        raise InvalidParameterError(f"low must not exceed high, got {low} > {high}.")
    while low < high:
        middle = (low + high) // 2
        if measure(middle) >= target:
            high = middle
        else:
            low = middle + 1
    return high


def progressive_jpeg(image: np.ndarray, quality: int) -> bytes:
    """A progressive JPEG of a uint8 (H, W[, 3]) image: Pillow, ``progressive=True, optimize=True``."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=int(quality), optimize=True, progressive=True)
    return buffer.getvalue()


def jpeg_scan_ends(data: bytes) -> tuple[int, ...]:
    """Byte offsets where each scan of a JPEG file ends (one per scan; progressive files have many).

    ``data[:end] + EOI`` is a decodable prefix holding the scans up to that one. Raises
    :class:`InvalidParameterError` for data that is not a complete JPEG file.
    """
    if data[:2] != bytes((0xFF, _SOI)):
        raise InvalidParameterError("not a JPEG file (no start-of-image marker FF D8).")
    ends, position = [], 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            raise InvalidParameterError(f"JPEG marker expected at byte {position}; the file is damaged.")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker == EOI[1]:
            return tuple(ends)
        elif marker in _STANDALONE:
            position += 2
        elif marker == _SOS:
            position = _entropy_end(data, position + 2 + int.from_bytes(data[position + 2:position + 4], "big"))
            ends.append(position)
        else:
            position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    raise InvalidParameterError("the JPEG file ends without an end-of-image marker (FF D9); pass a whole file.")


def _entropy_end(data: bytes, position: int) -> int:
    """Offset of the first marker after entropy-coded data starting at ``position``."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            raise InvalidParameterError("a JPEG scan runs to the end of the data; pass a whole file.")
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        elif following == 0xFF:
            position += 1
        else:
            return position


def jpeg_scan_prefixes(data: bytes) -> list[bytes]:
    """Every decodable prefix of a JPEG file, one per complete scan, each ending in EOI."""
    return [data[:end] + EOI for end in jpeg_scan_ends(data)]
