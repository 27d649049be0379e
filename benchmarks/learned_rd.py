"""Rate-distortion of sdcomp-lite's small learned codecs against JPEG, AVIF and dct8, whole images.

The three committed checkpoints (``sdcomp_lite/coding/weights/``, trained by
``benchmarks/train_learned.py`` on the four photographs of ``data/images/``) code each whole image
with ``compress`` / ``decompress`` (rate: the entropy-coded strings only, no container); JPEG
(Pillow, optimised Huffman tables) and AVIF (libavif through imagecodecs, 4:4:4, libaom speed 6: the
speed sdcomp-lite's AVIF layers use; imagecodecs' default speed is far slower and writes smaller files, see
rd_codec.md) code it at a few qualities (rate: the whole file), and dct8 (sdcomp-lite's glass-box coder, one
background layer, no preview; rate: the whole .sdc file). PSNR is over RGB.

Images: the four training photographs of ``data/`` (seen in training) and the first 16 of the
shared coco-val128 photographs (held out: never seen in training, never copied into the repository).

Writes to benchmarks/results/:
  learned_rd.csv   every point (set, image, codec, setting, bytes, bpp, PSNR)
  learned_rd.md    mean bpp / PSNR per codec and setting, and BD-rates (anchor: AVIF, also JPEG)

Run from the repository root:  python benchmarks/learned_rd.py [--held-out 16]
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import warnings
from pathlib import Path

import imagecodecs
import numpy as np
import torch

from sdcomp_lite import encode, list_samples, load_sample
from sdcomp_lite.coding import decode
from sdcomp_lite.coding.image_coders import AVIF_SPEED
from sdcomp_lite.coding.learned_zoo import available_learned, load_learned, whole_image_round_trip
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation.bdrate import bd_rate
from sdcomp_lite.evaluation.codecs import get_reference_codec
from sdcomp_lite.metrics import psnr

RESULTS = Path(__file__).resolve().parent / "results"
JPEG_QUALITIES = (10, 20, 30, 45, 60, 75, 90)
AVIF_QUALITIES = (10, 25, 40, 55, 70, 85)
DCT8_QUALITIES = (10, 30, 55, 85)


def measure(image: np.ndarray, models: dict[str, torch.nn.Module]) -> list[tuple[str, str, int, float]]:
    """(codec, setting, bytes, PSNR dB) of every codec and setting on one uint8 (H, W, 3) image."""
    rows = []
    for name, model in models.items():
        nbytes, decoded = whole_image_round_trip(model, image)
        rows.append(("learned", name, nbytes, psnr(image, decoded)))
    jpeg = get_reference_codec("jpeg")
    for quality in JPEG_QUALITIES:
        data, decoded = jpeg.round_trip(image, quality)
        rows.append(("jpeg", f"q{quality}", len(data), psnr(image, decoded)))
    for quality in AVIF_QUALITIES:  # libaom speed 6, as the layers use; imagecodecs' default speed is far slower
        data = bytes(imagecodecs.avif_encode(image, level=quality, speed=AVIF_SPEED, numthreads=1))
        rows.append(("avif", f"q{quality}", len(data), psnr(image, np.asarray(imagecodecs.avif_decode(data)))))
    for quality in DCT8_QUALITIES:
        encoded = encode(image, [], quality=quality, transform="dct8", preview=False)
        rows.append(("dct8", f"q{quality}", len(encoded.data), psnr(image, decode(encoded.data).image)))
    return rows


def images(held_out: int) -> list[tuple[str, str, np.ndarray]]:
    """(set, name, uint8 image) for the four data/ photographs and the first ``held_out`` coco-val128 ones."""
    found = [("data (training)", name, load_sample(name).image) for name in list_samples()]
    try:
        names = list_samples("coco-val128")[:held_out]
    except DataFileError as error:
        print(f"skipping the held-out photographs: {error}")
        names = []
    return found + [("coco-val128 (held out)", name.split("/")[1], load_sample(name).image) for name in names]


def curves(rows: list[dict], subset: str) -> dict[str, list[tuple[float, float]]]:
    """Codec -> its mean (bpp, PSNR) per setting over the images of ``subset``."""
    by_setting: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["set"] == subset:
            by_setting.setdefault((row["codec"], row["setting"]), []).append(row)
    out: dict[str, list[tuple[float, float]]] = {}
    for (codec, _), group in by_setting.items():
        out.setdefault(codec, []).append((statistics.mean(r["bpp"] for r in group), statistics.mean(r["psnr"] for r in group)))
    return {codec: sorted(points) for codec, points in out.items()}


def per_image_bd(rows: list[dict], subset: str, anchor: str, test: str) -> list[float]:
    """BD-rate (%) of ``test`` against ``anchor``, one per image of ``subset`` (NaN where undefined)."""
    values = []
    for image in sorted({r["image"] for r in rows if r["set"] == subset}):
        points = {codec: [(r["bpp"], r["psnr"]) for r in rows if r["image"] == image and r["codec"] == codec]
                  for codec in (anchor, test)}
        values.append(bd_rate(points[anchor], points[test]).percent)
    return values


def psnr_gap(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> list[float]:
    """For each (bpp, PSNR) of ``test`` inside the anchor's rate range: the anchor's PSNR at that rate
    (linear in log-rate between its points) minus the test's PSNR, in dB (positive: the anchor is better)."""
    rates, scores = zip(*sorted(anchor), strict=True)
    return [float(np.interp(np.log(bpp), np.log(rates), scores)) - value
            for bpp, value in test if rates[0] <= bpp <= rates[-1]]


def per_image_gap(rows: list[dict], subset: str, anchor: str, test: str) -> list[float]:
    """Every PSNR gap (dB) of ``test`` against ``anchor`` at equal rate, over the images of ``subset``."""
    gaps = []
    for image in sorted({r["image"] for r in rows if r["set"] == subset}):
        points = {codec: [(r["bpp"], r["psnr"]) for r in rows if r["image"] == image and r["codec"] == codec]
                  for codec in (anchor, test)}
        gaps += psnr_gap(points[anchor], points[test])
    return gaps


def report(rows: list[dict], manifest: dict[str, dict]) -> str:
    """The markdown report: the checkpoints, mean points per codec and BD-rates per image set."""
    lines = ["# Learned coding: sdcomp-lite's small CPU-trained models against JPEG, AVIF and dct8", "",
             "Written by `benchmarks/learned_rd.py`; every number below is in `learned_rd.csv`. Whole images, "
             "PSNR over RGB; rates are the learned model's entropy-coded strings (no container), the whole "
             "JPEG / AVIF file, the whole .sdc file for dct8 (one background layer, no preview). The anchor is AVIF "
             "(libavif through imagecodecs, 4:4:4, libaom speed 6, as sdcomp-lite's layers use it); JPEG is Pillow's "
             "with optimised Huffman tables.", "",
             "**Teaching-sized, not a competitive codec.** The models are CompressAI `FactorizedPrior`s with few "
             "channels, trained for minutes on a CPU on random patches of the four photographs in `data/images/` "
             "(the whole training set). The data/ rows are therefore measured on the training images; "
             "the coco-val128 rows are the held-out check.", "",
             "| checkpoint | N | M | lambda | steps | patch x batch | train s | KiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, e in manifest.items():
        lines.append(f"| {name} | {e['N']} | {e['M']} | {e['lambda']} | {e['steps']} | {e['patch']} x {e['batch']} | "
                     f"{e['train_seconds']:.0f} | {e['bytes'] / 1024:.0f} |")
    for subset in dict.fromkeys(r["set"] for r in rows):
        count = len({r["image"] for r in rows if r["set"] == subset})
        lines += ["", f"## {subset}: {count} photographs", "", "Mean over the photographs, per setting:", "",
                  "| codec | setting | mean bpp | mean PSNR dB |", "| --- | --- | --- | --- |"]
        groups: dict[tuple[str, str], list[dict]] = {}
        for row in rows:
            if row["set"] == subset:
                groups.setdefault((row["codec"], row["setting"]), []).append(row)
        for (codec, setting), group in groups.items():
            lines.append(f"| {codec} | {setting} | {statistics.mean(r['bpp'] for r in group):.3f} | "
                         f"{statistics.mean(r['psnr'] for r in group):.2f} |")
        lines += ["", "BD-rate of each test codec against the anchor (PSNR as the score; negative = fewer bits), "
                  "per photograph over the PSNR range both cover, then the median and the range:", "",
                  "| test | anchor | median BD-rate | min | max | photographs defined |", "| --- | --- | --- | --- | --- | --- |"]
        for test, anchor in (("learned", "avif"), ("learned", "jpeg"), ("dct8", "avif"), ("jpeg", "avif")):
            values = [v for v in per_image_bd(rows, subset, anchor, test) if np.isfinite(v)]
            if values:
                lines.append(f"| {test} | {anchor} | {statistics.median(values):+.1f}% | {min(values):+.1f}% | "
                             f"{max(values):+.1f}% | {len(values)} of {count} |")
            else:
                lines.append(f"| {test} | {anchor} | undefined | | | 0 of {count} |")
        lines += ["", "PSNR gap at equal rate: the anchor's PSNR at each learned point's bpp (interpolated in log-rate) minus "
                  "the learned point's PSNR, over every learned point and photograph (defined where BD-rate is not: the "
                  "learned curve ends below the anchors' PSNR range):", "",
                  "| test | anchor | median gap dB | min | max | points |", "| --- | --- | --- | --- | --- | --- |"]
        for test, anchor in (("learned", "avif"), ("learned", "jpeg"), ("learned", "dct8")):
            gaps = per_image_gap(rows, subset, anchor, test)
            if gaps:
                lines.append(f"| {test} | {anchor} | {statistics.median(gaps):.2f} | {min(gaps):.2f} | {max(gaps):.2f} | "
                             f"{len(gaps)} of {3 * count} |")
    lines += ["", f"Machine: {platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out", type=int, default=16, help="how many coco-val128 photographs (0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="rewrite learned_rd.md from the existing learned_rd.csv")
    args = parser.parse_args()
    if args.report_only:
        with open(args.out / "learned_rd.csv", newline="") as handle:
            rows = [{**r, "bytes": int(r["bytes"]), "bpp": float(r["bpp"]), "psnr": float(r["psnr"])}
                    for r in csv.DictReader(handle)]
        (args.out / "learned_rd.md").write_text(report(rows, available_learned()))
        print((args.out / "learned_rd.md").read_text())
        return
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore", category=FutureWarning)  # CompressAI 1.2.8's torch.jit.script
    manifest = available_learned()
    models = {name: load_learned(name) for name in manifest}
    rows = []
    for subset, name, image in images(args.held_out):
        pixels = image.shape[0] * image.shape[1]
        for codec, setting, nbytes, value in measure(image, models):
            rows.append({"set": subset, "image": name, "codec": codec, "setting": setting, "bytes": nbytes,
                         "bpp": 8 * nbytes / pixels, "psnr": value})
        print(name, "done")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "learned_rd.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "bpp": f"{r['bpp']:.5f}", "psnr": f"{r['psnr']:.3f}"} for r in rows)
    (args.out / "learned_rd.md").write_text(report(rows, manifest))
    print((args.out / "learned_rd.md").read_text())


if __name__ == "__main__":
    main()
