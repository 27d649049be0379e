"""Time per photograph of the offline task models, in one process, taking turns photograph by photograph.

The offline detector (NanoDet-g through onnxruntime), the offline classifier (EfficientNet-Lite0
through PyTorch, one thread) and the offline grounder (NanoDet-g + GrabCut + MediaPipe), each against
MediaPipe's person segmentation, the anchor, run on the same photographs in the same run: a busy
machine slows them alike, so read the ratios, not the seconds. Photographs: the first ``--images``
of coco-val128 by id (``../shared/data/coco-val128`` or ``SDCOMP_COCO_VAL128``), else ``data/``.
Writes benchmarks/results/task_speed.md.

Run from the repository root:  python benchmarks/task_speed.py --images 32
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

from sdcomp_lite.data import list_samples, load_sample
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation.tasks import get_task
from sdcomp_lite.grounding import get_grounder

RESULTS = Path(__file__).resolve().parent / "results"
ANCHOR = "person segmentation (MediaPipe)"


def photographs(count: int) -> tuple[str, list[str]]:
    """(where they come from, sample names): coco-val128's first ``count`` ids, else data/."""
    try:
        return "coco-val128", list_samples("coco-val128")[:count]
    except DataFileError:
        return "data/", list_samples()[:count]


def models() -> dict:
    """Each timed model, by the name the table shows (the anchor first): a function of an RGB array."""
    segmentation, detection, classification = (get_task(name) for name in
                                               ("person-segmentation", "detection", "classification"))
    grounder = get_grounder("offline")
    return {ANCHOR: segmentation.run, "detection (NanoDet-g, onnxruntime)": detection.run,
            "classification (EfficientNet-Lite0, torch, 1 thread)": classification.run,
            "offline grounder (NanoDet-g + GrabCut + MediaPipe)": grounder.ground}


def measure(names: list[str], timed: dict) -> dict[str, list[float]]:
    """Seconds per photograph of each model; one untimed warm-up call each first."""
    images = [load_sample(name).image for name in names]
    for run in timed.values():
        run(images[0])
    seconds: dict[str, list[float]] = {label: [] for label in timed}
    for image in images:
        for label, run in timed.items():
            start = time.perf_counter()
            run(image)
            seconds[label].append(time.perf_counter() - start)
    return seconds


def report(source: str, count: int, seconds: dict[str, list[float]]) -> str:
    anchor = statistics.median(seconds[ANCHOR])
    lines = ["# Time per photograph of the offline task models", "",
             f"{count} photographs of {source}, each model in turn on each photograph, in one process; "
             f"{date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
             f"{os.getloadavg()[0]:.1f} at the end (a shared machine: read the ratios). "
             "Made by `benchmarks/task_speed.py`.", "",
             "| model | median s | mean s | median / anchor |", "| --- | ---: | ---: | ---: |"]
    for label, values in seconds.items():
        lines.append(f"| {label}{' (anchor)' if label == ANCHOR else ''} | {statistics.median(values):.3f} | "
                     f"{statistics.mean(values):.3f} | {statistics.median(values) / anchor:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="how many photographs (default 32)")
    args = parser.parse_args()
    source, names = photographs(args.images)
    text = report(source, len(names), measure(names, models()))
    (RESULTS / "task_speed.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
