"""Time to answer: seconds until person segmentation is good enough, as bytes arrive on a channel.

For channels of 64, 256 and 1024 kbit/s, each codec's decodable prefixes are scored with the
task (MediaPipe person masks, IoU against its own mask on the original: pseudo ground truth, so
the original scores 1.0), and the task answers at the first prefix reaching 0.9 of that score:
- sdcomp-lite: one prefix per layer, objects ranked by the offline ranker for "find every person"
  (with and without the preview layer);
- progressive JPEG (Pillow): one prefix per complete scan;
- JPEG, WebP, AVIF, HEVC intra: only the whole file.
Every codec runs at one "good for people" operating point chosen the same way: the lowest
quality whose whole file reaches 36 dB PSNR on the image (bisection over qualities 1..100).

Writes to benchmarks/results/:
  time_to_answer.csv   one row per image, codec and channel
  time_to_answer.md    operating points, what answered, times per channel, medians
  time_to_answer.png   score against time at 256 kbit/s, one step curve per codec

Run from the repository root:  python benchmarks/time_to_answer.py   (about 4 CPU minutes, most of it AVIF's slow
  encoder in the operating-point search)
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import io
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from sdcomp_lite import decode, encode, load_sample  # noqa: E402
from sdcomp_lite.coding import decode_progressive  # noqa: E402
from sdcomp_lite.data import Sample, load_coco7  # noqa: E402
from sdcomp_lite.evaluation.codecs import get_reference_codec  # noqa: E402
from sdcomp_lite.evaluation.tasks import get_task  # noqa: E402
from sdcomp_lite.evaluation.timing import (  # noqa: E402
    DEFAULT_FRACTION,
    RATES_KBPS,
    Answer,
    Step,
    jpeg_scan_prefixes,
    lowest_quality,
    progressive_jpeg,
    score_over_time,
    time_to_answer,
)
from sdcomp_lite.metrics import psnr  # noqa: E402
from sdcomp_lite.ranking import get_ranker  # noqa: E402

TARGET_PSNR = 36.0
TASK, PROMPT = "person-segmentation", "find every person"
COCO7 = Path("/work/shared/data/coco7")
PLOT_RATE = 256
REPEATS = 5  # decode timings: the fastest of this many runs (the cores are shared)
WHOLE_FILE = {"JPEG": "jpeg", "WebP": "webp", "AVIF": "avif", "HEVC": "hevc"}
CODECS = ("sdcomp-lite", "sdcomp-lite + preview", "progressive JPEG", *WHOLE_FILE)
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Result:
    """One codec on one image: its operating point and its decodable prefixes, scored."""

    image: str
    codec: str
    quality: int
    psnr_db: float
    file_bytes: int
    steps: tuple[Step, ...]


def load_images(coco_folder: Path) -> list[Sample]:
    """astronaut from data/, and the shared COCO photographs annotated with a person (if present)."""
    samples = [load_sample("astronaut")]
    if (coco_folder / "annotations.jsonl").is_file():
        samples += [s for s in load_coco7(coco_folder) if any(o.label == "person" for o in s.objects)]
    else:
        print(f"skipping the COCO photographs: {coco_folder} is absent")
    return samples


def timed(function: Callable[[], object]) -> tuple[object, float]:
    """The function's result and its fastest wall-clock seconds over REPEATS runs."""
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        value = function()
        seconds.append(time.perf_counter() - start)
    return value, min(seconds)


@functools.cache
def _task():
    return get_task(TASK)


@functools.cache
def _ranker():
    return get_ranker("offline")


class Scorer:
    """The task's headline score on a decoded image, against its prediction on the original."""

    def __init__(self, image: np.ndarray) -> None:
        self.task = _task()
        from sdcomp_lite.data import Sample

        self.reference = self.task.reference(Sample("original", np.ascontiguousarray(image), ())).value
        self.original = self(image)

    def __call__(self, image: np.ndarray) -> float:
        prediction = self.task.run(np.ascontiguousarray(image[:, :, :3]))
        return self.task.score(prediction, self.reference)[self.task.metric]


def operating_point(image: np.ndarray, round_trip: Callable[[int], tuple[bytes, np.ndarray]]) -> tuple[int, bytes, float]:
    """The lowest quality reaching TARGET_PSNR: (quality, file bytes, PSNR in dB)."""
    cache: dict[int, tuple[bytes, float]] = {}

    def measure(quality: int) -> float:
        if quality not in cache:
            data, decoded = round_trip(quality)
            cache[quality] = (data, psnr(image, decoded))
        return cache[quality][1]

    quality = lowest_quality(measure, TARGET_PSNR)
    measure(quality)
    return quality, *cache[quality]


def sdcomp_result(sample: Sample, objects: list, preview: bool, score: Scorer, quality: int | None = None) -> Result:
    """sdcomp-lite, objects in ranked order, background at the objects' quality; a prefix per layer.

    ``quality``: skip the search (the preview does not change the whole file's image, so both
    variants share one operating point).
    """
    def code(quality: int):
        return encode(sample.image, objects, quality=quality, background_quality=quality, preview=preview)

    def round_trip(quality: int) -> tuple[bytes, np.ndarray]:
        data = code(quality).data
        return data, decode(data).image

    if quality is None:
        quality = operating_point(sample.image, round_trip)[0]
    encoded = code(quality)
    runs = [_progressive_times(encoded.data) for _ in range(REPEATS)]
    seconds = np.min([r[1] for r in runs], axis=0)
    steps = []
    for index, (layer, decoded) in enumerate(zip(encoded.layers, runs[0][0])):
        label = f"layer {index + 1}/{len(encoded.layers)} ({layer.label})"
        steps.append(Step(encoded.prefix_bytes(index + 1), score(decoded), float(seconds[index]), label))
    name = "sdcomp-lite + preview" if preview else "sdcomp-lite"
    return Result(sample.name, name, quality, psnr(sample.image, runs[0][0][-1]), encoded.num_bytes, tuple(steps))


def _progressive_times(data: bytes) -> tuple[list[np.ndarray], list[float]]:
    """Each prefix's image and the cumulative seconds to reach it, decoding layer after layer."""
    images, seconds, start = [], [], time.perf_counter()
    for step in decode_progressive(data):
        seconds.append(time.perf_counter() - start)
        images.append(step.image)
    return images, seconds


def _pillow_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def progressive_jpeg_result(sample: Sample, score: Scorer) -> Result:
    """Progressive JPEG; a prefix per complete scan, decoded with EOI appended."""
    def round_trip(quality: int) -> tuple[bytes, np.ndarray]:
        data = progressive_jpeg(sample.image, quality)
        return data, _pillow_decode(data)

    quality, data, value = operating_point(sample.image, round_trip)
    prefixes = jpeg_scan_prefixes(data)
    steps = []
    for index, prefix in enumerate(prefixes):
        decoded, seconds = timed(lambda prefix=prefix: _pillow_decode(prefix))
        steps.append(Step(len(prefix), score(decoded), seconds, f"scan {index + 1}/{len(prefixes)}"))
    return Result(sample.name, "progressive JPEG", quality, value, len(data), tuple(steps))


def whole_file_result(sample: Sample, name: str, score: Scorer) -> Result:
    """An ordinary codec: the task sees nothing until the whole file has arrived."""
    codec = get_reference_codec(WHOLE_FILE[name])
    quality, data, value = operating_point(sample.image, lambda q: codec.round_trip(sample.image, q))
    decoded, seconds = timed(lambda: codec.decode(data)[:, :, :3])
    return Result(sample.name, name, quality, value, len(data), (Step(len(data), score(decoded), seconds, "whole file"),))


def image_results(sample: Sample) -> tuple[list[Result], float]:
    """Every codec on one image, and the task's threshold there."""
    score = Scorer(sample.image)
    objects = _ranker().rank(sample.image, list(sample.objects), PROMPT).apply(list(sample.objects))
    plain = sdcomp_result(sample, objects, False, score)
    results = [plain, sdcomp_result(sample, objects, True, score, plain.quality), progressive_jpeg_result(sample, score)]
    results += [whole_file_result(sample, name, score) for name in WHOLE_FILE]
    return results, DEFAULT_FRACTION * score.original


def answer_rows(results: list[Result], thresholds: dict[str, float]) -> list[dict]:
    rows = []
    for result in results:
        for rate in RATES_KBPS:
            answer = time_to_answer(result.steps, thresholds[result.image], rate)
            rows.append({
                "image": result.image, "codec": result.codec, "quality": result.quality,
                "psnr_db": round(result.psnr_db, 2), "file_bytes": result.file_bytes, "prefixes": len(result.steps),
                "threshold": round(thresholds[result.image], 3), "rate_kbps": rate, "answered_by": answer.label,
                "bytes": answer.num_bytes if answer.answered else "", "score": _answer_score(result, answer),
                "transfer_s": _seconds(answer.transfer_s), "decode_s": _seconds(answer.decode_s),
                "total_s": _seconds(answer.total_s),
            })
    return rows


def _answer_score(result: Result, answer: Answer) -> str:
    step = result.steps[answer.step] if answer.answered else result.steps[-1]
    return f"{step.score:.3f}"


def _seconds(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.4f}"


def _time(value: str) -> str:
    return value if value == "never" else f"{float(value):.2f} s"


def _as_float(value: str) -> float:
    return math.inf if value == "never" else float(value)


def report(rows: list[dict], path: Path) -> str:
    images = list(dict.fromkeys(r["image"] for r in rows))
    at = {(r["image"], r["codec"], r["rate_kbps"]): r for r in rows}
    lines = [
        "# Time to answer: person segmentation as bytes arrive", "",
        f"Run {datetime.date.today()} on {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        "(2 shared with other jobs), Python " + platform.python_version() + ". "
        f"Images: {', '.join(images)} (astronaut from data/, the shared COCO photographs annotated with a person).",
        "",
        "**Task.** MediaPipe person segmentation, IoU of the union of person masks against its own masks on the "
        f"original (pseudo ground truth: the original scores 1.0). The task answers at the first decodable prefix "
        f"whose IoU reaches {DEFAULT_FRACTION} of the original's score (an oracle stop: the receiver is told when "
        "the answer is good enough).",
        "",
        "**Operating point.** The sender does not know the task, so every codec is set up for people the same way: "
        f"the lowest quality whose whole file reaches {TARGET_PSNR:.0f} dB PSNR on the image (bisection over "
        "qualities 1..100). sdcomp-lite: AVIF layers, objects (the annotations) ranked by the offline ranker for "
        f"\"{PROMPT}\", background at the same quality and full resolution; '+ preview' adds the 1/8-resolution "
        "preview layer first. Progressive JPEG: Pillow, `progressive=True, optimize=True`, one prefix per complete "
        "scan (EOI appended). JPEG, WebP, AVIF, HEVC (x265 intra): the task sees nothing until the whole file is in.",
        "",
        "**Time** = bytes until answered × 8 / R (1 kbit = 1000 bits) + the decode time of the image the task saw "
        f"(fastest of {REPEATS} runs, measured on 2 cores shared with other jobs; sdcomp-lite counts every "
        "layer decoded so far; HEVC's "
        "includes starting ffmpeg). Decode is not overlapped with transfer and task inference is left out. "
        "'never': even the whole file stays under the threshold.",
        "",
        f"{len(images)} images: read the medians as a sanity check, not a verdict.",
        "",
        "## Median over images (seconds to answer)", "",
        "| codec | " + " | ".join(f"{r} kbit/s" for r in RATES_KBPS) + " |",
        "| --- |" + " --- |" * len(RATES_KBPS),
    ]
    for codec in CODECS:
        medians = [float(np.median([_as_float(at[(i, codec, r)]["total_s"]) for i in images])) for r in RATES_KBPS]
        lines.append(f"| {codec} | " + " | ".join(_time(_seconds(m)) for m in medians) + " |")
    lines += ["", f"## How often sdcomp-lite answers first (images where it is faster, of {len(images)})", "",
              "| sdcomp-lite variant | against | " + " | ".join(f"{r} kbit/s" for r in RATES_KBPS) + " |",
              "| --- | --- |" + " --- |" * len(RATES_KBPS)]
    for mine in CODECS[:2]:
        for other in CODECS[2:]:
            wins = [sum(_as_float(at[(i, mine, r)]["total_s"]) < _as_float(at[(i, other, r)]["total_s"]) for i in images)
                    for r in RATES_KBPS]
            lines.append(f"| {mine} | {other} | " + " | ".join(str(w) for w in wins) + " |")
    for rate in RATES_KBPS:
        lines += ["", f"## {rate} kbit/s: seconds to answer (transfer + decode)", "",
                  "| image | " + " | ".join(CODECS) + " |", "| --- |" + " --- |" * len(CODECS)]
        for image in images:
            cells = [at[(image, c, rate)] for c in CODECS]
            lines.append(f"| {image} | " + " | ".join(
                _time(r["total_s"]) if r["total_s"] == "never"
                else f"{_time(r['total_s'])} ({float(r['transfer_s']):.2f} + {float(r['decode_s']):.2f})"
                for r in cells) + " |")
    for image in images:
        threshold = at[(image, CODECS[0], RATES_KBPS[0])]["threshold"]
        lines += ["", f"## {image}: what answered (threshold IoU {threshold})", "",
                  "| codec | quality | PSNR (dB) | file bytes | answered by | bytes | IoU | decode (ms) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for codec in CODECS:
            r = at[(image, codec, RATES_KBPS[0])]
            decode_ms = "" if r["decode_s"] == "never" else f"{1000 * float(r['decode_s']):.0f}"
            lines.append(f"| {codec} | {r['quality']} | {r['psnr_db']:.1f} | {r['file_bytes']:,} | "
                         f"{r['answered_by']} ({r['prefixes']} prefixes) | {r['bytes'] or '-'} | {r['score']} | "
                         f"{decode_ms} |")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def plot(results: list[Result], thresholds: dict[str, float], path: Path) -> None:
    """Score against time at PLOT_RATE, one panel per image, one step curve per codec."""
    images = list(dict.fromkeys(r.image for r in results))
    figure, axes = plt.subplots(1, len(images), figsize=(5.4 * len(images), 6.4), squeeze=False)
    colours = dict(zip(CODECS, plt.get_cmap("tab10").colors))
    for ax, image in zip(axes[0], images):
        mine = [r for r in results if r.image == image]
        end = 1.1 * max(score_over_time(r.steps, PLOT_RATE)[0][-1] for r in mine)
        for result in mine:
            times, scores = score_over_time(result.steps, PLOT_RATE)
            style = "-" if result.codec.startswith("sdcomp") else ("--" if len(result.steps) > 1 else ":")
            ax.plot(np.append(times, end), np.append(scores, scores[-1]), style, drawstyle="steps-post",
                    color=colours[result.codec], linewidth=1.8,
                    label=f"{result.codec}: q{result.quality}, {result.psnr_db:.1f} dB, "
                          f"{result.file_bytes / 1000:.1f} kB")
            ax.plot(times[1:], scores[1:], "o", color=colours[result.codec], markersize=4)
        ax.axhline(thresholds[image], color="black", linewidth=1, linestyle="-.")
        ax.text(0.98 * end, thresholds[image] - 0.015, f"threshold {thresholds[image]:.2f}", fontsize=8,
                va="top", ha="right", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        ax.set(title=f"{image} at {PLOT_RATE} kbit/s", xlabel="seconds until decoded (transfer + decode)",
               ylabel="person-mask IoU against the original's", xlim=(0, end), ylim=(0, 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1,
                  title="codec: quality, whole-file PSNR, file size", title_fontsize=8, frameon=False)
    figure.suptitle("Person segmentation as bytes arrive: dots are decodable prefixes (sdcomp-lite layers, "
                    "JPEG scans, whole files)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco", type=Path, default=COCO7, help="folder of the shared COCO photographs")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results, thresholds = [], {}
    for sample in tqdm(load_images(args.coco), desc="images"):
        image_results_, thresholds[sample.name] = image_results(sample)
        results += image_results_
    rows = answer_rows(results, thresholds)
    with open(RESULTS / "time_to_answer.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(results, thresholds, RESULTS / "time_to_answer.png")
    print(report(rows, RESULTS / "time_to_answer.md"))


if __name__ == "__main__":
    main()
