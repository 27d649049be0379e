"""Tables and plots from a sweep's results.csv: RD curves per task and BD-rate against each anchor.

Rows form curve *families*: a codec, and for sdcomp-lite its ranker (``sdcomp-lite (offline)``).
A variant's ``key=value`` words (``bq=10 bs=4``, roi-hevc's ``bg=+12``) and sdcomp-lite's layer
prefix are *settings* within a family. Each family gives two fronts (see
:mod:`sdcomp_lite.evaluation.bdrate`): the *smoothed* front (a monotone fit per setting, then the
upper envelope over settings) and the *raw* Pareto front of all its points. Every BD-rate is
computed on both, on the task's headline metric (its ``metric`` in the task registry), for every
sdcomp-lite family against every anchor family, unfavourable ones included.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: saving plots must not change the caller's backend
from matplotlib.ticker import NullFormatter

from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation.bdrate import Point, bd_rate, raw_front, smoothed_front
from sdcomp_lite.evaluation.sweep import parse_variant

FRONTS = ("smoothed", "raw")


@dataclass(frozen=True)
class BDRate:
    """One BD-rate: ``test`` against ``anchor`` on one image and task, from the ``front`` named."""

    image: str
    task: str
    metric: str
    test: str
    anchor: str
    value: float  # percent; negative means fewer bits than the anchor at equal score; NaN if undefined
    note: str = ""  # why it is undefined
    front: str = "smoothed"


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


def headline_metric(task: str, rows: Sequence[dict] = ()) -> str:
    """The task's registered headline metric; for an unregistered task, its first metric in ``rows``."""
    from sdcomp_lite.evaluation.tasks import TASKS, task_class

    if task in TASKS:
        return task_class(task).metric
    return min((r["metric"] for r in rows if r["task"] == task), default="value")


def family(row: dict) -> str:
    """The curve family of a row: the codec, with the variant's name (sdcomp-lite's ranker) if it has one."""
    name, _ = parse_variant(row["variant"])
    return f"{row['codec']} ({name})" if name else row["codec"]


def _settings(rows: list[dict], task: str, metric: str, image: str) -> dict[str, list[list[Point]]]:
    """Per family, the (bpp, score) points of each setting (variant and layer prefix; quality varies)."""
    grouped: dict[str, dict[tuple, list[Point]]] = {}
    for row in rows:
        if row["task"] == task and row["metric"] == metric and row["image"] == image:
            setting = (row["variant"], row["layers"])
            grouped.setdefault(family(row), {}).setdefault(setting, []).append((row["bpp"], row["value"]))
    return {name: list(settings.values()) for name, settings in grouped.items()}


def curves(rows: list[dict], task: str, metric: str, image: str, front: str = "smoothed") -> dict[str, list[Point]]:
    """Each family's front (``"smoothed"`` or ``"raw"``) for one image and one task metric, as (bpp, score)."""
    build = {"smoothed": smoothed_front, "raw": raw_front}[front]
    return {name: build(settings) for name, settings in _settings(rows, task, metric, image).items()}


def anchor_families(rows: list[dict]) -> tuple[str, ...]:
    """Every family in the rows that is not sdcomp-lite, in the anchor registry's order."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS

    order = {name: index for index, name in enumerate(REFERENCE_CODECS.names())}
    names = {family(r) for r in rows if r["codec"] != "sdcomp-lite"}
    return tuple(sorted(names, key=lambda n: (order.get(n, len(order)), n)))


def bd_rates(rows: list[dict], anchors: Sequence[str] | None = None, front: str = "smoothed") -> list[BDRate]:
    """BD-rate of every sdcomp-lite family against every anchor (default: all in the rows), per image
    and task, on the task's headline metric, from the ``front`` named."""
    anchors = anchor_families(rows) if anchors is None else tuple(anchors)
    results = []
    for task in sorted({r["task"] for r in rows}):
        metric = headline_metric(task, rows)
        for image in sorted({r["image"] for r in rows if r["task"] == task}):
            fronts = curves(rows, task, metric, image, front)
            for test in sorted(n for n in fronts if n.startswith("sdcomp-lite")):
                for anchor in (a for a in anchors if a in fronts):
                    result = bd_rate(fronts[anchor], fronts[test])
                    results.append(BDRate(image, task, metric, test, anchor, result.percent, result.reason, front))
    return results


def _zoom(fronts: list[list[Point]]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits around where the curves differ: from the cheapest point to where the last curve
    has come within 1% of its own best score (beyond, every curve is flat)."""
    fronts = [f for f in fronts if f]
    rates = [r for f in fronts for r, _ in f]
    reach = [next(r for r, s in f if s >= f[-1][1] - 0.01 * max(abs(f[-1][1]), 1e-9)) for f in fronts]
    x_low, x_high = min(rates) / 1.25, max(max(reach) * 1.5, min(rates) * 2)
    scores = [s for f in fronts for r, s in f if r <= x_high]
    margin = 0.05 * max(max(scores) - min(scores), 0.02)
    return (x_low, x_high), (min(scores) - margin, max(scores) + margin)


def plot_task(rows: list[dict], task: str, path: Path) -> None:
    """One panel per image: each family's smoothed front (line) and raw Pareto front (open circles)."""
    metric = headline_metric(task, rows)
    images = sorted({r["image"] for r in rows if r["task"] == task})
    names = sorted({family(r) for r in rows if r["task"] == task}, key=lambda n: (not n.startswith("sdcomp"), n))
    colours = {name: f"C{index % 10}" for index, name in enumerate(names)}
    columns = min(2, len(images))
    grid_rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(max(10, 7 * columns), 5 * grid_rows + 1.5), layout="constrained")
    axes = figure.subplots(grid_rows, columns, squeeze=False).ravel()
    for ax, image in zip(axes, images):
        smoothed, raw = curves(rows, task, metric, image), curves(rows, task, metric, image, "raw")
        for name in names:
            if smoothed.get(name):
                sdcomp = name.startswith("sdcomp")
                label = name if sdcomp else f"anchor: {name}"
                ax.plot(*zip(*smoothed[name]), "-" if sdcomp else "--", marker="s", markersize=4, color=colours[name],
                        linewidth=2.4 if sdcomp else 1.6, label=label)
                ax.plot(*zip(*raw[name]), "o", color=colours[name], markersize=8, markerfacecolor="none", alpha=0.7)
        if any(smoothed.values()):
            (x_limits, y_limits) = _zoom(list(smoothed.values()) + list(raw.values()))
            ax.set_xlim(*x_limits)
            ax.set_ylim(*y_limits)
        ax.set_title(f"{image}: {task}", fontsize=13)
        ax.set_xlabel("bits per pixel (log scale)", fontsize=11)
        ax.set_ylabel(metric, fontsize=11)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels on a log axis overlap
        ax.grid(alpha=0.3, which="both")
    for ax in axes[len(images):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=min(3 * columns, max(1, len(labels))), fontsize=11)
    figure.suptitle(f"{task} ({metric}) against rate\n"
                    "lines with squares: smoothed fronts; open circles: raw Pareto fronts", fontsize=13)
    figure.savefig(path, dpi=100)


def _references_line(rows: list[dict]) -> str:
    names = {"pseudo": "pseudo ground truth (the task model on the original image)", "annotations": "data/ annotations"}
    pairs = sorted({(r["task"], r["reference"]) for r in rows})
    return "# Task accuracy against rate\n\nReferences: " + "; ".join(f"{task}: {names[ref]}" for task, ref in pairs) + "."


def _cell(rates: list[BDRate]) -> str:
    values = [r.value for r in rates if not math.isnan(r.value)]
    return f"{np.mean(values):+.1f}% (n={len(values)})" if values else "n/a"


def _task_table(rates: list[BDRate], task: str, anchors: tuple[str, ...]) -> list[str]:
    """Rows: anchors; columns: each sdcomp-lite family's smoothed and raw BD-rate."""
    mine = [r for r in rates if r.task == task]
    tests = sorted({r.test for r in mine})
    header = " | ".join(f"{test}: {front}" for test in tests for front in FRONTS)
    lines = [f"## {task} ({mine[0].metric})", "", f"| anchor | {header} |", "| --- |" + " --- |" * (len(tests) * len(FRONTS))]
    for anchor in (a for a in anchors if any(r.anchor == a for r in mine)):
        cells = [_cell([r for r in mine if (r.test, r.anchor, r.front) == (test, anchor, front)])
                 for test in tests for front in FRONTS]
        lines.append(f"| {anchor} | " + " | ".join(cells) + " |")
    return lines + [""]


def write_report(folder: str | Path, anchors: Sequence[str] | None = None) -> str:
    """Write report.md, bd_rates.csv and one RD plot per task into the sweep folder; return the text.

    ``anchors``: the anchor families to compare with (default: every one in the results).
    """
    folder = Path(folder)
    rows = load_results(folder / "results.csv")
    if not rows:
        raise DataFileError(f"{folder / 'results.csv'} holds no results yet")
    anchors = anchor_families(rows) if anchors is None else tuple(anchors)
    rates = [rate for front in FRONTS for rate in bd_rates(rows, anchors, front)]
    with open(folder / "bd_rates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "task", "metric", "test", "anchor", "front", "bd_rate_percent", "note"])
        writer.writerows([[r.image, r.task, r.metric, r.test, r.anchor, r.front, r.value, r.note] for r in rates])
    lines = [_references_line(rows), "",
             "BD-rate (%) of each sdcomp-lite family (one ranker, over qualities, background settings and layer "
             "prefixes) against each anchor, on the task's headline metric; negative = fewer bits for the same score; "
             "mean over images where defined (n). *smoothed*: a monotone fit of score on rate per setting, then the "
             "upper envelope over settings; *raw*: the Pareto front of every point (flattered by lucky points).", ""]
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
