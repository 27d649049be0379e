"""A sweep's report: report.md, bd_rates.csv and one RD plot per task, from its results.csv.

The numbers come from :mod:`~sdcomp_lite.evaluation.rates` (curve families, fronts, BD-rates), the
plots from :mod:`~sdcomp_lite.evaluation.figures`, the rows from the folder's store
(:func:`~sdcomp_lite.evaluation.store.load_results`); this module writes the tables and sentences
around them. Notebook 05 teaches it; its names stay importable from here (the figures' names are
imported when first used, so importing this module loads no matplotlib).

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sdcomp_lite.errors import DataFileError, SdcompError, SweepStateError
from sdcomp_lite.evaluation.rates import (
    FRONTS,
    BDRate,
    all_bd_rates,
    anchor_families,
    bd_rates,
    curves,
    family_order,
    headline_metric,
    settings_points,
)
from sdcomp_lite.evaluation.results import family, row_order
from sdcomp_lite.evaluation.store import MAX_BYTES, load_results, read_regular_file
from sdcomp_lite.registry import lazy_attributes

if TYPE_CHECKING:
    from sdcomp_lite.evaluation.figures import family_colour, fronts_figure, plot_task, rd_figure, zoom_limits

_FIGURES = "sdcomp_lite.evaluation.figures"
__getattr__, __dir__ = lazy_attributes(__name__, {name: _FIGURES for name in (
    "family_colour", "fronts_figure", "plot_task", "rd_figure", "zoom_limits")})
__all__ = ["FRONTS", "BDRate", "all_bd_rates", "anchor_families", "bd_rate_table", "bd_rates", "curves", "family",
           "family_colour", "fronts_figure", "headline_metric", "load_results", "plot_task", "rd_figure", "row_order",
           "settings_points", "sweep_progress", "undefined_summary", "verdict", "write_report", "written_disagreements",
           "zoom_limits"]


def sweep_progress(folder: str | Path) -> tuple[int, int] | None:
    """``(work units finished, work units planned)`` of a sweep folder, from units.csv and run.json;
    None when the folder has no run.json or units.csv (results written by other means). Both are
    read as regular files of bounded size; a damaged one raises
    :class:`~sdcomp_lite.errors.SweepStateError`."""
    from sdcomp_lite.evaluation.sweep import SweepConfig, work_units

    folder = Path(folder)
    run = read_regular_file(folder / "run.json", MAX_BYTES["run.json"], "run.json")
    units = read_regular_file(folder / "units.csv", MAX_BYTES["units.csv"], "units.csv")
    if run is None or units is None:
        return None
    try:
        config = json.loads(run.decode("utf-8"))["config"]
        planned = work_units(SweepConfig.from_dict(config))
    except (ValueError, RecursionError, KeyError, TypeError, SdcompError) as error:
        raise SweepStateError(f"{folder / 'run.json'} is damaged ({' '.join(str(error).split())[:120]}); choose a new "
                              "output folder, or delete this one to start again.") from None
    done = max(0, units.count(b"\n") - 1)
    return done, len(planned)


def _references_line(rows: list[dict]) -> str:
    names = {"pseudo": "pseudo ground truth (the task model on the original image)", "annotations": "data/ annotations"}
    pairs = sorted({(r["task"], r["reference"]) for r in rows})
    return "# Task accuracy against rate\n\nReferences: " + "; ".join(f"{task}: {names[ref]}" for task, ref in pairs) + "."


def _cell(rates: list[BDRate]) -> str:
    values = [r.value for r in rates if not math.isnan(r.value)]
    return f"{np.mean(values):+.1f}% (n={len(values)})" if values else "n/a"


def bd_rate_table(rates: Sequence[BDRate], task: str, anchors: Sequence[str] | None = None) -> str:
    """The markdown table of one task, as in report.md: a row per anchor (default: every anchor in
    ``rates``, in the registry's order), a column per sdcomp-lite family and front; each cell the
    mean BD-rate over the images where it is defined, and their number n ("n/a": defined on none)."""
    anchors = tuple(sorted({r.anchor for r in rates}, key=family_order)) if anchors is None else tuple(anchors)
    return "\n".join(_task_table(list(rates), task, anchors))


def _task_table(rates: list[BDRate], task: str, anchors: tuple[str, ...]) -> list[str]:
    """Rows: anchors; columns: each sdcomp-lite family's smoothed and raw BD-rate."""
    mine = [r for r in rates if r.task == task]
    if not mine:
        return [f"## {task}", "", "No BD-rate: no image has both an sdcomp-lite family and an anchor.", ""]
    tests = sorted({r.test for r in mine})
    header = " | ".join(f"{test}: {front}" for test in tests for front in FRONTS)
    lines = [f"## {task} ({mine[0].metric})", "", f"| anchor | {header} |", "| --- |" + " --- |" * (len(tests) * len(FRONTS))]
    for anchor in (a for a in anchors if any(r.anchor == a for r in mine)):
        cells = [_cell([r for r in mine if (r.test, r.anchor, r.front) == (test, anchor, front)])
                 for test in tests for front in FRONTS]
        lines.append(f"| {anchor} | " + " | ".join(cells) + " |")
    return lines + [""]


def verdict(rates: Sequence[BDRate], task: str, front: str = "smoothed") -> str:
    """A sentence per sdcomp-lite family on ``task``: the anchors it needs fewer bits than (mean
    BD-rate over images < 0), more bits than (>= 0), and those it has no defined BD-rate against."""
    mine = [r for r in rates if r.task == task and r.front == front]
    sentences = []
    for test in sorted({r.test for r in mine}):
        values: dict[str, list[float]] = {}
        for rate in (r for r in mine if r.test == test):
            values.setdefault(rate.anchor, []).extend([] if math.isnan(rate.value) else [rate.value])
        means = {anchor: float(np.mean(v)) if v else math.nan for anchor, v in values.items()}
        ordered = sorted(means, key=family_order)
        groups = (("fewer bits than", [a for a in ordered if means[a] < 0]),
                  ("more bits than", [a for a in ordered if means[a] >= 0]),
                  ("undefined against", [a for a in ordered if math.isnan(means[a])]))
        parts = [f"{words} " + ", ".join(a if "undefined" in words else f"{a} ({means[a]:+.1f}%)" for a in anchors)
                 for words, anchors in groups if anchors]
        sentences.append(f"{test} on {task} ({front} fronts, mean over images): " + "; ".join(parts) + ".")
    return " ".join(sentences)


def written_disagreements(folder: str | Path, rates: Sequence[BDRate]) -> list[tuple] | None:
    """The BD-rates on which the folder's bd_rates.csv (written by :func:`write_report`) and ``rates``
    disagree by more than 1e-4 percentage points (far below the 0.1 the tables print), as ``(image,
    task, test, anchor, front)`` keys (missing on either side counts); None when
    the folder has no bd_rates.csv. An empty list: the written report and ``rates`` agree."""
    path = Path(folder) / "bd_rates.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as handle:
        written = {(r["image"], r["task"], r["test"], r["anchor"], r["front"]): float(r["bd_rate_percent"])
                   for r in csv.DictReader(handle)}
    ours = {(r.image, r.task, r.test, r.anchor, r.front): r.value for r in rates}

    def same(a: float | None, b: float | None) -> bool:
        return a is not None and b is not None and (math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-4)
                                                    or math.isnan(a) and math.isnan(b))

    return sorted(key for key in ours.keys() | written.keys() if not same(ours.get(key), written.get(key)))


def undefined_summary(rates: Sequence[BDRate]) -> str:
    """One sentence: how many of ``rates`` are undefined, and why (see bd_rates.csv's note)."""
    undefined = [r for r in rates if math.isnan(r.value)]
    if not undefined:
        return f"All {len(rates)} BD-rates are defined."
    reasons: dict[str, int] = {}
    for rate in undefined:
        reason = ("saturated score" if rate.note.startswith("saturated") else "no overlap of scores"
                  if "do not overlap" in rate.note else "fewer than 2 points" if "fewer than 2" in rate.note else rate.note)
        reasons[reason] = reasons.get(reason, 0) + 1
    why = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda item: -item[1]))
    return f"{len(undefined)} of {len(rates)} BD-rates are undefined ({why}; bd_rates.csv says why for each)."


def write_report(folder: str | Path, anchors: Sequence[str] | None = None) -> str:
    """Write report.md, bd_rates.csv and one RD plot per task into the sweep folder; return the text.

    ``anchors``: the anchor families to compare with (default: every one in the results).
    """
    from sdcomp_lite.evaluation import figures

    folder = Path(folder)
    rows = load_results(folder / "results.csv")
    if not rows:
        raise DataFileError(f"{folder / 'results.csv'} holds no results yet")
    anchors = anchor_families(rows) if anchors is None else tuple(anchors)
    rates = all_bd_rates(rows, anchors)
    with open(_output(folder / "bd_rates.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "task", "metric", "test", "anchor", "front", "bd_rate_percent", "score_low",
                         "score_high", "note"])
        writer.writerows([[r.image, r.task, r.metric, r.test, r.anchor, r.front, r.value, *r.interval, r.note]
                          for r in rates])
    progress = sweep_progress(folder)
    lines = [_references_line(rows), ""]
    if progress is not None:
        lines += [f"Work units finished: {progress[0]} of {progress[1]}"
                  + ("." if progress[0] >= progress[1] else " (a partial sweep: these numbers will change)."), ""]
    lines += ["BD-rate (%) of each sdcomp-lite family (one ranker, over qualities, background settings and layer "
             "prefixes) against each anchor, on the task's headline metric; negative = fewer bits for the same score; "
             "mean over images where defined (n). *smoothed*: a monotone fit of score on rate per setting, then the "
             "upper envelope over settings; *raw*: the Pareto front of every point (flattered by lucky points).", ""]
    for task in sorted({r.task for r in rates}):
        lines += _task_table(rates, task, anchors)
        lines += [verdict(rates, task, front) for front in FRONTS] + [""]
        figures.plot_task(rows, task, _output(folder / f"rd_{task}.png"))
        lines += [f"![{task}](rd_{task}.png)", ""]
    lines += [undefined_summary(rates), ""]
    text = "\n".join(lines)
    _output(folder / "report.md").write_text(text)
    return text


def _output(path: Path) -> Path:
    """``path``, if writing it replaces nothing but a regular file (a FIFO there would block the write)."""
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise DataFileError(f"{path} exists and is not a regular file (a folder, a FIFO or a device); move it away "
                            "and run again.")
    return path
