"""Tables and plots from a sweep's results.csv: RD curves per task and BD-rate against each anchor.

Rows form curve *families*: a codec, and for sdcomp-lite its ranker (``sdcomp-lite (offline)``).
A variant's ``key=value`` words (``bq=10 bs=4``, roi-hevc's ``bg=+12``) and sdcomp-lite's layer
prefix are *settings* within a family. Each family gives two fronts (see
:mod:`sdcomp_lite.evaluation.bdrate`): the *smoothed* front (a monotone fit per setting, then the
upper envelope over settings) and the *raw* Pareto front of all its points. Every BD-rate is
computed on both, on the task's headline metric (its ``metric`` in the task registry), for every
sdcomp-lite family against every anchor family, unfavourable ones included.

Fronts compare scores to ``bdrate.SCORE_DECIMALS`` decimals: a perfect AP that a metric sums to
0.9999999999999999 is the same score as 1.0, so float noise never counts as a rise.
Notebook 05 teaches this module; :func:`all_bd_rates` is the one computation behind report.md,
bd_rates.csv and the notebook's tables.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: saving plots must not change the caller's backend
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from sdcomp_lite.errors import DataFileError, SdcompError, SweepStateError
from sdcomp_lite.evaluation.bdrate import Point, bd_rate, monotone_fit, raw_front, smoothed_front
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
    interval: tuple[float, float] = (math.nan, math.nan)  # the score interval averaged over


def load_results(path: str | Path) -> list[dict]:
    """The rows of a results.csv, with numbers as numbers.

    Raises :class:`~sdcomp_lite.errors.DataFileError` for a missing file, one that is not a regular
    file of at most 256 MiB (a FIFO, /dev/zero), not UTF-8, without the sweep's columns, or with a
    row whose numbers do not parse (naming the line).
    """
    from sdcomp_lite.evaluation.sweep import COLUMNS, MAX_BYTES, read_regular_file

    path = Path(path)
    data = read_regular_file(path, MAX_BYTES["results.csv"], "results file", DataFileError)
    if data is None:
        raise DataFileError(f"no results at {path}; run the sweep first")
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataFileError(f"{path} is not a sweep's results file ({' '.join(str(error).split())[:100]}); run the "
                            "sweep again (it repairs its folder) or choose the right file.") from None
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise DataFileError(f"{path} lacks the columns {missing}; it was not written by a sweep of this release.")
    for line, row in enumerate(rows, 2):
        try:
            for key in ("quality", "layers", "bytes"):
                row[key] = int(row[key])
            for key in ("bpp", "value"):
                row[key] = float(row[key])
        except (TypeError, ValueError):
            raise DataFileError(f"{path}, line {line}: a number does not parse; run the sweep again with the same "
                                "command (a resume drops damaged rows and runs their units again).") from None
    return sorted(rows, key=row_order)


def sweep_progress(folder: str | Path) -> tuple[int, int] | None:
    """``(work units finished, work units planned)`` of a sweep folder, from units.csv and run.json;
    None when the folder has no run.json or units.csv (results written by other means). Both are
    read as regular files of bounded size; a damaged one raises
    :class:`~sdcomp_lite.errors.SweepStateError`."""
    from sdcomp_lite.evaluation.sweep import MAX_BYTES, SweepConfig, read_regular_file, work_units

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


def settings_points(rows: list[dict], task: str, metric: str, image: str) -> dict[str, dict[tuple[str, int], list[Point]]]:
    """Per family, the (bpp, score) points of each of its settings, keyed by ``(variant, layers)``
    (quality varies along a setting)."""
    grouped: dict[str, dict[tuple[str, int], list[Point]]] = {}
    for row in rows:
        if row["task"] == task and row["metric"] == metric and row["image"] == image:
            setting = (row["variant"], row["layers"])
            grouped.setdefault(family(row), {}).setdefault(setting, []).append((row["bpp"], row["value"]))
    return grouped


def _front(settings: list[list[Point]], front: str) -> list[Point]:
    return {"smoothed": smoothed_front, "raw": raw_front}[front](settings)


def curves(rows: list[dict], task: str, metric: str, image: str, front: str = "smoothed") -> dict[str, list[Point]]:
    """Each family's front (``"smoothed"`` or ``"raw"``) for one image and one task metric, as (bpp, score)."""
    return {name: _front(list(settings.values()), front)
            for name, settings in settings_points(rows, task, metric, image).items()}


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
            settings = settings_points(rows, task, metric, image)
            fronts = {name: _front(list(s.values()), front) for name, s in settings.items()}
            for test in sorted(n for n in fronts if n.startswith("sdcomp-lite")):
                for anchor in (a for a in anchors if a in fronts):
                    result = bd_rate(fronts[anchor], fronts[test])
                    note = (_saturated(fronts, settings, anchor, test, metric) or result.reason) if result.reason else ""
                    results.append(BDRate(image, task, metric, test, anchor, result.percent, note, front, result.interval))
    return results


def _saturated(fronts: dict, settings: dict, anchor: str, test: str, metric: str) -> str:
    """Why a BD-rate is undefined when a front of several points collapsed to one: the score never rises."""
    for role, name in (("anchor", anchor), ("test", test)):
        if len(fronts[name]) == 1 and sum(map(len, settings[name].values())) > 1:
            return f"saturated: the {role}'s {metric} is {fronts[name][0][1]:.3g} from its lowest rate and never rises"
    return ""


def all_bd_rates(rows: list[dict], anchors: Sequence[str] | None = None) -> list[BDRate]:
    """:func:`bd_rates` on both fronts (smoothed, then raw): what report.md and bd_rates.csv hold."""
    return [rate for front in FRONTS for rate in bd_rates(rows, anchors, front)]


# One colour per curve family in every figure: anchors in the anchor registry's order, sdcomp-lite's
# rankers in the ranker registry's order (the offline ranker black).
_ANCHOR_PALETTE = ("#e6194b", "#f58231", "#3cb44b", "#911eb4", "#42d4f4", "#4363d8", "#f032e6", "#9a6324", "#808000")
_SDCOMP_PALETTE = ("#000000", "#469990", "#800000", "#000075", "#9a6324", "#808000", "#555555")


def family_colour(name: str) -> str:
    """The colour of a curve family (``"jpeg"``, ``"sdcomp-lite (offline)"``) in every RD figure."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS
    from sdcomp_lite.ranking.registry import RANKERS

    if name.startswith("sdcomp-lite"):
        ranker, names, palette = name[len("sdcomp-lite ("):-1], RANKERS.names(), _SDCOMP_PALETTE
    else:
        ranker, names, palette = name, REFERENCE_CODECS.names(), _ANCHOR_PALETTE
    return palette[names.index(ranker) % len(palette)] if ranker in names else palette[-1]


def _family_order(name: str) -> tuple:
    """sdcomp-lite families first, then the anchors in the registry's order."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS

    names = REFERENCE_CODECS.names()
    return (not name.startswith("sdcomp"), names.index(name) if name in names else len(names), name)


def zoom_limits(fronts: dict[str, list[Point]], extra: dict[str, list[Point]] | None = None,
                ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits ``((bpp_low, bpp_high), (score_low, score_high))`` on where the ``fronts`` differ.

    Scores run from the lowest score an anchor's front reaches (a BD-rate is measured only where both
    curves have points, so sdcomp-lite's cheaper and poorer prefixes below it are cut off) to the
    best; with no anchor, or anchors whose scores span less than 0.02 (saturated), every score.
    Rates run from the cheapest point in that score range to 1.5 x the rate at which the last front
    comes within 1% of its own best score (beyond, every front is flat), and at least past
    sdcomp-lite's dearest point. ``extra`` points (raw
    fronts) widen the score range but do not set the rates.
    """
    fronts = {name: front for name, front in fronts.items() if front}
    every = {name: fronts.get(name, []) + (extra or {}).get(name, []) for name in fronts}
    scores = [s for front in every.values() for _, s in front]
    anchor_scores = [s for name, front in every.items() if not name.startswith("sdcomp") for _, s in front]
    high = max(scores)
    low = min(anchor_scores) if anchor_scores and high - min(anchor_scores) >= 0.02 else min(scores)
    reach = [next(r for r, s in front if s >= front[-1][1] - 0.01 * max(abs(front[-1][1]), 1e-9))
             for front in fronts.values()]
    x_low = min(r for front in every.values() for r, s in front if s >= low) / 1.25
    tests = [r for name, front in fronts.items() if name.startswith("sdcomp") for r, _ in front]
    x_high = max(max(reach) * 1.5, x_low * 2.5, max(tests, default=0.0) * 1.1)
    margin = 0.06 * (high - low) if high - low >= 0.01 else 0.05  # every score equal: show a band around it
    return (x_low, x_high), (low - margin, high + margin)


def _format_axes(ax, title: str, metric: str, limits=None, fonts: float = 12) -> None:
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    ax.set_title(title, fontsize=fonts + 1)
    ax.set_xlabel("bits per pixel (log scale)", fontsize=fonts)
    ax.set_ylabel(metric, fontsize=fonts)
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    narrow = math.log10(high / low) < 1.5  # less than 1.5 decades: label more of them
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0) if narrow else (1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels on a log axis overlap
    ax.ticklabel_format(axis="y", useOffset=False)  # scores as they are, not as offsets from 1
    ax.tick_params(labelsize=fonts - 1)
    ax.grid(alpha=0.3, which="both")


def _below_frame_note(ax, fronts: dict[str, list[Point]], score_low: float) -> None:
    """Name what the zoom cut off below the frame, so that no point disappears silently."""
    notes = [f"{name} below the frame: down to {min(s for _, s in front):.3g} at {front[0][0]:.3g} bpp"
             for name, front in fronts.items() if front and min(s for _, s in front) < score_low]
    if notes:
        ax.text(0.99, 0.02, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom", fontsize=9,
                color="0.3", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8"})


def _rd_panel(ax, rows: list[dict], task: str, metric: str, image: str, names: list[str], raw: bool) -> None:
    smoothed, raw_fronts = curves(rows, task, metric, image), curves(rows, task, metric, image, "raw")
    for name in (n for n in names if smoothed.get(n)):
        sdcomp = name.startswith("sdcomp")
        ax.plot(*zip(*smoothed[name]), "-" if sdcomp else "--", marker="s", markersize=4, color=family_colour(name),
                linewidth=2.8 if sdcomp else 1.6, label=name if sdcomp else f"anchor: {name}", zorder=3 if sdcomp else 2)
        if raw:
            ax.plot(*zip(*raw_fronts[name]), "o", color=family_colour(name), markersize=8, markerfacecolor="none",
                    alpha=0.6)
    limits = zoom_limits(smoothed, raw_fronts) if any(smoothed.values()) else None
    _format_axes(ax, f"{image}: {task}", metric, limits)
    if limits is not None:
        _below_frame_note(ax, smoothed, limits[1][0])


def rd_figure(rows: list[dict], task: str, images: Sequence[str] | None = None, columns: int = 2,
              raw: bool = True) -> Figure:
    """Score (the task's headline metric) against bpp, one panel per image (default: every image of
    the task): each family's smoothed front as a line (sdcomp-lite solid and thick, anchors dashed)
    and, if ``raw``, its raw Pareto front as open circles; zoomed by :func:`zoom_limits`, one colour
    per family (:func:`family_colour`), a legend that names every anchor."""
    metric = headline_metric(task, rows)
    images = sorted({r["image"] for r in rows if r["task"] == task}) if images is None else list(images)
    names = sorted({family(r) for r in rows if r["task"] == task}, key=_family_order)
    columns = max(1, min(columns, len(images)))
    grid_rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(max(12.0, 7.5 * columns), (7.0 if grid_rows == 1 and columns == 1 else 5.2) * grid_rows + 1.8),
                    layout="constrained")
    axes = figure.subplots(grid_rows, columns, squeeze=False).ravel()
    for ax, image in zip(axes, images):
        _rd_panel(ax, rows, task, metric, image, names, raw)
    for ax in axes[len(images):]:
        ax.set_visible(False)
    legend = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels())}
    labels = sorted(legend, key=lambda label: _family_order(label.removeprefix("anchor: ")))
    figure.legend([legend[label] for label in labels], labels, loc="outside lower center", fontsize=12,
                  ncol=min(4, max(1, len(labels))))
    figure.suptitle(f"{task} ({metric}) against rate\nlines with squares: smoothed fronts"
                    + ("; open circles: raw Pareto fronts" if raw else ""), fontsize=14)
    return figure


def plot_task(rows: list[dict], task: str, path: Path) -> None:
    """Save :func:`rd_figure` of every image of ``task`` to ``path`` (a PNG)."""
    rd_figure(rows, task).savefig(path, dpi=100)


def fronts_figure(rows: list[dict], task: str, image: str, test: str = "sdcomp-lite (offline)",
                  anchor: str | None = None) -> Figure:
    """How a family's fronts are built, on one image and task: every point of ``test`` (grey dots),
    each setting's monotone fit (thin grey lines: one setting, quality varying), the raw Pareto front
    (open circles) and the smoothed front (thick line), and ``anchor``'s two fronts. Left: every
    score; right: zoomed on the anchor's range, with the score interval its BD-rate averages over shaded."""
    metric = headline_metric(task, rows)
    settings = settings_points(rows, task, metric, image)
    smoothed, raw_fronts = curves(rows, task, metric, image), curves(rows, task, metric, image, "raw")
    figure = Figure(figsize=(15, 6.2), layout="constrained")
    for ax, zoom in zip(figure.subplots(1, 2), (False, True)):
        for index, setting in enumerate(settings[test].values()):
            ax.plot(*zip(*setting), ".", color="0.6", markersize=5, label="every point" if index == 0 else None)
            ax.plot(*zip(*monotone_fit(setting)), "-", color="0.6", linewidth=0.7, alpha=0.6,
                    label="one setting's monotone fit" if index == 0 else None)
        ax.plot(*zip(*raw_fronts[test]), "o", color="#e6194b", markersize=10, markerfacecolor="none", markeredgewidth=1.5,
                label=f"{test}: raw Pareto front")
        ax.plot(*zip(*smoothed[test]), "-s", color=family_colour(test), linewidth=2.8, markersize=4,
                label=f"{test}: smoothed front")
        limits = None
        if anchor is not None and smoothed.get(anchor):
            ax.plot(*zip(*smoothed[anchor]), "--s", color=family_colour(anchor), linewidth=1.8, markersize=4,
                    label=f"anchor: {anchor}, smoothed front")
            ax.plot(*zip(*raw_fronts[anchor]), "o", color=family_colour(anchor), markersize=10, markerfacecolor="none",
                    markeredgewidth=1.5, label=f"anchor: {anchor}, raw Pareto front")
            result = bd_rate(smoothed[anchor], smoothed[test])
            if zoom and result.defined:
                ax.axhspan(*result.interval, color="#ffe119", alpha=0.25,
                           label=f"score interval of the smoothed BD-rate against {anchor}")
            if zoom:
                limits = zoom_limits({test: smoothed[test], anchor: smoothed[anchor]},
                                     {test: raw_fronts[test], anchor: raw_fronts[anchor]})
        title = f"{image}: {task}, " + ("zoomed on the anchor's scores" if zoom else "every score")
        _format_axes(ax, title, metric, limits)
        if limits is not None:
            _below_frame_note(ax, {test: smoothed[test]}, limits[1][0])
    handles, labels = figure.axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", fontsize=12, ncol=3)
    return figure


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
    anchors = tuple(sorted({r.anchor for r in rates}, key=_family_order)) if anchors is None else tuple(anchors)
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
        ordered = sorted(means, key=_family_order)
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
        plot_task(rows, task, _output(folder / f"rd_{task}.png"))
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
