"""A learned content transform: any CompressAI image model codes each layer's region.

A :class:`~sdcomp_lite.coding.region_coder.RegionCoder`: the region's tight box (XYXY) is cropped, pixels
outside the region are filled smoothly (push-pull), the crop is padded to a multiple of the model's
``downsampling_factor``, and the model's own ``compress()`` / ``decompress()`` pair codes it. The
decoder keeps only the region's pixels. Quality selects nothing here (``honours_quality = False``): a CompressAI model has one
rate, set by the checkpoint you load, so ``encode_to_budget`` refuses it.

Use it with pretrained weights when you have them::

    from compressai.zoo import bmshj2018_hyperprior
    model = bmshj2018_hyperprior(quality=3, pretrained=True)  # downloads once when online
    encode(image, objects, transform=CompressAITransform(model, "bmshj2018-hyperprior"))

Random (untrained) weights run too, and decode exactly what they encoded, but the pictures are
useless; the tests use them only to check the plumbing.

Taught in notebooks/06_bring_your_own_models.ipynb (section 5).
"""

from __future__ import annotations

import struct
import warnings

import numpy as np
import torch

from sdcomp_lite.coding.region_coder import RegionCoder
from sdcomp_lite.errors import BackendUnavailableError, CorruptBitstreamError
from sdcomp_lite.types import Window

DEFAULT_STRIDE = 64  # for models that do not say their downsampling factor
_CROP = struct.Struct(">HHHHHH")  # x0, y0, crop width, crop height, latent height, latent width


class CompressAITransform(RegionCoder):
    """Wraps a CompressAI ``CompressionModel`` (with ``compress`` and ``decompress``)."""

    kind = "learned-transform"
    block = 1  # the tight box; the crop is padded to the model's stride instead
    honours_quality = False

    def __init__(self, model: torch.nn.Module, label: str = "compressai") -> None:
        model.eval()
        model.update(force=True)
        self.model = model
        self.stride = int(getattr(model, "downsampling_factor", DEFAULT_STRIDE))
        self.name = f"ca:{label}"

    @classmethod
    def from_zoo(cls, architecture: str, quality: int = 3, pretrained: bool = True, checkpoint: str | None = None):
        """Build a zoo model by name, e.g. ``"bmshj2018-hyperprior"``.

        With ``checkpoint`` the state dict is read from that local file (``weights_only=True``);
        with ``pretrained=True`` CompressAI downloads its weights (needs the internet once).
        """
        with warnings.catch_warnings():  # CompressAI 1.2.8 calls torch.jit.script, deprecated in torch 2.14
            warnings.simplefilter("ignore", FutureWarning)
            from compressai.zoo import image_models

        if architecture not in image_models:
            raise BackendUnavailableError(
                f"CompressAI has no image model {architecture!r}; choose one of {sorted(image_models)}"
            )
        download = pretrained and checkpoint is None
        try:
            model = image_models[architecture](quality=quality, pretrained=download)
        except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError; a bad file, a RuntimeError
            if not download:
                raise
            raise BackendUnavailableError(
                f"could not download CompressAI weights for {architecture!r} ({error}). Offline, pass "
                "checkpoint='path/to/weights.pth.tar' or use a transform that needs no weights, such as 'avif'."
            ) from error
        if checkpoint is not None:
            try:
                state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            except FileNotFoundError as error:
                raise BackendUnavailableError(f"no CompressAI checkpoint at {checkpoint!r}.") from error
            model.load_state_dict(state.get("state_dict", state))
        return cls(model, architecture)

    def encode_crop(self, crop: np.ndarray, window: Window, quality: int) -> bytes:
        """The crop's box (x0, y0, width, height), the latent size and the model's strings (quality is not used)."""
        pad_y, pad_x = (-window.height) % self.stride, (-window.width) % self.stride
        padded = np.pad(crop.astype(np.float64), ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
        with torch.no_grad():
            out = self.model.compress(torch.from_numpy(padded / 255.0).float().permute(2, 0, 1)[None])
        strings = [s[0] for s in out["strings"]]
        latent_h, latent_w = out["shape"]
        parts = [_CROP.pack(window.x0, window.y0, window.width, window.height, latent_h, latent_w),
                 struct.pack(">B", len(strings))]
        for string in strings:
            parts += [struct.pack(">I", len(string)), string]
        return b"".join(parts)

    def check_payload(self, payload: bytes, window: Window) -> None:
        self._parse(payload, window)

    def decode_crop(self, payload: bytes, window: Window, channels: int) -> np.ndarray:
        """uint8 (h, w, 3), or (h, w, 1) for grey (the mean of the model's three channels)."""
        strings, latent_h, latent_w = self._parse(payload, window)
        with torch.no_grad():
            pixels = self.model.decompress(strings, (latent_h, latent_w))["x_hat"]
        crop = (pixels[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0)[: window.height, : window.width]
        if channels == 1:
            crop = crop.mean(axis=2, keepdims=True)
        return np.clip(np.rint(crop), 0, 255).astype(np.uint8)

    def _parse(self, payload: bytes, window: Window) -> tuple[list[list[bytes]], int, int]:
        """The model's strings and latent size; the declared crop must be ``window``."""
        try:
            x0, y0, crop_w, crop_h, latent_h, latent_w = _CROP.unpack_from(payload)
            strings, position = [], _CROP.size + 1
            for _ in range(payload[_CROP.size]):
                (length,) = struct.unpack_from(">I", payload, position)
                strings.append([payload[position + 4 : position + 4 + length]])
                position += 4 + length
        except (struct.error, IndexError) as error:
            raise CorruptBitstreamError(f"learned-transform payload is malformed: {error}") from error
        if (x0, y0, crop_w, crop_h) != (window.x0, window.y0, window.width, window.height):
            raise CorruptBitstreamError("learned-transform payload declares another crop than its region's box.")
        if latent_h * self.stride < crop_h or latent_w * self.stride < crop_w or latent_h * latent_w > 4 * crop_h * crop_w:
            raise CorruptBitstreamError("learned-transform payload declares an impossible latent size.")
        return strings, latent_h, latent_w
