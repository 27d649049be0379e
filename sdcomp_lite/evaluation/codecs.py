"""Ordinary image codecs to compare against (the *anchors*), each over a quality sweep.

JPEG and WebP come from Pillow; AVIF, JPEG 2000 and JPEG XL from imagecodecs; HEVC intra from
ffmpeg's x265 (the Debian package ``ffmpeg``). Every codec takes a uint8 image (H, W, 3) and a
quality and returns the real file bytes, so rates are honest. The registry :data:`REFERENCE_CODECS`
names them; ``REFERENCE_CODECS.available()`` lists them with a line each.

Two anchors are built on x265:

``hevc``
    one intra frame at constant QP ``51 - quality / 2`` (no adaptive quantisation).
``roi-hevc``
    what a practitioner would use instead of SDComp: x265 told where the objects are. The
    object boxes (the same objects sdcomp-lite codes) become regions of interest through
    ffmpeg's ``addroi`` filter. The objects are coded at x265's CRF ``51 - quality / 2`` (the QP
    ``hevc`` uses at that quality) and everything else ``d`` QP coarser: the frame's CRF is
    ``min(51, object CRF + d)`` and each box gets ``qoffset = -d / 51`` (ffmpeg multiplies
    ``qoffset`` by 51). One variant per background offset ``d`` in :data:`ROI_BACKGROUND_OFFSETS`
    (``bg=+6`` ...). x265 honours ROI side data only with adaptive quantisation on, and ignores it
    in constant-QP mode, so this anchor runs in CRF mode with ``aq-mode=2`` (x265's default), and
    with ``qg-size=16`` so that x265's quantisation groups match the 16x16 blocks of ffmpeg's ROI
    map (x265's default of 32 smears each box over its neighbours).

Two anchors are what a practitioner does without SDComp: *smooth what the task does not need,
then code the whole image with an ordinary codec* (the idea of prompt-guided prefiltering):

``prefilter-avif``, ``prefilter-hevc``
    everything outside the task's regions (object masks, or boxes as a fallback) is replaced by a
    Gaussian blur of the image (scipy's :func:`~scipy.ndimage.gaussian_filter`, standard deviation
    ``sigma`` pixels, per channel), with a feathered edge: the weight of the original falls linearly
    from 1 at a region's edge to 0 at :data:`PREFILTER_FEATHER` pixels outside it (Euclidean distance,
    :func:`~scipy.ndimage.distance_transform_edt`). Pixels inside a region are left exactly as they
    are. The result is coded whole: AVIF (libavif through imagecodecs) at the ``avif`` levels, or
    HEVC intra at ``hevc``'s constant QP. One variant per strength in :data:`PREFILTER_SIGMAS`
    (``sigma=2`` ...). The file is the codec's file alone (the decoder needs no mask). With no
    regions the whole image is blurred. ``top=k`` keeps only the first ``k`` regions (the caller
    passes them in the task's ranking order).

Both drop x265's version SEI (``info=0``): it is about 2.2 kB of text ("x265 (build 199) - 3.5
...") that carries no picture and would flatter every codec compared with HEVC. 4:2:0 needs even
sizes, so an odd width or height is padded by one pixel; one leading byte records which, and that
byte counts in the rate like every other byte of the file.

Taught in notebooks/04_progressive_decoding.ipynb and notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import functools
import io
import math
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sdcomp_lite.errors import BackendUnavailableError, InvalidObjectError, InvalidParameterError, UnknownBackendError
from sdcomp_lite.registry import Registry, lazy  # noqa: F401 (lazy: an anchor in its own module is one registry line)
from sdcomp_lite.types import box_mask

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1) in pixels, x1 and y1 exclusive
Region = Box | np.ndarray  # a box, or a bool mask (H, W)
PILLOW_QUALITIES = (5, 10, 20, 30, 45, 60, 75, 90)
LEVELS = (2, 5, 10, 25, 40, 55, 70, 85)  # AVIF, JPEG XL and both HEVC anchors; low enough for tasks to fail
ROI_BACKGROUND_OFFSETS = (6, 12, 18, 24)  # QP; +6 doubles x265's quantiser step
PREFILTER_SIGMAS = (2, 4, 8)  # pixels: the Gaussian blur outside the task's regions, one variant each
PREFILTER_FEATHER = 4  # pixels: the original's weight falls from 1 to 0 over this distance outside a region
FFMPEG_HINT = "apt-get install ffmpeg (Debian/Ubuntu; any ffmpeg >= 4.2 built with libx265 works)"


@dataclass(frozen=True)
class ReferenceCodec:
    """A named codec with its quality sweep (higher quality value = larger file).

    ``encode(image, quality, **options)`` returns the file's bytes; ``decode(data)`` the uint8
    image. ``variants`` maps each setting's name to the keyword options it passes to ``encode``
    (one unnamed variant for most codecs). A codec that ``uses_regions`` also receives the object
    regions as ``regions``: a list of ``(x0, y0, x1, y1)`` pixel boxes, or, for a codec with
    ``region_masks``, bool masks (H, W) (it takes boxes too, as a fallback).
    """

    name: str
    encode: Callable[..., bytes]
    decode: Callable[[bytes], np.ndarray]
    qualities: tuple[int, ...]
    package: str
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"": {}})
    uses_regions: bool = False
    region_masks: bool = False  # its regions are best given as object masks (bool (H, W)) rather than boxes

    def round_trip(self, image: np.ndarray, quality: int, variant: str | None = None,
                   regions: Sequence[Region] = ()) -> tuple[bytes, np.ndarray]:
        """Encode then decode; returns the file bytes and the decoded uint8 (H, W, 3) image.

        ``variant``: one of ``variants`` (default: the first); ``regions``: the object boxes (or
        masks, see the class docstring), used only by codecs that ``uses_regions``.
        """
        variant = next(iter(self.variants)) if variant is None else variant
        if variant not in self.variants:
            raise UnknownBackendError(f"{self.name} has no variant {variant!r}; choose one of: {', '.join(self.variants)}")
        options = dict(self.variants[variant])
        if self.uses_regions:
            options["regions"] = list(regions)
        data = self.encode(image, quality, **options)
        return data, self.decode(data)[:, :, :3]


def _pillow(format_name: str, **options) -> tuple[Callable, Callable]:
    def encode(image: np.ndarray, quality: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format_name, quality=int(quality), **options)
        return buffer.getvalue()

    def decode(data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as picture:
            return np.asarray(picture.convert("RGB"))

    return encode, decode


def _imagecodecs(codec: str, check: bool = True) -> tuple[Callable, Callable]:
    import imagecodecs

    if check and not getattr(imagecodecs, codec.upper()).available:
        raise BackendUnavailableError(f"imagecodecs was built without {codec}; reinstall imagecodecs from PyPI.")
    encode_function = getattr(imagecodecs, f"{codec}_encode")
    decode_function = getattr(imagecodecs, f"{codec}_decode")

    def encode(image: np.ndarray, quality: int) -> bytes:
        return bytes(encode_function(image, level=int(quality)))

    def decode(data: bytes) -> np.ndarray:
        return np.asarray(decode_function(data))

    return encode, decode


@functools.lru_cache(maxsize=1)
def _ffmpeg_filters() -> str:
    result = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, check=False)
    return result.stdout.decode(errors="replace")


def _check_ffmpeg(need_addroi: bool = False) -> None:
    if shutil.which("ffmpeg") is None:
        raise BackendUnavailableError(f"HEVC anchors need the ffmpeg program with libx265: {FFMPEG_HINT}")
    if need_addroi and " addroi " not in _ffmpeg_filters():
        raise BackendUnavailableError(f"roi-hevc needs ffmpeg's addroi filter (ffmpeg >= 4.2): {FFMPEG_HINT}")


def _ffmpeg(arguments: list[str], data: bytes) -> bytes:
    try:
        result = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *arguments], input=data,
                                capture_output=True, check=False)
    except FileNotFoundError:
        raise BackendUnavailableError(f"HEVC anchors need the ffmpeg program with libx265: {FFMPEG_HINT}") from None
    if result.returncode != 0:
        raise BackendUnavailableError(f"ffmpeg failed: {result.stderr.decode(errors='replace')[-300:]}")
    return result.stdout


def object_qp(quality: int) -> int:
    """x265's QP (``hevc``) or CRF (the objects of ``roi-hevc``) for a quality 1..100."""
    return int(round(51 - quality / 2))


def _roi_filters(regions: Sequence[Box], height: int, width: int, offset: int) -> list[str]:
    """One ``addroi`` per box that is at least a pixel in size; ``qoffset = -offset / 51``."""
    filters = []
    for x0, y0, x1, y1 in regions:
        left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
        right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
        if right > left and bottom > top and offset:
            filters.append(f"addroi=x={left}:y={top}:w={right - left}:h={bottom - top}:qoffset=-{offset}/51")
    return filters


def _x265_encode(image: np.ndarray, quality: int, background_offset: int | None = None,
                 regions: Sequence[Box] = ()) -> bytes:
    """One intra frame, 4:2:0, no version SEI, after one byte of odd-size flags (bit 0: height, bit 1: width).

    ``background_offset`` None: constant QP. Otherwise CRF with the boxes ``background_offset`` QP
    finer than the rest (see the module docstring).
    """
    height, width = image.shape[:2]
    even = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")  # 4:2:0 needs even sizes
    qp = object_qp(quality)
    filters: list[str] = []
    if background_offset is None:
        params = f"qp={qp}"
    else:
        frame_crf = min(51, qp + background_offset)
        params = f"crf={frame_crf}:aq-mode=2:qg-size=16"  # see the module docstring
        filters = _roi_filters(regions, height, width, frame_crf - qp)
    arguments = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{even.shape[1]}x{even.shape[0]}", "-i", "-"]
    if filters:
        arguments += ["-vf", ",".join(filters)]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "frame.hevc"
        _ffmpeg([*arguments, "-frames:v", "1", "-c:v", "libx265", "-pix_fmt", "yuv420p",
                 "-x265-params", f"{params}:keyint=1:info=0:log-level=error", "-f", "hevc", str(out)], even.tobytes())
        stream = out.read_bytes()
    return bytes([(height % 2) | (width % 2) << 1]) + stream


def _x265_decode(data: bytes) -> np.ndarray:
    """The frame (ffmpeg writes it as a PPM, whose header carries the size), less the padding."""
    ppm = _ffmpeg(["-f", "hevc", "-i", "-", "-frames:v", "1", "-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "-"],
                  data[1:])
    with Image.open(io.BytesIO(ppm)) as picture:
        frame = np.asarray(picture.convert("RGB"))
    return frame[: frame.shape[0] - (data[0] & 1), : frame.shape[1] - ((data[0] >> 1) & 1)]


def _hevc(check: bool = True) -> tuple[Callable, Callable]:
    if check:
        _check_ffmpeg()
    return _x265_encode, _x265_decode


def _roi_hevc(check: bool = True) -> ReferenceCodec:
    if check:
        _check_ffmpeg(need_addroi=True)
    variants = {f"bg=+{offset}": {"background_offset": offset} for offset in ROI_BACKGROUND_OFFSETS}
    return ReferenceCodec("roi-hevc", _x265_encode, _x265_decode, LEVELS, "ffmpeg (x265, addroi)",
                          variants, uses_regions=True)


def region_weight(regions: Sequence[Region], height: int, width: int, feather: float = PREFILTER_FEATHER) -> np.ndarray:
    """How much of the original each pixel keeps: float32 (H, W) in [0, 1], exactly 1 inside a region.

    ``regions``: boxes ``(x0, y0, x1, y1)`` or bool masks (H, W). Outside, the weight falls linearly
    with the Euclidean distance to the nearest region pixel, reaching 0 at ``feather`` pixels.
    """
    from scipy.ndimage import distance_transform_edt

    inside = np.zeros((height, width), bool)
    for region in regions:
        if isinstance(region, np.ndarray) and region.ndim == 2:
            if region.shape != (height, width):
                raise InvalidObjectError(f"a region mask is {region.shape[0]}x{region.shape[1]} but the image is "
                                         f"{height}x{width}; pass masks of the image's size (or boxes)")
            inside |= region.astype(bool)
        elif len(region) == 4:
            inside |= box_mask(tuple(float(v) for v in region), height, width)
        else:
            raise InvalidObjectError(f"a region must be an (x0, y0, x1, y1) box or a bool (H, W) mask, not {region!r:.60}")
    if not inside.any():
        return np.zeros((height, width), np.float32)
    if feather <= 0:
        return inside.astype(np.float32)
    distance = distance_transform_edt(~inside)
    return np.clip(1.0 - distance / feather, 0.0, 1.0).astype(np.float32)


def prefilter(image: np.ndarray, regions: Sequence[Region], sigma: float, feather: float = PREFILTER_FEATHER) -> np.ndarray:
    """The image with everything outside ``regions`` Gaussian-blurred (``sigma`` pixels), edges feathered.

    ``image``: uint8 (H, W, 3). Returns uint8 (H, W, 3); pixels inside a region are unchanged.
    """
    from scipy.ndimage import gaussian_filter

    if not sigma > 0:
        raise InvalidParameterError(f"the prefilter's sigma must be a positive number of pixels, not {sigma!r}")
    image = np.asarray(image)
    weight = region_weight(regions, *image.shape[:2], feather)[:, :, None]
    blurred = gaussian_filter(image.astype(np.float32), sigma=(sigma, sigma, 0), mode="nearest")
    mixed = np.clip(np.rint(weight * image + (1 - weight) * blurred), 0, 255).astype(np.uint8)
    return np.where(weight == 1.0, image, mixed)


def _prefiltered(code: Callable[[np.ndarray, int], bytes]) -> Callable[..., bytes]:
    def encode(image: np.ndarray, quality: int, sigma: float, regions: Sequence[Region] = (), top: int | None = None) -> bytes:
        kept = list(regions) if top is None else list(regions)[:top]
        return code(prefilter(image, kept, sigma), quality)

    return encode


def _prefilter_variants(sigmas: Sequence[float] = PREFILTER_SIGMAS, tops: Sequence[int | None] = (None,)) -> dict:
    """``{"sigma=2": {"sigma": 2}, ...}``; with ``tops``, ``"sigma=2 top=1"`` keeps the first region only."""
    return {f"sigma={sigma}" + ("" if top is None else f" top={top}"): {"sigma": sigma, **({} if top is None else {"top": top})}
            for top in tops for sigma in sigmas}


def _prefilter_avif(check: bool = True) -> ReferenceCodec:
    encode, decode = _imagecodecs("avif", check)
    return ReferenceCodec("prefilter-avif", _prefiltered(encode), decode, LEVELS, "scipy.ndimage + imagecodecs (libavif)",
                          _prefilter_variants(), uses_regions=True, region_masks=True)


def _prefilter_hevc(check: bool = True) -> ReferenceCodec:
    encode, decode = _hevc(check)
    return ReferenceCodec("prefilter-hevc", _prefiltered(encode), decode, LEVELS, "scipy.ndimage + ffmpeg (x265)",
                          _prefilter_variants(), uses_regions=True, region_masks=True)


REFERENCE_CODECS: Registry[ReferenceCodec] = Registry("reference codec")
REFERENCE_CODECS.add("jpeg", "JPEG (Pillow, optimised Huffman tables)",
                     lambda check=True: ReferenceCodec("jpeg", *_pillow("JPEG", optimize=True), PILLOW_QUALITIES, "Pillow"))
REFERENCE_CODECS.add("webp", "WebP lossy (Pillow, method 6)",
                     lambda check=True: ReferenceCodec("webp", *_pillow("WEBP", method=6), PILLOW_QUALITIES, "Pillow"))
REFERENCE_CODECS.add("avif", "AVIF (libavif through imagecodecs)",
                     lambda check=True: ReferenceCodec("avif", *_imagecodecs("avif", check), LEVELS, "imagecodecs"))
REFERENCE_CODECS.add("jpeg2000", "JPEG 2000 (OpenJPEG through imagecodecs; quality = target PSNR in dB)",
                     lambda check=True: ReferenceCodec("jpeg2000", *_imagecodecs("jpeg2k", check), (24, 27, 30, 33, 36, 40),
                                                       "imagecodecs"))
REFERENCE_CODECS.add("jpegxl", "JPEG XL (libjxl through imagecodecs)",
                     lambda check=True: ReferenceCodec("jpegxl", *_imagecodecs("jpegxl", check), LEVELS, "imagecodecs"))
REFERENCE_CODECS.add("hevc", "HEVC intra, constant QP 51 - quality/2 (x265 through ffmpeg)",
                     lambda check=True: ReferenceCodec("hevc", *_hevc(check), LEVELS, "ffmpeg (x265)"))
REFERENCE_CODECS.add("roi-hevc", "HEVC intra with the object boxes as regions of interest, background QP offset swept "
                     "(x265 and ffmpeg's addroi)", _roi_hevc)
REFERENCE_CODECS.add("prefilter-avif", "everything outside the task's objects Gaussian-blurred (scipy.ndimage), blur sigma "
                     "swept, then whole-image AVIF (libavif through imagecodecs)", _prefilter_avif)
REFERENCE_CODECS.add("prefilter-hevc", "everything outside the task's objects Gaussian-blurred (scipy.ndimage), blur sigma "
                     "swept, then HEVC intra at constant QP (x265 through ffmpeg)", _prefilter_hevc)


def get_reference_codec(name: str, check: bool = True) -> ReferenceCodec:
    """The anchor called ``name`` (see ``REFERENCE_CODECS.available()``).

    Raises :class:`BackendUnavailableError` (saying what to install) when its program or library is
    missing; ``check=False`` skips that, for planning from its qualities and variants alone (coding
    with it then raises the same error).
    """
    return REFERENCE_CODECS.get(name, check=check)
