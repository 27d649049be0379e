"""A learned content transform: any CompressAI image model codes each layer's region.

The region's bounding box is cropped (padded to a multiple of the model's stride, 64 pixels),
pixels outside the region are set to the region's mean colour, and the model's own
``compress()`` / ``decompress()`` pair codes it. The decoder keeps only the region's pixels.
Quality selects nothing here: a CompressAI model has one rate, set by the checkpoint you load.

Use it with pretrained weights when you have them::

    from compressai.zoo import bmshj2018_hyperprior
    model = bmshj2018_hyperprior(quality=3, pretrained=True)  # downloads once when online
    encode(image, objects, transform=CompressAITransform(model, "bmshj2018-hyperprior"))

Random (untrained) weights run too, and decode exactly what they encoded, but the pictures are
useless; the tests use them only to check the plumbing.
"""

from __future__ import annotations

import struct
import warnings

import numpy as np
import torch

from sdcomp_lite.errors import BackendUnavailableError, CorruptBitstreamError

STRIDE = 64
_CROP = struct.Struct(">HHHHHH")  # x0, y0, crop width, crop height, latent height, latent width


class CompressAITransform:
    """Wraps a CompressAI ``CompressionModel`` (with ``compress`` and ``decompress``)."""

    def __init__(self, model: torch.nn.Module, label: str = "compressai") -> None:
        model.eval()
        model.update(force=True)
        self.model = model
        self.name = f"ca:{label}"[:16]

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
        try:
            model = image_models[architecture](quality=quality, pretrained=pretrained and checkpoint is None)
        except Exception as error:  # network errors come in many types
            raise BackendUnavailableError(
                f"could not download CompressAI weights for {architecture!r} ({error}). Offline, pass "
                "checkpoint='path/to/weights.pth.tar' or use the default transform 'dct8'."
            ) from error
        if checkpoint is not None:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            model.load_state_dict(state.get("state_dict", state))
        return cls(model, architecture)

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]:
        if not region.any():
            return b"", 0.0
        x0, y0, (crop_h, crop_w), crop = _crop(image, region)
        with torch.no_grad():
            out = self.model.compress(_to_tensor(crop))
        strings = [s[0] for s in out["strings"]]
        latent_h, latent_w = out["shape"]
        parts = [_CROP.pack(x0, y0, crop_w, crop_h, latent_h, latent_w), struct.pack(">B", len(strings))]
        for string in strings:
            parts += [struct.pack(">I", len(string)), string]
        payload = b"".join(parts)
        return payload, 8.0 * len(payload)  # learned models report no separate estimate here

    def decode_region(self, payload: bytes, region: np.ndarray, channels: int, quality: int) -> np.ndarray:
        height, width = region.shape
        planes = np.zeros((height, width, channels))
        if not region.any():
            return planes
        try:
            x0, y0, crop_w, crop_h, latent_h, latent_w = _CROP.unpack_from(payload)
            strings, position = [], _CROP.size + 1
            for _ in range(payload[_CROP.size]):
                (length,) = struct.unpack_from(">I", payload, position)
                strings.append([payload[position + 4 : position + 4 + length]])
                position += 4 + length
        except (struct.error, IndexError) as error:
            raise CorruptBitstreamError(f"learned-transform payload is malformed: {error}") from error
        with torch.no_grad():
            pixels = self.model.decompress(strings, (latent_h, latent_w))["x_hat"]
        crop = (pixels[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0)[:crop_h, :crop_w]
        if channels == 1:
            crop = crop.mean(axis=2, keepdims=True)
        planes[y0 : y0 + crop_h, x0 : x0 + crop_w] = crop[: height - y0, : width - x0]
        return planes

    def to_rgb(self, planes: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(planes), 0, 255).astype(np.uint8)


def _crop(image: np.ndarray, region: np.ndarray) -> tuple[int, int, tuple[int, int], np.ndarray]:
    """The region's box, padded to the model's stride; outside pixels set to the region's mean."""
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = image[y0:y1, x0:x1].astype(np.float64)
    if crop.shape[2] == 1:
        crop = np.repeat(crop, 3, axis=2)
    inside = region[y0:y1, x0:x1]
    crop[~inside] = crop[inside].mean(axis=0)
    size = crop.shape[:2]
    pad_y, pad_x = (-size[0]) % STRIDE, (-size[1]) % STRIDE
    crop = np.pad(crop, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
    return int(x0), int(y0), size, crop


def _to_tensor(crop: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crop / 255.0).float().permute(2, 0, 1)[None]
