"""Encode objects in importance order into one layered bitstream; decode any prefix of it.

Layers, in order: a *preview* (the whole image at 1/8 resolution and low quality, a few hundred
bytes; on by default, ``preview=False`` drops it), one layer per object (or per group of equally important objects), most
important first, then the *background*. Each pixel is coded once, by the first layer whose mask
covers it, so decoding every layer gives the whole image. An object layer holds the object's
mask (coded losslessly) and the pixels no earlier layer covered; the background holds the rest,
optionally at 1/2, 1/4 or 1/8 resolution.

Task-aware bit allocation: ``quality`` for the objects, ``background_quality`` and
``background_scale`` for the rest; with ``object_quality="by-importance"`` an object layer takes
``round(background_quality + (quality - background_quality) * importance / max importance)``;
with ``object_quality="top-tier"`` the objects above the largest drop in importance (the task's
objects, for a ranking that separates them) take ``quality`` and the rest ``background_quality``.

Fewer layers: ``max_layers=K`` codes the ranked objects as at most K object layers, cutting them
into importance tiers at the K-1 largest drops in importance (:func:`importance_tiers`), so the
per-layer cost stops growing with the object count. ``preview_scale`` (2, 4 or 8) sets the
preview's size; the layer table records each layer's scale, so the format is unchanged.

Undecoded pixels (a prefix, or a truncated file) are filled with the upsampled preview when it
was decoded, otherwise with the image's mean colour (the header carries it).
``DecodedImage.coverage`` says which pixels are real.

Windows and boxes are :class:`~sdcomp_lite.types.Window` s, ``(x0, y0, x1, y1)`` ("XYXY"). An object
layer's window starts on a grid of :data:`WINDOW_ALIGN` pixels, so every coder's blocks line up
with the image's; a layer coder needs only ``name``, ``honours_quality``, ``encode_region`` and
``decode_region`` (:class:`~sdcomp_lite.coding.transforms.ContentTransform`).

Taught in ``notebooks/00_quickstart.ipynb`` and ``notebooks/04_progressive_decoding.ipynb``.
"""

from __future__ import annotations

import math
import numbers
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from sdcomp_lite.coding import container
from sdcomp_lite.coding.fill import align_window, downscale, downscale_region, push_pull_fill, upscale
from sdcomp_lite.coding.layer_table import LayerInfo, layer_infos
from sdcomp_lite.coding.masks import decode_mask_box, encode_mask, read_mask_box
from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM, ContentTransform, get_transform
from sdcomp_lite.errors import CorruptBitstreamError, ImageTooLargeError, InvalidParameterError
from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.types import SceneObject, Window, box_from_mask, validate_objects

PREVIEW_SCALE, PREVIEW_SCALES, DEFAULT_PREVIEW_QUALITY = (container.PREVIEW_SCALE, container.PREVIEW_SCALES,
                                                          container.DEFAULT_PREVIEW_QUALITY)
OBJECT_QUALITY_RULES = container.OBJECT_QUALITY_RULES
WINDOW_ALIGN = 8  # a layer's window starts on this grid, so every coder's blocks line up with the image's
MASK_WORK_FACTOR = 4  # a decoder decodes at most this many times max_pixels mask cells in all
WINDOW_WORK_FACTOR = 32  # ... and object-layer windows (full resolution) of at most this many times max_pixels


@dataclass(frozen=True)
class EncodedImage:
    """The result of :func:`encode`: the bitstream and what went into it."""

    data: bytes
    width: int
    height: int
    transform: str
    layers: tuple[LayerInfo, ...]
    estimated_bits: tuple[float, ...]  # the coder's estimate per layer (real sizes for image codecs)

    @property
    def num_bytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole file, header included."""
        return 8 * len(self.data) / (self.width * self.height)

    @property
    def table_bytes(self) -> int:
        """Bytes of the header and layer table (what every prefix carries)."""
        return len(self.data) - sum(layer.length for layer in self.layers)

    def prefix_bytes(self, layers: int) -> int:
        """Bytes needed to decode the first ``layers`` layers (header and table included)."""
        return self.table_bytes + sum(layer.length for layer in self.layers[:layers])


@dataclass(frozen=True)
class DecodedImage:
    """The result of :func:`decode`, or one step of :func:`decode_progressive`.

    Attributes:
        image: uint8 array (H, W, 3) for colour or (H, W) for grey.
        coverage: bool array (H, W), True where a decoded object or background layer supplied the pixel.
        layers_decoded: how many layers (a prefix of the table) were decoded.
        missing: indexes of requested layers that could not be decoded because the data ended.
        layer_of_pixel: int32 array (H, W): the layer that supplied each pixel, -1 if none.
    """

    image: np.ndarray
    coverage: np.ndarray
    layers_decoded: int
    missing: tuple[int, ...]
    layer_of_pixel: np.ndarray


def _whole_number(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a whole number in {low}..{high}, got {value!r}.")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidParameterError(f"{name} must be a whole number in {low}..{high}, got {value!r}.")
    if not low <= int(value) <= high:
        raise InvalidParameterError(f"{name} must lie in {low}..{high}, got {value}.")
    return int(value)


def resolve_transform(transform: str | ContentTransform) -> ContentTransform:
    """A transform object from a name or an object; checks it has what the codec needs and that its
    header name fits the format."""
    coder = get_transform(transform) if isinstance(transform, str) else transform
    name = getattr(coder, "name", None)
    if not isinstance(name, str) or not name or len(name) > container.MAX_TRANSFORM_NAME or not name.isascii():
        raise InvalidParameterError(
            f"a transform's name must be 1..{container.MAX_TRANSFORM_NAME} ASCII characters, got {name!r}."
        )
    missing = [attribute for attribute in ("honours_quality", "encode_region", "decode_region")
               if not hasattr(coder, attribute)]
    if missing or not isinstance(coder.honours_quality, bool):
        raise InvalidParameterError(
            f"the transform {name!r} lacks {', '.join(missing) or 'a bool honours_quality'}; a layer coder needs "
            "name, honours_quality (bool), encode_region and decode_region (see sdcomp_lite.coding.transforms)."
        )
    return coder


def encode(
    image,
    objects: list[SceneObject],
    quality: int = 50,
    background_quality: int | None = None,
    background_scale: int = 1,
    transform: str | ContentTransform = DEFAULT_TRANSFORM,
    preview: bool = True,
    preview_quality: int = DEFAULT_PREVIEW_QUALITY,
    object_quality: str = "flat",
    group_equal: bool = False,
    mask_scale: int = container.DEFAULT_MASK_SCALE,
    progress: bool = False,
    preview_scale: int = PREVIEW_SCALE,
    max_layers: int | None = None,
    preview_skips_first_layer: bool = False,
) -> EncodedImage:
    """Code ``image`` as object layers in order of decreasing importance, then the background.

    Args:
        image: PIL image, uint8 array (H, W[, C]) or path; see :func:`sdcomp_lite.images.to_uint8_array`.
        objects: the objects; masks are bool (H, W). Ties in importance keep the given order.
        quality: 1 (smallest) to 100 (best) for the object layers.
        background_quality: quality of the background layer (default: ``quality``).
        background_scale: code the background at 1/1, 1/2, 1/4 or 1/8 resolution.
        transform: a registered name (``"avif"``, ``"jpegxl"``, ``"dct8"``, ...) or a transform object.
        preview: start with a preview layer (whole image at 1/8 resolution, ``preview_quality``; a few
            hundred bytes). On by default: for person segmentation on photographs outside the
            repository, the first object layer plus the preview scored 0.04-0.08 higher mask IoU than
            the same layer on a flat fill, for 5-10% more bytes (``benchmarks/README.md``).
        object_quality: ``"flat"`` (every object at ``quality``), ``"by-importance"`` or ``"top-tier"``
            (see the module docstring).
        group_equal: code objects of equal importance as one layer (object-group coding).
        mask_scale: code each object's mask on a grid of 1, 2, 4, 8, 16, 32 or 64 pixel cells (a cell
            belongs to the object if any of its pixels does): coarser masks cost fewer bytes and give
            blockier, block-aligned layer regions. The layer table's ``scale`` of an object layer records
            it. 8 by default: it halves what objects-as-layers cost over one layer (benchmarks/rd_codec);
            64 (AV1's superblock: no AVIF block straddles two layers) cuts that by about a third again
            (benchmarks/results/structure_ablation.md) but makes each layer carry more background around its
            object, which costs a task prefix bytes; ``mask_scale=1`` keeps exact object shapes.
        progress: show a progress bar per layer.
        preview_scale: the preview's downscale factor, 2, 4 or 8 (the layer table records it, so a
            decoder needs nothing else): a larger preview gives a prefix more of the scene for more bytes.
        max_layers: at most this many object layers (None: no cap): the ranked objects (after
            ``group_equal``) are cut into importance tiers at the ``max_layers - 1`` largest drops in
            importance (:func:`importance_tiers`), one layer per tier.
        preview_skips_first_layer: the preview codes a smooth fill (push-pull) where the first object layer
            covers every pixel of a preview pixel, instead of those pixels: the next layer codes them anyway,
            so only a prefix of the preview alone loses them. Decoders need nothing new.
    """
    pixels = to_uint8_array(image)
    height, width, channels = pixels.shape
    quality = _whole_number(quality, "quality", 1, 100)
    background_quality = quality if background_quality is None else _whole_number(
        background_quality, "background_quality", 1, 100)
    preview_quality = _whole_number(preview_quality, "preview_quality", 1, 100)
    if preview_scale not in PREVIEW_SCALES or isinstance(preview_scale, bool):
        raise InvalidParameterError(f"preview_scale must be one of {PREVIEW_SCALES}, got {preview_scale!r}.")
    if max_layers is not None:
        max_layers = _whole_number(max_layers, "max_layers", 1, container.MAX_LAYERS - 2)
    if background_scale not in container.SCALES or isinstance(background_scale, bool):
        raise InvalidParameterError(f"background_scale must be one of {container.SCALES}, got {background_scale!r}.")
    if mask_scale not in container.MASK_SCALES or isinstance(mask_scale, bool):
        raise InvalidParameterError(f"mask_scale must be one of {container.MASK_SCALES}, got {mask_scale!r}.")
    if object_quality not in OBJECT_QUALITY_RULES:
        raise InvalidParameterError(f"object_quality must be one of {OBJECT_QUALITY_RULES}, got {object_quality!r}.")
    validate_objects(objects, height, width)
    coder = resolve_transform(transform)
    groups = _layer_groups(objects, group_equal, max_layers)
    first_tier = {id(obj) for obj in top_tier(objects)}
    layers: list[tuple[container.LayerEntry, bytes]] = []
    estimates: list[float] = []
    if preview:
        small = downscale(pixels, preview_scale)
        if preview_skips_first_layer and groups:
            coarse = downscale_region(np.logical_or.reduce([np.asarray(obj.mask) for obj in groups[0]]), mask_scale)
            first = window_mask(Window(0, 0, coarse.shape[1], coarse.shape[0]), coarse, mask_scale,
                                Window(0, 0, width, height))  # the pixels of the first layer's cells
            small = push_pull_fill(small, downscale_region(~first, preview_scale))
        content, bits = coder.encode_region(small, np.ones(small.shape[:2], bool), preview_quality)
        layers.append((_entry("preview", "preview", quality=preview_quality, scale=preview_scale), content))
        estimates.append(bits)
    covered = np.zeros((height, width), dtype=bool)
    most_important = max((abs(float(obj.importance)) for obj in objects), default=1.0) or 1.0
    for group in tqdm(groups, desc="object layers", disable=not progress):
        coarse = downscale_region(np.logical_or.reduce([np.asarray(obj.mask) for obj in group]), mask_scale)
        coarse_box = Window(*(int(v) for v in box_from_mask(coarse))) if coarse.any() else None
        window = layer_window(coarse_box, mask_scale, height, width)
        layer_quality = quality
        if object_quality == "by-importance":
            share = min(max(float(group[0].importance) / most_important, 0.0), 1.0)
            layer_quality = int(round(background_quality + (quality - background_quality) * share))
        elif object_quality == "top-tier":
            layer_quality = quality if id(group[0]) in first_tier else background_quality
        mask_payload, mask_bits = encode_mask(coarse)
        content, content_bits = b"", 0.0
        if window is not None:
            mask = window_mask(coarse_box, coarse[coarse_box.slices], mask_scale, window)
            content, content_bits = coder.encode_region(pixels[window.slices], mask & ~covered[window.slices],
                                                        layer_quality)
            covered[window.slices] |= mask
        entry = _entry("object", _cut_label(layer_label(group)), object_id=group[0].object_id, importance=group[0].importance,
                       quality=layer_quality, scale=mask_scale)
        layers.append((entry, object_payload(mask_payload, content)))
        estimates.append(mask_bits + content_bits + 8 * len(container.varint(len(mask_payload))))
    region = ~covered
    content, content_bits = coder.encode_region(downscale(pixels, background_scale),
                                                downscale_region(region, background_scale), background_quality)
    layers.append((_entry("background", "background", quality=background_quality, scale=background_scale), content))
    estimates.append(content_bits)
    fill = tuple(int(v) for v in np.rint(pixels.reshape(-1, channels).mean(axis=0)))
    header = container.Header(channels, width, height, coder.name, (fill * 3)[:3])
    data = container.pack(header, layers)
    parsed = container.unpack(data, max_pixels=height * width)
    return EncodedImage(data, width, height, coder.name, layer_infos(parsed), tuple(estimates))


def layer_window(coarse_box: Window | None, scale: int, height: int, width: int) -> Window | None:
    """The full-resolution window (XYXY) an object layer codes: its mask's box (XYXY on the mask's
    ``scale``-pixel grid) widened to multiples of :data:`WINDOW_ALIGN` pixels and clipped to the image.

    Encoder and decoder both work inside it, so a layer's work is proportional to its box.
    """
    if coarse_box is None:
        return None
    fine = Window(coarse_box.x0 * scale, coarse_box.y0 * scale, min(width, coarse_box.x1 * scale),
                  min(height, coarse_box.y1 * scale))
    return align_window(fine, WINDOW_ALIGN, height, width)


def window_mask(coarse_box: Window, crop: np.ndarray, scale: int, window: Window) -> np.ndarray:
    """The layer's mask inside its ``window`` (bool (h, w)), from the coarse ``crop`` of its box (both XYXY)."""
    mask = np.zeros((window.height, window.width), dtype=bool)
    fine = np.repeat(np.repeat(crop, scale, axis=0), scale, axis=1) if scale > 1 else crop
    oy, ox = coarse_box.y0 * scale - window.y0, coarse_box.x0 * scale - window.x0
    fine = fine[: mask.shape[0] - oy, : mask.shape[1] - ox]
    mask[oy : oy + fine.shape[0], ox : ox + fine.shape[1]] = fine
    return mask


def importance_tiers(importances: list[float], count: int) -> list[int]:
    """The tier (0 = most important) of each entry of ``importances`` (sorted, decreasing), in at most
    ``count`` tiers: cut at the ``count - 1`` largest drops between neighbours (equal drops: the
    earlier cut first, so the most important entries keep tiers of their own; drops equal to 9
    decimals are equal, so float noise never decides)."""
    drops = sorted(range(len(importances) - 1), key=lambda i: (-round(importances[i] - importances[i + 1], 9), i))
    cuts = set(drops[: max(count - 1, 0)])
    tiers, tier = [], 0
    for i in range(len(importances)):
        tiers.append(tier)
        tier += i in cuts
    return tiers


def _ranked(objects: list[SceneObject]) -> list[SceneObject]:
    return sorted(objects, key=lambda obj: -float(obj.importance))  # stable: ties keep their order


def top_tier(objects: list[SceneObject]) -> list[SceneObject]:
    """The objects above the largest drop in importance (all of them when every importance is equal), most
    important first: the task's objects, for ``object_quality="top-tier"`` and for region-aware anchors."""
    ordered = _ranked(objects)
    importances = [float(obj.importance) for obj in ordered]
    if len(set(importances)) <= 1:
        return ordered
    return [obj for obj, tier in zip(ordered, importance_tiers(importances, 2), strict=True) if tier == 0]


def _layer_groups(objects: list[SceneObject], group_equal: bool, max_layers: int | None = None) -> list[list[SceneObject]]:
    groups: list[list[SceneObject]] = []
    for obj in _ranked(objects):
        if group_equal and groups and float(groups[-1][0].importance) == float(obj.importance):
            groups[-1].append(obj)
        else:
            groups.append([obj])
    if max_layers is not None and len(groups) > max_layers:
        tiers = importance_tiers([float(group[0].importance) for group in groups], max_layers)
        merged: list[list[SceneObject]] = [[] for _ in range(tiers[-1] + 1)]
        for group, tier in zip(groups, tiers, strict=True):
            merged[tier] += group
        groups = merged
    if len(groups) + 2 > container.MAX_LAYERS:
        raise InvalidParameterError(f"{len(groups)} object layers do not fit; at most {container.MAX_LAYERS - 2}.")
    return groups


def layer_label(group: list[SceneObject]) -> str:
    """The label of a layer holding ``group``: the objects' labels joined by " + " in order of first appearance,
    a label that repeats counted once ("person x3 + chair"), so a tier of many like objects keeps a short row."""
    counts: dict[str, int] = {}
    for obj in group:
        counts[obj.label] = counts.get(obj.label, 0) + 1
    return " + ".join(label if count == 1 else f"{label} x{count}" for label, count in counts.items())


def _cut_label(label: str) -> str:
    encoded = label.encode("utf-8")
    if len(encoded) <= container.MAX_LABEL_BYTES:
        return label
    return encoded[: container.MAX_LABEL_BYTES - 3].decode("utf-8", "ignore") + "..."


def _entry(kind: str, label: str, *, quality: int, scale: int, object_id: int = 0,
           importance: float = 0.0) -> container.LayerEntry:
    """A row for :func:`container.pack` (index, rank, offset, length and CRC are the writer's)."""
    return container.LayerEntry(index=0, kind=kind, object_id=int(object_id), label=label, rank=0,
                                importance=float(importance), quality=int(quality), scale=scale, offset=0, length=0,
                                crc32=0)


class _Canvas:
    """The decoder's state: pixels so far, which layer supplied each, and the fill for the rest."""

    def __init__(self, header: container.Header, coder: ContentTransform, max_pixels: int) -> None:
        self.header, self.coder = header, coder
        self.max_pixels = max_pixels
        shape = (header.height, header.width)
        self.pixels = np.zeros((*shape, header.channels), np.uint8)
        self.covered = np.zeros(shape, bool)
        self.layer_of_pixel = np.full(shape, -1, np.int32)
        self.fill: np.ndarray | None = None  # the upsampled preview, once decoded

    def add(self, entry: container.LayerEntry, payload: bytes) -> None:
        """Decode one layer into the canvas."""
        header, channels = self.header, self.header.channels
        if entry.kind == "preview":
            small_shape = (-(-header.height // entry.scale), -(-header.width // entry.scale))
            small = self.coder.decode_region(payload, np.ones(small_shape, bool), channels, entry.quality)
            self.fill = upscale(small, entry.scale, header.height, header.width)
            return
        if entry.kind == "background":
            region, content = ~self.covered, payload
            small_region = downscale_region(region, entry.scale)
            small = self.coder.decode_region(content, small_region, channels, entry.quality)
            if entry.scale > 1:
                small = upscale(push_pull_fill(small, small_region), entry.scale, header.height, header.width)
            self._paste(small, region, entry.index, Window(0, 0, header.width, header.height))
            return
        mask_payload, content = split_object_layer(payload, entry.index)
        height, width, scale = header.height, header.width, entry.scale
        coarse_box, crop = decode_mask_box(mask_payload, -(-height // scale), -(-width // scale))
        window = layer_window(coarse_box, scale, height, width)
        if window is None:
            return  # an empty object: nothing to decode, nothing covered
        region = window_mask(coarse_box, crop, scale, window) & ~self.covered[window.slices]
        values = self.coder.decode_region(content, region, channels, entry.quality)
        self._paste(values, region, entry.index, window)

    def check_work_budget(self, parsed: container.Container, requested: int) -> None:
        """Refuse, before any layer is decoded, a file whose first ``requested`` layers would take more work than
        the budget allows: their masks' boxes cover more than :data:`MASK_WORK_FACTOR` x ``max_pixels`` mask cells,
        or their windows more than :data:`WINDOW_WORK_FACTOR` x ``max_pixels`` pixels. The layers are read as
        :meth:`add` reads them; at the first one that is missing, fails its CRC or holds an impossible mask box the
        check stops, and decoding stops there with that layer's own error."""
        cells_left = MASK_WORK_FACTOR * self.max_pixels
        pixels_left = WINDOW_WORK_FACTOR * self.max_pixels
        for entry in parsed.layers[:requested]:
            payload = parsed.layer_bytes(entry.index)
            if payload is None or zlib.crc32(payload) != entry.crc32:
                return
            if entry.kind != "object":
                continue
            box = self._mask_box(payload, entry.scale)
            if box is False:
                return
            if box is None:
                continue
            window = layer_window(box, entry.scale, self.header.height, self.header.width)
            cells_left -= box.width * box.height
            pixels_left -= window.width * window.height
            if cells_left < 0 or pixels_left < 0:
                what = (f"masks cover more than {MASK_WORK_FACTOR}" if cells_left < 0
                        else f"layers' windows cover more than {WINDOW_WORK_FACTOR}")
                raise ImageTooLargeError(
                    f"layer {entry.index}: the {what} times the pixel budget of {self.max_pixels} pixels; if you trust "
                    "the file, decode it with a larger max_pixels."
                )

    def _mask_box(self, payload: bytes, scale: int) -> Window | None | bool:
        """An object layer's mask box on its ``scale`` grid (None: an empty mask; False: a box :meth:`add` refuses),
        read and checked as :meth:`add` does, without decoding the mask."""
        try:
            mask_payload, _ = split_object_layer(payload, 0)
            return read_mask_box(mask_payload, -(-self.header.height // scale), -(-self.header.width // scale))
        except CorruptBitstreamError:
            return False

    def _paste(self, values: np.ndarray, region: np.ndarray, index: int, window: Window) -> None:
        if values.shape != (window.height, window.width, self.header.channels) or values.dtype != np.uint8:
            raise CorruptBitstreamError(f"layer {index} decodes to {values.shape} {values.dtype}, not its window.")
        self.pixels[window.slices][region] = values[region]
        self.layer_of_pixel[window.slices][region] = index
        self.covered[window.slices] |= region

    def snapshot(self, decoded: int, missing: tuple[int, ...]) -> DecodedImage:
        """The image so far, undecoded pixels filled (preview, else mean colour)."""
        image = self.pixels.copy()
        uncovered = ~self.covered
        if self.fill is not None:
            image[uncovered] = self.fill[uncovered]
        else:
            image[uncovered] = np.asarray(self.header.fill[: self.header.channels], dtype=np.uint8)
        if self.header.channels == 1:
            image = image[:, :, 0]
        return DecodedImage(image, self.covered.copy(), decoded, missing, self.layer_of_pixel.copy())


def object_payload(mask_payload: bytes, content: bytes) -> bytes:
    """An object layer's payload: the mask payload's length (a :func:`~sdcomp_lite.coding.container.varint`), the
    mask payload, then the content."""
    return container.varint(len(mask_payload)) + mask_payload + content


def split_object_layer(payload: bytes, index: int) -> tuple[bytes, bytes]:
    """An object layer's payload cut into its mask payload and its content (:func:`object_payload`'s parts);
    :class:`CorruptBitstreamError` naming layer ``index`` if the mask length is not a varint or does not fit."""
    read = container.read_varint(payload, 0)
    if read is None:
        raise CorruptBitstreamError(f"layer {index} does not start with a mask length (a shortest varint of at most "
                                    "32 bits).")
    mask_length, start = read
    end = start + mask_length
    if end > len(payload):
        raise CorruptBitstreamError(f"layer {index}: its mask length exceeds the layer.")
    return payload[start:end], payload[end:]


def _decoder(data: bytes, transform: ContentTransform | None, max_pixels: int):
    max_pixels = _whole_number(max_pixels, "max_pixels", 1, container.MAX_SIDE**2)
    parsed = container.unpack(data, max_pixels)
    if transform is None:
        coder = get_transform(parsed.header.transform)
    else:
        coder = resolve_transform(transform)
        if coder.name != parsed.header.transform:
            raise InvalidParameterError(
                f"this bitstream was coded with {parsed.header.transform!r}, but the transform given is "
                f"{coder.name!r}; pass the same transform (or none, for a registered one)."
            )
    return parsed, coder


def _layers(parsed: container.Container, canvas: _Canvas, requested: int) -> Iterator[int]:
    """Decode layers one by one; yields how many are done. Stops early where the data ends."""
    canvas.check_work_budget(parsed, requested)
    for entry in parsed.layers[:requested]:
        payload = parsed.layer_bytes(entry.index)
        if payload is None:
            return
        if zlib.crc32(payload) != entry.crc32:
            raise CorruptBitstreamError(
                f"layer {entry.index} ({entry.label!r}) is corrupt (CRC32 mismatch); "
                f"layers 0..{entry.index - 1} are intact: decode(data, layers={entry.index}) recovers them."
            )
        canvas.add(entry, payload)
        yield entry.index + 1


def decode_progressive(
    data: bytes, transform: ContentTransform | None = None, max_pixels: int = container.DEFAULT_MAX_PIXELS
) -> Iterator[DecodedImage]:
    """Decode every layer once, yielding the image after each: step k shows the first k layers.

    The work is linear in the number of layers (each is decoded once). A truncated file yields
    its complete layers, then warns which are missing. Errors as :func:`decode` (a file over the work
    budget raises before the first step).
    """
    parsed, coder = _decoder(data, transform, max_pixels)
    canvas = _Canvas(parsed.header, coder, max_pixels)
    done = 0
    with _memory_guard(parsed.header):
        for done in _layers(parsed, canvas, len(parsed.layers)):
            yield canvas.snapshot(done, ())
    if done < len(parsed.layers):
        warnings.warn(f"the data ends early: layers {list(range(done, len(parsed.layers)))} are missing.", stacklevel=2)


def decode(
    data: bytes,
    layers: int | None = None,
    transform: ContentTransform | None = None,
    max_pixels: int = container.DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Decode the first ``layers`` layers (all when None).

    A truncated file decodes every complete layer; the others are listed in ``missing`` and a
    warning says so. A layer whose CRC fails raises :class:`CorruptBitstreamError`, naming how
    many layers before it are intact (decode those with ``layers=`` that number). A file whose
    image has more than ``max_pixels`` pixels, or whose requested layers' masks and windows would
    take more work than that budget allows (:data:`MASK_WORK_FACTOR`, :data:`WINDOW_WORK_FACTOR`),
    raises :class:`ImageTooLargeError` before any layer is decoded.
    ``data`` is bytes-like (``encoded.data``, a file's bytes); anything else, an ``EncodedImage`` included,
    raises :class:`InvalidParameterError` saying what to pass.
    """
    parsed, coder = _decoder(data, transform, max_pixels)
    requested = len(parsed.layers) if layers is None else _whole_number(layers, "layers", 0, len(parsed.layers))
    canvas = _Canvas(parsed.header, coder, max_pixels)
    with _memory_guard(parsed.header):
        done = sum(1 for _ in _layers(parsed, canvas, requested))  # layers decode in order, so a count
        missing = tuple(range(done, requested))
        if missing:
            warnings.warn(f"the data ends early: layers {list(missing)} are missing.", stacklevel=2)
        return canvas.snapshot(done, missing)


class _memory_guard:
    """Turn a MemoryError while decoding into :class:`ImageTooLargeError` with advice."""

    def __init__(self, header: container.Header) -> None:
        self.header = header

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if kind is not None and issubclass(kind, MemoryError):
            pixels = self.header.width * self.header.height
            raise ImageTooLargeError(
                f"out of memory decoding a {self.header.width}x{self.header.height} image ({pixels} pixels, "
                f"about {math.ceil(pixels * 12 / 2**20)} MiB of working memory); free memory or lower max_pixels."
            ) from error
        return False
