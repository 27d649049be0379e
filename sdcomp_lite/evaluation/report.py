"""Tables and plots from a sweep's results.csv: RD curves per task and BD-rate against each anchor.

BD-rate needs a curve whose quality rises with rate. For sdcomp-lite the points are every
(quality, layer prefix); its curve is their *Pareto front* (the best score reachable at each rate).
Every curve here is a Pareto front, anchors included, so all codecs are treated alike.
"""

from __future__ import annotations

import csv
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import bjontegaard
import numpy as np
from matplotlib.figure import Figure  # no pyplot: saving plots must not change the caller's backend
from matplotlib.ticker import NullFormatter

from sdcomp_lite.errors import DataFileError

HEADLINE = {"instance-segmentation": "ap50", "person-segmentation": "miou", "face-detection": "ap50", "pose": "pck",
            "classification": "top1", "captioning": "caption_similarity", "vqa": "accuracy"}


@dataclass(frozen=True)
class BDRate:
    image: str
    task: str
    metric: str
    test: str
    anchor: str
    value: float  # percent; negative means fewer bits than the anchor at equal score
    note: str = ""


def load_results(path: str | Path) -> list[dict]:
    """The rows of a results.csv, with numbers as numbers."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"no results at {path}; run the sweep first")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("quality", "layers", "bytes"):
            row[key] = int(row[key])
        for key in ("bpp", "value"):
            row[key] = float(row[key])
    return sorted(rows, key=row_order)


def row_order(row: dict) -> tuple:
    """A fixed order of rows, whatever order the workers finished in."""
    return (row["image"], row["codec"], row["variant"], int(row["quality"]), int(row["layers"]), row["task"], row["metric"])


def curve_name(row: dict) -> str:
    return f"{row['codec']} ({row['variant']})" if row["variant"] else row["codec"]


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points not beaten by a cheaper one: strictly rising score with rising rate."""
    front: list[tuple[float, float]] = []
    for rate, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not math.isnan(score) and (not front or score > front[-1][1]):
            front.append((rate, score))
    return front


def curves(rows: list[dict], task: str, metric: str, image: str) -> dict[str, list[tuple[float, float]]]:
    """Pareto fronts per codec/variant for one image and one task metric."""
    points: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row["task"] == task and row["metric"] == metric and row["image"] == image:
            points.setdefault(curve_name(row), []).append((row["bpp"], row["value"]))
    return {name: pareto_front(p) for name, p in points.items()}


def bd_rates(rows: list[dict], anchors: tuple[str, ...]) -> list[BDRate]:
    """BD-rate of every sdcomp-lite variant against every anchor, per image and task (headline metric)."""
    results = []
    for task in sorted({r["task"] for r in rows}):
        metric = HEADLINE.get(task, "value")
        for image in sorted({r["image"] for r in rows if r["task"] == task}):
            fronts = curves(rows, task, metric, image)
            for test in sorted(n for n in fronts if n.startswith("sdcomp-lite")):
                for anchor in anchors:
                    if anchor in fronts:
                        value, note = _bd(fronts[anchor], fronts[test])
                        results.append(BDRate(image, task, metric, test, anchor, value, note))
    return results


def _bd(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> tuple[float, str]:
    if len(anchor) < 2 or len(test) < 2:
        return float("nan"), "fewer than 2 rising points (score saturated or flat)"
    low, high = max(anchor[0][1], test[0][1]), min(anchor[-1][1], test[-1][1])
    if low >= high:
        return float("nan"), "the curves' score ranges do not overlap"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = bjontegaard.bd_rate([p[0] for p in anchor], [p[1] for p in anchor], [p[0] for p in test],
                                        [p[1] for p in test], method="pchip", require_matching_points=False,
                                        min_overlap=0.0)
        return float(value), ""
    except (ValueError, ZeroDivisionError, AssertionError) as error:
        return float("nan"), f"bjontegaard: {error}"


def plot_task(rows: list[dict], task: str, path: Path) -> None:
    metric = HEADLINE.get(task, "value")
    images = sorted({r["image"] for r in rows if r["task"] == task})
    figure = Figure(figsize=(4.2 * len(images), 3.6))
    axes = figure.subplots(1, len(images), squeeze=False)
    for ax, image in zip(axes[0], images):
        for name, front in sorted(curves(rows, task, metric, image).items()):
            if front:
                style = "o-" if name.startswith("sdcomp") else "s--"
                ax.plot(*zip(*front), style, markersize=3, label=name)
        ax.set_title(f"{image}: {task}")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(metric)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels on a log axis overlap
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _references_line(rows: list[dict]) -> str:
    names = {"pseudo": "pseudo ground truth (the task model on the original image)", "annotations": "data/ annotations"}
    pairs = sorted({(r["task"], r["reference"]) for r in rows})
    return "# Task accuracy against rate\n\nReferences: " + "; ".join(f"{task}: {names[ref]}" for task, ref in pairs) + "."


def _task_table(rates: list[BDRate], task: str, anchors: tuple[str, ...]) -> list[str]:
    present = [a for a in anchors if any(r.anchor == a and r.task == task for r in rates)]
    lines = [f"## {task} ({HEADLINE.get(task, 'value')})", "",
             "| sdcomp-lite variant | " + " | ".join(f"vs {a}" for a in present) + " |", "| --- |" + " --- |" * len(present)]
    for test in sorted({r.test for r in rates}):
        cells = []
        for anchor in present:
            values = [r.value for r in rates
                      if (r.task, r.test, r.anchor) == (task, test, anchor) and not math.isnan(r.value)]
            cells.append(f"{np.mean(values):+.1f}% (n={len(values)})" if values else "n/a")
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    return lines + [""]


def write_report(folder: str | Path, anchors: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc")) -> str:
    """Write report.md, bd_rates.csv and one RD plot per task into the sweep folder; return the text."""
    folder = Path(folder)
    rows = load_results(folder / "results.csv")
    if not rows:
        raise DataFileError(f"{folder / 'results.csv'} holds no results yet")
    rates = bd_rates(rows, anchors)
    with open(folder / "bd_rates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "task", "metric", "test", "anchor", "bd_rate_percent", "note"])
        writer.writerows([[r.image, r.task, r.metric, r.test, r.anchor, r.value, r.note] for r in rates])
    lines = [_references_line(rows), "",
             "BD-rate (%) of sdcomp-lite's Pareto front (over qualities and layer prefixes) against each anchor's, "
             "on the task's headline metric; negative = fewer bits for the same score; mean over images where defined.", ""]
    for task in sorted({r.task for r in rates}):
        lines += _task_table(rates, task, anchors)
        plot_task(rows, task, folder / f"rd_{task}.png")
        lines += [f"![{task}](rd_{task}.png)", ""]
    undefined = [r for r in rates if math.isnan(r.value)]
    if undefined:
        lines += [f"{len(undefined)} of {len(rates)} BD-rates are undefined "
                  "(see bd_rates.csv for why; mostly saturated scores).", ""]
    text = "\n".join(lines)
    (folder / "report.md").write_text(text)
    return text
