"""Encode objects in importance order into one layered bitstream; decode any prefix of it.

Layers, in order: one per object, most important first, then the background. Each pixel is
coded once, by the first layer whose mask covers it, so decoding every layer gives the whole
image. An object layer holds the object's full mask (coded losslessly) and the content of the
pixels no earlier layer covered; the background layer holds the rest.

Undecoded pixels (when only a prefix is decoded, or the file is truncated) are filled with
the image's mean colour, which the header carries; ``DecodedImage.coverage`` says which pixels
are real.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from sdcomp_lite.coding import container
from sdcomp_lite.coding.masks import decode_mask, encode_mask
from sdcomp_lite.coding.transforms import ContentTransform, get_transform
from sdcomp_lite.errors import CorruptBitstreamError, InvalidImageError, SdcompError
from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.types import SceneObject, validate_objects

MASK_LENGTH = struct.Struct(">I")  # an object layer starts with the mask payload's length


@dataclass(frozen=True)
class LayerInfo(container.LayerEntry):
    """One row of the layer table (sizes in bytes), and whether the data holds the layer in full."""

    complete: bool = True


@dataclass(frozen=True)
class EncodedImage:
    """The result of :func:`encode`: the bitstream and what went into it."""

    data: bytes
    width: int
    height: int
    layers: tuple[LayerInfo, ...]
    estimated_bits: tuple[float, ...]  # the entropy models' estimate per layer

    @property
    def num_bytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole file, header included."""
        return 8 * len(self.data) / (self.width * self.height)

    def prefix_bytes(self, layers: int) -> int:
        """Bytes needed to decode the first ``layers`` layers (header and table included)."""
        table = len(self.data) - sum(layer.length for layer in self.layers)
        return table + sum(layer.length for layer in self.layers[:layers])


@dataclass(frozen=True)
class DecodedImage:
    """The result of :func:`decode`.

    Attributes:
        image: uint8 array (H, W, 3) for colour or (H, W) for grey.
        coverage: bool array (H, W), True where a decoded layer supplied the pixel.
        layers_decoded: how many layers (a prefix of the table) were decoded.
        missing: indexes of requested layers that could not be decoded because the data ended.
        layer_of_pixel: int16 array (H, W): the layer that supplied each pixel, -1 if none.
    """

    image: np.ndarray
    coverage: np.ndarray
    layers_decoded: int
    missing: tuple[int, ...]
    layer_of_pixel: np.ndarray


def encode(
    image,
    objects: list[SceneObject],
    quality: int = 50,
    background_quality: int | None = None,
    transform: str | ContentTransform = "dct8",
    progress: bool = False,
) -> EncodedImage:
    """Code ``image`` as object layers in order of decreasing importance, then the background.

    Args:
        image: PIL image, uint8 array (H, W[, C]) or path; see :func:`sdcomp_lite.images.to_uint8_array`.
        objects: the objects; masks are bool (H, W). Ties in importance keep the given order.
        quality: 1 (smallest) to 100 (best) for the object layers.
        background_quality: quality of the background layer (default: ``quality``).
        transform: a registered name or a transform object.
        progress: show a progress bar per layer.
    """
    pixels = to_uint8_array(image)
    height, width, channels = pixels.shape
    validate_objects(objects, height, width)
    background_quality = quality if background_quality is None else background_quality
    for value in (quality, background_quality):
        if not 1 <= int(value) <= 100:
            raise InvalidImageError(f"quality must lie in 1..100, got {value}.")
    coder = get_transform(transform) if isinstance(transform, str) else transform
    ordered = sorted(objects, key=lambda obj: -obj.importance)  # stable: ties keep their order
    covered = np.zeros((height, width), dtype=bool)
    layers: list[tuple[container.LayerEntry, bytes]] = []
    estimates: list[float] = []
    for rank, obj in enumerate(tqdm(ordered, desc="object layers", disable=not progress)):
        mask_payload, mask_bits = encode_mask(obj.mask)
        content, content_bits = coder.encode_region(pixels, obj.mask & ~covered, int(quality))
        covered |= obj.mask
        entry = _entry("object", obj.object_id, obj.label, rank, obj.importance, quality)
        layers.append((entry, MASK_LENGTH.pack(len(mask_payload)) + mask_payload + content))
        estimates.append(mask_bits + content_bits + 8 * MASK_LENGTH.size)
    content, content_bits = coder.encode_region(pixels, ~covered, int(background_quality))
    layers.append((_entry("background", 0, "background", len(ordered), 0.0, background_quality), content))
    estimates.append(content_bits)
    fill = tuple(int(v) for v in np.rint(pixels.reshape(-1, channels).mean(axis=0)))
    header = container.Header(channels, width, height, int(quality), coder.name, (fill * 3)[:3])
    data = container.pack(header, layers)
    return EncodedImage(data, width, height, tuple(_layer_infos(container.unpack(data))), tuple(estimates))


def _entry(kind: str, object_id: int, label: str, rank: int, importance: float, quality: int):
    return container.LayerEntry(0, kind, int(object_id), label, rank, float(importance), int(quality), 0, 0, 0)


def _layer_infos(parsed: container.Container) -> list[LayerInfo]:
    return [LayerInfo(**asdict(e), complete=parsed.layer_bytes(e.index) is not None) for e in parsed.layers]


def inspect(data: bytes) -> list[LayerInfo]:
    """The layer table of a bitstream: names, ranks, importances, offsets, sizes, CRCs.

    ``complete`` is False for layers that a truncated file does not hold in full.
    """
    return _layer_infos(container.unpack(data))


def read_header(data: bytes) -> container.Header:
    """The image-wide header fields (size, channels, quality, transform, fill colour)."""
    return container.unpack(data).header


def decode(data: bytes, layers: int | None = None, transform: ContentTransform | None = None) -> DecodedImage:
    """Decode the first ``layers`` layers (all when None).

    A truncated file decodes every complete layer; the others are listed in ``missing`` and a
    warning says so. A layer whose CRC fails raises :class:`CorruptBitstreamError`, naming how
    many layers before it are intact (decode those with ``layers=`` that number).
    """
    parsed = container.unpack(data)
    header = parsed.header
    requested = len(parsed.layers) if layers is None else int(layers)
    if not 0 <= requested <= len(parsed.layers):
        raise SdcompError(f"layers must lie in 0..{len(parsed.layers)}, got {layers}.")
    coder = transform or get_transform(header.transform)
    planes = np.zeros((header.height, header.width, header.channels))
    layer_of_pixel = np.full((header.height, header.width), -1, dtype=np.int16)
    covered = np.zeros((header.height, header.width), dtype=bool)
    decoded = 0
    for entry in parsed.layers[:requested]:
        payload = parsed.layer_bytes(entry.index)
        if payload is None:
            break
        if zlib.crc32(payload) != entry.crc32:
            raise CorruptBitstreamError(
                f"layer {entry.index} ({entry.label!r}) is corrupt (CRC32 mismatch); "
                f"layers 0..{entry.index - 1} are intact: decode(data, layers={entry.index}) recovers them."
            )
        region = _decode_layer(payload, entry, header, covered, coder, planes)
        layer_of_pixel[region] = entry.index
        covered |= region
        decoded += 1
    missing = tuple(range(decoded, requested))
    if missing:
        warnings.warn(f"the data ends early: layers {list(missing)} are missing.", stacklevel=2)
    image = coder.to_rgb(planes)
    image[~covered] = np.asarray(header.fill[: header.channels], dtype=np.uint8)
    if header.channels == 1:
        image = image[:, :, 0]
    return DecodedImage(image, covered, decoded, missing, layer_of_pixel)


def _decode_layer(payload, entry, header, covered, coder, planes) -> np.ndarray:
    """Decode one layer into ``planes``; return the pixels it supplied."""
    if entry.kind == "background":
        region, content = ~covered, payload
    else:
        if len(payload) < MASK_LENGTH.size:
            raise CorruptBitstreamError(f"layer {entry.index} is too short to hold a mask.")
        (mask_length,) = MASK_LENGTH.unpack_from(payload)
        end = MASK_LENGTH.size + mask_length
        if end > len(payload):
            raise CorruptBitstreamError(f"layer {entry.index}: mask length exceeds the layer.")
        mask = decode_mask(payload[MASK_LENGTH.size : end], header.height, header.width)
        region, content = mask & ~covered, payload[end:]
    values = coder.decode_region(content, region, header.channels, entry.quality)
    planes[region] = values[region]
    return region
