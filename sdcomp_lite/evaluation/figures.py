"""Figures of a sweep's results: RD curves per task (:func:`rd_figure`), how a family's fronts are built
(:func:`fronts_figure`), one colour per curve family (:func:`family_colour`) and the zoom on where fronts differ
(:func:`zoom_limits`). The numbers they draw come from :mod:`~sdcomp_lite.evaluation.rates`.

Matplotlib's ``Figure`` only, never pyplot: saving plots must not change the caller's backend.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from sdcomp_lite.evaluation.bdrate import Point, bd_rate, monotone_fit
from sdcomp_lite.evaluation.rates import curves, family_order, headline_metric, settings_points
from sdcomp_lite.evaluation.results import OURS, family, is_ours
from sdcomp_lite.plotting import codec_colour

OFFLINE_COLOUR = "#000000"  # sdcomp-lite with the offline ranker, the curve each figure is about


def family_colour(name: str) -> str:
    """The colour (hex) of a curve family (``"jpeg"``, ``"sdcomp-lite (offline)"``) in every RD figure: the
    offline sdcomp-lite black, the others the codec palette (:func:`~sdcomp_lite.plotting.codec_colour`, never an
    object's colour) in one order: the anchors in the anchor registry's order, then sdcomp-lite's other rankers in
    the ranker registry's order."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS
    from sdcomp_lite.ranking.registry import RANKERS

    if name == f"{OURS} (offline)":
        return OFFLINE_COLOUR
    families = (*REFERENCE_CODECS.names(), *(f"{OURS} ({ranker})" for ranker in RANKERS.names() if ranker != "offline"))
    return codec_colour(name, families)


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
    anchor_scores = [s for name, front in every.items() if not is_ours(name) for _, s in front]
    high = max(scores)
    low = min(anchor_scores) if anchor_scores and high - min(anchor_scores) >= 0.02 else min(scores)
    reach = [next(r for r, s in front if s >= front[-1][1] - 0.01 * max(abs(front[-1][1]), 1e-9))
             for front in fronts.values()]
    x_low = min(r for front in every.values() for r, s in front if s >= low) / 1.25
    tests = [r for name, front in fronts.items() if is_ours(name) for r, _ in front]
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
        sdcomp = is_ours(name)
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
    names = sorted({family(r) for r in rows if r["task"] == task}, key=family_order)
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
    labels = sorted(legend, key=lambda label: family_order(label.removeprefix("anchor: ")))
    figure.legend([legend[label] for label in labels], labels, loc="outside lower center", fontsize=12,
                  ncol=min(4, max(1, len(labels))))
    figure.suptitle(f"{task} ({metric}) against rate\nlines with squares: smoothed fronts"
                    + ("; open circles: raw Pareto fronts" if raw else ""), fontsize=14)
    return figure


def plot_task(rows: list[dict], task: str, path: Path) -> None:
    """Save :func:`rd_figure` of every image of ``task`` to ``path`` (a PNG)."""
    rd_figure(rows, task).savefig(path, dpi=100)


def fronts_figure(rows: list[dict], task: str, image: str, test: str = f"{OURS} (offline)",
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
        ax.plot(*zip(*raw_fronts[test]), "o", color=family_colour(test), markersize=10, markerfacecolor="none",
                markeredgewidth=1.5, label=f"{test}: raw Pareto front")
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
