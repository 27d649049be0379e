"""The main demo and the notebooks' progressive-decoding helpers: run the whole pipeline on a sample
photograph and decode it prefix by prefix (:func:`run_demo`, :func:`format_demo`), decode an ``.sdc``
file prefix by prefix (:func:`progressive_steps`), decode a progressive JPEG scan by scan (:func:`jpeg_steps`), read
the time-to-answer results (:func:`read_time_to_answer`), and write the README's figures
(:func:`write_readme_figures`).

Taught in ``notebooks/00_quickstart.ipynb`` and ``notebooks/04_progressive_decoding.ipynb``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sdcomp_lite.coding import encode
from sdcomp_lite.coding.progressive import (  # noqa: F401 - the notebooks import the step helpers from here
    ProgressiveStep,
    changed_steps,
    format_steps,
    last_within,
    progressive_steps,
)
from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import InvalidParameterError
from sdcomp_lite.evaluation.timing import jpeg_scan_prefixes, progressive_jpeg
from sdcomp_lite.pipeline import CompressResult, compress, default_sidecar_path, format_result, sidecar_json, write_outputs


@dataclass(frozen=True)
class JpegStep:
    """One decodable prefix of a progressive JPEG: the first ``scans`` of ``total`` scans."""

    scans: int
    total: int
    num_bytes: int  # the prefix, with the 2-byte end-of-image marker appended
    image: np.ndarray  # uint8 (H, W, 3) or (H, W), decoded by Pillow

    @property
    def caption(self) -> str:
        """E.g. "scans 1-3 of 10": how much of the file this prefix holds."""
        return f"scan 1 of {self.total}" if self.scans == 1 else f"scans 1-{self.scans} of {self.total}"


def jpeg_steps(image: np.ndarray, quality: int) -> list[JpegStep]:
    """Code ``image`` as a progressive JPEG and decode every scan prefix (SNR-progressive coding:
    each scan refines the whole picture; see :func:`sdcomp_lite.evaluation.timing.jpeg_scan_prefixes`)."""
    prefixes = jpeg_scan_prefixes(progressive_jpeg(image, quality))
    mode = "L" if image.ndim == 2 else "RGB"
    return [JpegStep(k, len(prefixes), len(p), np.asarray(Image.open(io.BytesIO(p)).convert(mode)))
            for k, p in enumerate(prefixes, start=1)]


def jpeg_quality_for_bytes(image: np.ndarray, max_bytes: int) -> int:
    """The highest JPEG quality (1-100) whose progressive file has at most ``max_bytes`` bytes
    (bisection; sizes grow with quality). Raises :class:`InvalidParameterError` if even quality 1 is larger."""
    low, high = 1, 100
    if len(progressive_jpeg(image, low)) > max_bytes:
        raise InvalidParameterError(f"even quality 1 takes more than {max_bytes} bytes; allow more bytes.")
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(progressive_jpeg(image, middle)) <= max_bytes else (low, middle - 1)
    return low


DEMO_TASKS = {
    "astronaut": "who is the person in this picture?",
    "chelsea": "what animal is this?",
    "coffee": "is there a spoon on the saucer?",
    "rocket": "is the rocket on the launch pad?",
}


@dataclass(frozen=True, eq=False)
class DemoRun:
    """What :func:`run_demo` did: the pipeline's result (objects, ranking, file) and the decoded prefixes."""

    sample: str
    task: str
    result: CompressResult
    steps: list[ProgressiveStep]


def run_demo(sample: str = "astronaut", quality: int = 50, output_dir: str | Path = "outputs",
             task: str | None = None) -> DemoRun:
    """Run :func:`sdcomp_lite.pipeline.compress` on the photograph ``sample`` of ``data/`` with the offline
    grounder and ranker for ``task`` (default: :data:`DEMO_TASKS`), then decode each prefix.

    Writes ``<sample>.sdc`` and its sidecar ``<sample>.sdc.json``, ``<sample>_layers_<k>.png`` per prefix
    and ``<sample>_progressive.png`` (all prefixes side by side) into ``output_dir``. Deterministic:
    the same sample, quality and task give the same files.
    """
    image = load_sample(sample).image
    task = DEMO_TASKS.get(sample, "general") if task is None else task
    result = compress(image, task, quality=quality, progress=True)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    bitstream = output / f"{sample}.sdc"
    write_outputs({bitstream: result.encoded.data, default_sidecar_path(bitstream): sidecar_json(result.sidecar)})
    steps = progressive_steps(image, result.encoded)
    for step in steps:
        Image.fromarray(step.decoded.image).save(output / f"{sample}_layers_{step.layers}.png")
    strip = np.concatenate([step.decoded.image for step in steps], axis=1)
    Image.fromarray(strip).save(output / f"{sample}_progressive.png")
    return DemoRun(sample, task, result, steps)


def format_demo(run: DemoRun) -> str:
    """What each stage found (objects, ranking and its backend, layer table), then the progressive steps."""
    return (f"sample {run.sample!r}, task {run.task!r}\n\n{format_result(run.result)}\n\n"
            f"decoding layer by layer:\n{format_steps(run.steps)}")


TIME_TO_ANSWER_CSV = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "time_to_answer.csv"


def read_time_to_answer(path: str | Path = TIME_TO_ANSWER_CSV) -> list[dict[str, str]]:
    """The rows of ``benchmarks/results/time_to_answer.csv`` (made by ``benchmarks/time_to_answer.py``; one
    row per image, codec and channel rate), as strings."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def median_seconds(rows: list[dict[str, str]]) -> dict[str, dict[int, float]]:
    """Median over images of the seconds to answer (transfer + decode): ``{codec: {rate_kbps: seconds}}``."""
    seconds: dict[str, dict[int, list[float]]] = {}
    for row in rows:
        seconds.setdefault(row["codec"], {}).setdefault(int(float(row["rate_kbps"])), []).append(float(row["total_s"]))
    return {codec: {rate: float(np.median(values)) for rate, values in by_rate.items()} for codec, by_rate in seconds.items()}


def answers_first(rows: list[dict[str, str]], ours: str = "sdcomp-lite") -> dict[str, dict[int, int]]:
    """On how many images ``ours`` answers strictly sooner than each other codec: ``{codec: {rate_kbps: images}}``."""
    seconds = {(r["image"], r["codec"], int(float(r["rate_kbps"]))): float(r["total_s"]) for r in rows}
    counts: dict[str, dict[int, int]] = {}
    for (image, codec, rate), value in seconds.items():
        if codec != ours and (image, ours, rate) in seconds:
            won = seconds[(image, ours, rate)] < value
            counts.setdefault(codec, {}).setdefault(rate, 0)
            counts[codec][rate] += int(won)
    return counts


def format_time_to_answer(rows: list[dict[str, str]], ours: str = "sdcomp-lite") -> str:
    """Two text tables: :func:`median_seconds` per codec and rate, then :func:`answers_first` for ``ours``."""
    medians = median_seconds(rows)
    rates = sorted({rate for by_rate in medians.values() for rate in by_rate})
    images = len({r["image"] for r in rows})
    header = "".join(f"{f'{rate} kbit/s':>13}" for rate in rates)
    lines = [f"median seconds to answer over {images} images (transfer + decode)", f"{'codec':<24}" + header]
    for codec, by_rate in medians.items():
        lines.append(f"{codec:<24}" + "".join(f"{by_rate[rate]:>11.2f} s" for rate in rates))
    lines += ["", f"images (of {images}) where {ours} answers sooner than ...", f"{'':<24}" + header]
    for codec, by_rate in answers_first(rows, ours).items():
        lines.append(f"{codec:<24}" + "".join(f"{by_rate.get(rate, 0):>13}" for rate in rates))
    return "\n".join(lines)


README_SAMPLE, README_QUALITY = "astronaut", 40


def write_readme_figures(folder: str | Path = "docs", sample: str = README_SAMPLE, quality: int = README_QUALITY) -> list[Path]:
    """Write ``progressive.png`` (the README strip: every prefix that changes the picture, each
    labelled with its layers and bytes) and ``pipeline.png`` (:func:`~sdcomp_lite.plotting.pipeline_diagram`).

    The strip codes ``sample``'s annotated objects in annotation order at ``quality`` with the
    default coder (AVIF) and preview layer. Returns the paths written.
    """
    from sdcomp_lite.plotting import pipeline_diagram, progressive_strip

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = load_sample(sample)
    steps = progressive_steps(data.image, encode(data.image, list(data.objects), quality=quality))
    paths = [folder / "progressive.png", folder / "pipeline.png"]
    progressive_strip(steps).savefig(paths[0], dpi=100)
    pipeline_diagram().savefig(paths[1], dpi=100)
    return paths
