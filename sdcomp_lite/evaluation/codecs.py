"""Ordinary image codecs to compare against, each over a quality sweep.

JPEG and WebP come from Pillow; AVIF, JPEG 2000 and JPEG XL from imagecodecs; HEVC intra from
ffmpeg's x265 (the Debian package ``ffmpeg``). Every codec takes
a uint8 image (H, W, 3) and a quality, and returns the real file bytes, so rates are honest.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError


@dataclass(frozen=True)
class ReferenceCodec:
    """A named codec with its quality sweep (higher quality value = larger file)."""

    name: str
    encode: Callable[[np.ndarray, int], bytes]
    decode: Callable[[bytes], np.ndarray]
    qualities: tuple[int, ...]
    package: str

    def round_trip(self, image: np.ndarray, quality: int) -> tuple[bytes, np.ndarray]:
        """Encode then decode; returns the file bytes and the decoded uint8 (H, W, 3) image."""
        data = self.encode(image, quality)
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


def _imagecodecs(codec: str) -> tuple[Callable, Callable]:
    import imagecodecs

    if not getattr(imagecodecs, codec.upper()).available:
        raise BackendUnavailableError(f"imagecodecs was built without {codec}; reinstall imagecodecs from PyPI.")
    encode_function = getattr(imagecodecs, f"{codec}_encode")
    decode_function = getattr(imagecodecs, f"{codec}_decode")

    def encode(image: np.ndarray, quality: int) -> bytes:
        return bytes(encode_function(image, level=int(quality)))

    def decode(data: bytes) -> np.ndarray:
        return np.asarray(decode_function(data))

    return encode, decode


def _hevc() -> tuple[Callable, Callable]:
    """HEVC intra (x265 through ffmpeg), 4:2:0, one frame; quality q maps to x265's QP 51 - q/2."""
    if shutil.which("ffmpeg") is None:
        raise BackendUnavailableError("HEVC needs the ffmpeg program with x265: apt-get install ffmpeg")

    def run(arguments: list[str], data: bytes) -> bytes:
        result = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", *arguments], input=data,
                                capture_output=True, check=False)
        if result.returncode != 0:
            raise BackendUnavailableError(f"ffmpeg failed: {result.stderr.decode(errors='replace')[-300:]}")
        return result.stdout

    def encode(image: np.ndarray, quality: int) -> bytes:
        height, width = image.shape[:2]
        even = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")  # 4:2:0 needs even sizes
        qp = int(round(51 - quality / 2))
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "frame.hevc"
            run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{even.shape[1]}x{even.shape[0]}", "-i", "-",
                 "-frames:v", "1", "-c:v", "libx265", "-pix_fmt", "yuv420p",
                 "-x265-params", f"qp={qp}:keyint=1:log-level=error", "-f", "hevc", str(out)], even.tobytes())
            stream = out.read_bytes()
        return np.array([height, width], ">u2").tobytes() + stream  # 4 bytes: the true size

    def decode(data: bytes) -> np.ndarray:
        height, width = (int(v) for v in np.frombuffer(data[:4], ">u2"))
        raw = run(["-f", "hevc", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], data[4:])
        even_h, even_w = height + height % 2, width + width % 2
        return np.frombuffer(raw, np.uint8)[: even_h * even_w * 3].reshape(even_h, even_w, 3)[:height, :width]

    return encode, decode


REFERENCE_CODECS = ("jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc")


def get_reference_codec(name: str) -> ReferenceCodec:
    """One of ``jpeg``, ``webp``, ``avif``, ``jpeg2000``, ``jpegxl``, ``hevc``."""
    if name == "jpeg":
        return ReferenceCodec("jpeg", *_pillow("JPEG", optimize=True), (5, 10, 20, 30, 45, 60, 75, 90), "Pillow")
    if name == "webp":
        return ReferenceCodec("webp", *_pillow("WEBP", method=6), (5, 10, 20, 30, 45, 60, 75, 90), "Pillow")
    if name == "avif":
        return ReferenceCodec("avif", *_imagecodecs("avif"), (10, 25, 40, 55, 70, 85), "imagecodecs")
    if name == "jpeg2000":  # imagecodecs' level is a PSNR target in dB for JPEG 2000
        return ReferenceCodec("jpeg2000", *_imagecodecs("jpeg2k"), (24, 27, 30, 33, 36, 40), "imagecodecs")
    if name == "jpegxl":
        return ReferenceCodec("jpegxl", *_imagecodecs("jpegxl"), (10, 25, 40, 55, 70, 85), "imagecodecs")
    if name == "hevc":
        return ReferenceCodec("hevc", *_hevc(), (10, 25, 40, 55, 70, 85), "ffmpeg (x265)")
    raise UnknownBackendError(f"unknown reference codec {name!r}; choose one of {', '.join(REFERENCE_CODECS)}")
