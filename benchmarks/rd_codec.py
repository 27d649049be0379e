"""Rate-distortion, per-layer overhead and speed of sdcomp-lite's layer coders, all layers decoded.

Variants of sdcomp-lite (every layer decoded; quality swept):
  avif objects        the annotated objects as layers, AVIF per layer (the default coder), no preview
  avif objects+prev   the same with the default preview layer (what the preview costs at full decode)
  avif one layer      no objects: the whole image as one background layer
  dct8 objects / dct8 one layer   the glass-box block-DCT coder of notebook 03
Anchors (whole image): JPEG, WebP, AVIF (imagecodecs' defaults: 4:4:4, its default, slower speed) and
AVIF at libaom speed 6 (the speed sdcomp-lite's layers use), so the speed handicap is visible.

Writes to benchmarks/results/:
  rd_codec.csv   every rate point (image, codec, quality, bytes, bpp, PSNR, MS-SSIM)
  rd_codec.md    BD-rate tables (one routine: sdcomp_lite.evaluation.bdrate), overhead per layer, timing
  rd_codec.png   RD curves (PSNR against bpp) per image

Run from the repository root:  python benchmarks/rd_codec.py [--images ...] [--held-out]
(--held-out adds the shared COCO photographs, which are not in the repository.)
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import time
from pathlib import Path

import imagecodecs
import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from tqdm import tqdm

from sdcomp_lite import decode, encode, list_samples, load_sample
from sdcomp_lite.coding import container
from sdcomp_lite.coding.analysis import layer_breakdown
from sdcomp_lite.data import coco7_dir, load_coco7
from sdcomp_lite.errors import BackendUnavailableError, DataFileError
from sdcomp_lite.evaluation.bdrate import bd_rate
from sdcomp_lite.evaluation.codecs import get_reference_codec
from sdcomp_lite.metrics import ms_ssim, psnr
from sdcomp_lite.types import SceneObject

QUALITIES = (5, 15, 25, 35, 45, 60, 75, 90)
ANCHORS = ("jpeg", "webp", "avif", "avif speed 6", "hevc")
RESULTS = Path(__file__).resolve().parent / "results"
AVIF_CONTAINER_BYTES = 275  # what a single-image AVIF file from libavif 1.x spends on boxes (measured below)


def variants(sample) -> dict[str, dict]:
    objects = list(sample.objects)
    return {
        "avif objects": {"objects": objects, "transform": "avif", "preview": False},
        "avif objects+prev": {"objects": objects, "transform": "avif", "preview": True},
        "avif one layer": {"objects": [], "transform": "avif", "preview": False},
        "dct8 objects": {"objects": objects, "transform": "dct8", "preview": False},
        "dct8 one layer": {"objects": [], "transform": "dct8", "preview": False},
    }


def rate_points(sample) -> tuple[list[dict], dict]:
    """Every codec's rate points on one sample, and the layer-overhead totals."""
    image, pixels = sample.image, sample.image.shape[0] * sample.image.shape[1]
    rows, overhead = [], {"layers": 0, "table": 0, "masks": 0, "payload": 0}
    for codec, options in variants(sample).items():
        options = dict(options)
        objects = options.pop("objects")
        for quality in QUALITIES:
            encoded = encode(image, objects, quality=quality, **options)
            rows.append(_row(sample.name, codec, quality, encoded.num_bytes, pixels, image, decode(encoded.data).image))
            if codec == "avif objects":
                overhead["layers"] += len(encoded.layers)
                overhead["table"] += encoded.table_bytes
                overhead["masks"] += sum(part.mask_bytes for part in layer_breakdown(encoded))
                overhead["payload"] += sum(layer.length for layer in encoded.layers)
    for anchor in ANCHORS:
        for quality, data, decoded in _anchor_points(anchor, image):
            rows.append(_row(sample.name, anchor, quality, len(data), pixels, image, decoded))
    return rows, overhead


def _anchor_points(anchor: str, image: np.ndarray):
    if anchor == "avif speed 6":
        for quality in get_reference_codec("avif").qualities:
            data = bytes(imagecodecs.avif_encode(image, level=quality, speed=6, numthreads=1))
            yield quality, data, np.asarray(imagecodecs.avif_decode(data))[:, :, :3]
        return
    try:
        reference = get_reference_codec(anchor)
    except BackendUnavailableError as error:  # hevc without ffmpeg
        print(f"{anchor} skipped: {error}")
        return
    for quality in reference.qualities:
        data, decoded = reference.round_trip(image, quality)
        yield quality, data, decoded


def _row(image_name, codec, quality, num_bytes, pixels, image, decoded) -> dict:
    return {
        "image": image_name, "codec": codec, "quality": quality, "bytes": num_bytes,
        "bpp": 8 * num_bytes / pixels, "psnr": psnr(image, decoded), "ms_ssim": ms_ssim(image, decoded),
    }


def bd_table(rows: list[dict], metric: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str, str], float]:
    """BD-rate (%) of test against anchor per image (negative = fewer bits); NaN where undefined."""
    results = {}
    for image in sorted({r["image"] for r in rows}):
        curve = {codec: [(r["bpp"], r[metric]) for r in rows if r["image"] == image and r["codec"] == codec]
                 for codec in {r["codec"] for r in rows}}
        for test, anchor in pairs:
            defined = anchor in curve and test in curve
            results[(image, test, anchor)] = bd_rate(curve[anchor], curve[test]).percent if defined else float("nan")
    return results


PAIRS = [("avif objects", "avif"), ("avif objects", "avif speed 6"), ("avif one layer", "avif"),
         ("avif one layer", "avif speed 6"), ("avif objects", "avif one layer"), ("avif objects+prev", "avif objects"),
         ("avif objects", "hevc"), ("avif objects", "webp"), ("avif objects", "jpeg"),
         ("dct8 objects", "jpeg"), ("dct8 one layer", "jpeg"), ("dct8 objects", "webp"), ("dct8 objects", "dct8 one layer")]


def timing(repeats: int = 3) -> dict[str, dict[str, float]]:
    """Median encode and decode seconds for a 768x512 photograph (coffee, resized) with its objects."""
    sample = load_sample("coffee")
    size = (768, 512)
    image = np.asarray(Image.fromarray(sample.image).resize(size, Image.LANCZOS))
    objects = [SceneObject(o.object_id, o.label, o.box, np.asarray(Image.fromarray(o.mask).resize(size, Image.NEAREST)))
               for o in sample.objects]
    results = {}
    for transform in ("avif", "jpegxl", "dct8"):
        encode(image, objects, transform=transform)  # warm up imports and caches
        encode_times, decode_times = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            encoded = encode(image, objects, quality=50, transform=transform)
            encode_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            decode(encoded.data)
            decode_times.append(time.perf_counter() - start)
        results[transform] = {"encode_s": statistics.median(encode_times), "decode_s": statistics.median(decode_times),
                              "bpp": encoded.bpp}
    return results


def avif_container_bytes() -> int:
    """Bytes of boxes around the AV1 data in one libavif file (what each AVIF layer does not store)."""
    from sdcomp_lite.coding.image_coders import _top_level_boxes

    data = bytes(imagecodecs.avif_encode(load_sample("coffee").image[:64, :64], level=50, speed=6, numthreads=1))
    return len(data) - len(_top_level_boxes(data)[b"mdat"])


def plot(rows: list[dict], path: Path) -> None:
    images = sorted({r["image"] for r in rows})
    columns = min(4, len(images))
    lines = -(-len(images) // columns)
    figure = Figure(figsize=(4.6 * columns, 4.2 * lines))
    axes = figure.subplots(lines, columns, squeeze=False)
    for index, image in enumerate(images):
        ax = axes[index // columns, index % columns]
        for codec in ("avif objects", "avif one layer", "dct8 objects", *ANCHORS):
            points = sorted((r["bpp"], r["psnr"]) for r in rows if r["image"] == image and r["codec"] == codec)
            if points:
                style = "o-" if codec.startswith(("avif ", "dct8")) and codec not in ANCHORS else "s--"
                ax.plot(*zip(*points), style, markersize=3, label=codec if codec in ANCHORS or " " in codec else codec)
        ax.set_title(image)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel("PSNR (dB, RGB)")
        ax.set_xlim(0, 1.5)
        ax.grid(alpha=0.3)
    for extra in axes.ravel()[len(images):]:
        extra.set_visible(False)
    axes[0, 0].legend(fontsize=8, title="sdcomp-lite (o) and anchors (s)", title_fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _percent(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:+.1f}%"


def _median_defined(values: list[float]) -> float:
    defined = [v for v in values if not np.isnan(v)]
    return statistics.median(defined) if defined else float("nan")


def report(rows, overhead, timings, container_bytes, path: Path) -> str:
    images = sorted({r["image"] for r in rows})
    lines = ["# sdcomp-lite codec benchmark", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} shared cores, Python {platform.python_version()}. "
             f"Images: {', '.join(images)} (`coco-*`: the shared COCO photographs, held out of the repository). "
             "Every layer decoded; PSNR on RGB. 'objects': the annotated objects as layers; 'one layer': the whole "
             "image as the background layer. Anchors: whole-image codecs at their defaults; 'avif speed 6' is "
             "whole-image AVIF at the libaom speed sdcomp-lite's layers use.", ""]
    for metric in ("psnr", "ms_ssim"):
        rates = bd_table(rows, metric, PAIRS)
        lines += [f"## BD-rate on {metric.upper().replace('_', '-')} (negative: fewer bits than the anchor)", "",
                  "| test | anchor | " + " | ".join(images) + " | median |", "| --- | --- |" + " --- |" * (len(images) + 1)]
        for test, anchor in PAIRS:
            values = [rates[(image, test, anchor)] for image in images]
            lines.append(f"| {test} | {anchor} | " + " | ".join(_percent(v) for v in values)
                         + f" | **{_percent(_median_defined(values))}** |")
        lines.append("")
    layers = max(overhead["layers"], 1)
    lines += ["## Overhead per layer (avif objects, all qualities)", "",
              f"Header and layer table: {overhead['table'] / layers:.1f} bytes per layer (20 bytes per entry plus its "
              f"label, and 21 + the transform name once per file). Object masks: {overhead['masks']:,} bytes in all, "
              f"{overhead['masks'] / max(overhead['payload'], 1):.1%} of the layer payloads. An AVIF layer stores 3 "
              f"bytes of configuration and its AV1 data; the {container_bytes} bytes of boxes a libavif file would "
              "add per layer are rebuilt by the decoder.", "",
              "## Speed (768x512 photograph, 3 objects, quality 50, default preview, median of 3)", "",
              "| coder | encode (s) | decode (s) | bpp |", "| --- | --- | --- | --- |"]
    for transform, values in timings.items():
        lines.append(f"| {transform} | {values['encode_s']:.3f} | {values['decode_s']:.3f} | {values['bpp']:.2f} |")
    lines += ["", "Targets: under 1 s each (2 shared cores; absolute times drift with the machine's load)."]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def samples(names: list[str] | None, held_out: bool) -> list:
    chosen = [load_sample(name) for name in (names or list_samples())]
    if held_out:
        try:
            chosen += load_coco7(coco7_dir())
        except DataFileError as error:
            print(f"held-out photographs skipped: {error}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", nargs="*", default=None, help="sample names (default: all of data/)")
    parser.add_argument("--held-out", action="store_true", help="add the shared COCO photographs")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    rows, overhead = [], {"layers": 0, "table": 0, "masks": 0, "payload": 0}
    for sample in tqdm(samples(args.images, args.held_out), desc="images"):
        sample_rows, sample_overhead = rate_points(sample)
        rows += sample_rows
        overhead = {k: overhead[k] + sample_overhead[k] for k in overhead}
    with open(RESULTS / "rd_codec.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, RESULTS / "rd_codec.png")
    print(report(rows, overhead, timing(), avif_container_bytes(), RESULTS / "rd_codec.md"))


if __name__ == "__main__":
    assert container.VERSION == 3
    main()
