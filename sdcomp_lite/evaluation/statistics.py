"""Statistics over many photographs: per-photograph BD-rates, their summary, and the dataset-level BD-rate.

A sweep's results table holds one row per (image, codec, variant, quality, layers, task, metric).
For each task, each sdcomp-lite family (the *test*) and each anchor family, :func:`summarize` gives

* **per photograph** the BD-rate of the test's front against the anchor's front
  (:func:`sdcomp_lite.evaluation.bdrate.bd_rate`, fronts as in :mod:`sdcomp_lite.evaluation.report`),
  or why it is undefined: ``saturated``, ``no overlap``, ``too few points`` or ``no reference``;
* **the summary** of the defined ones: mean and median (percent), a percentile-bootstrap 95% interval
  of the mean (resampling photographs with replacement, ``BOOTSTRAP_SAMPLES`` = 10,000 resamples, a
  seeded :func:`numpy.random.default_rng`), the photographs won (BD-rate < 0), and the undefined
  ones counted by kind;
* **the dataset-level BD-rate**, as MPEG FCM's common test conditions compute one: at each rate point
  of the grid (the same codec setting and quality on every photograph) the mean bpp and the mean score
  over photographs make one curve per family; one BD-rate between the two curves' fronts.

Both interpolations (``pchip``, ``akima``) are computed side by side. docs/evaluation.md states the
procedure exactly; notebook 05 reads its tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sdcomp_lite.errors import DataFileError, InvalidParameterError
from sdcomp_lite.evaluation.bdrate import METHODS, BDResult, Point, bd_rate, check_method, raw_front, smoothed_front
from sdcomp_lite.evaluation.results import OURS

BOOTSTRAP_SAMPLES = 10_000
CONFIDENCE = 0.95
UNDEFINED_KINDS = ("saturated", "no overlap", "too few points", "no reference")
COLUMNS = ("image", "codec", "variant", "quality", "layers", "bpp", "task", "metric", "value")
FRONTS = {"smoothed": smoothed_front, "raw": raw_front}

Setting = tuple[str, int]  # (variant, layers): every knob but quality
GridKey = tuple[str, int, int]  # (variant, layers, quality): one rate point of a family's grid


@dataclass(frozen=True)
class ImageBD:
    """One photograph's BD-rate in percent (negative: fewer bits than the anchor), or NaN and why.

    ``kind`` is one of :data:`UNDEFINED_KINDS` when undefined, else "".
    """

    image: str
    percent: float
    reason: str = ""
    kind: str = ""

    @property
    def defined(self) -> bool:
        return not math.isnan(self.percent)


@dataclass(frozen=True)
class DatasetBD:
    """The dataset-level BD-rate: one mean curve per family over the same photographs and grid.

    ``anchor_curve`` and ``test_curve`` are the fronts of the mean curves as (mean bpp, mean score);
    ``images`` the photographs averaged; ``left_out`` ``(image, why)`` for the rest.
    """

    percent: float
    reason: str
    kind: str
    images: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...]
    anchor_curve: tuple[Point, ...]
    test_curve: tuple[Point, ...]

    @property
    def defined(self) -> bool:
        return not math.isnan(self.percent)


@dataclass(frozen=True)
class BDSummary:
    """Per-photograph BD-rates of ``test`` against ``anchor`` on one task, summarized.

    ``mean``, ``median`` and ``interval`` (the bootstrap 95% interval of the mean) are percent over the
    defined photographs (NaN if none); ``won`` counts BD-rate < 0; ``undefined`` is ``(kind, count)``
    for every kind in :data:`UNDEFINED_KINDS`; ``dataset`` the dataset-level BD-rate.
    """

    task: str
    metric: str
    test: str
    anchor: str
    method: str
    front: str
    images: tuple[ImageBD, ...]
    mean: float
    median: float
    interval: tuple[float, float]
    won: int
    undefined: tuple[tuple[str, int], ...]
    dataset: DatasetBD

    @property
    def defined(self) -> int:
        """How many photographs have a BD-rate."""
        return sum(image.defined for image in self.images)

    @property
    def share_won(self) -> float:
        """Photographs won over photographs with a BD-rate (NaN if none)."""
        return self.won / self.defined if self.defined else math.nan

    def row(self) -> dict:
        """One flat row for a CSV or a table (percent, counts, the undefined kinds as ``kind: n``)."""
        return {"task": self.task, "metric": self.metric, "test": self.test, "anchor": self.anchor,
                "method": self.method, "front": self.front, "mean": self.mean, "median": self.median,
                "ci_low": self.interval[0], "ci_high": self.interval[1], "won": self.won, "defined": self.defined,
                "photographs": len(self.images), "dataset": self.dataset.percent,
                "dataset_photographs": len(self.dataset.images),
                "undefined": "; ".join(f"{kind}: {count}" for kind, count in self.undefined if count)}


def bootstrap_interval(values: Sequence[float], samples: int = BOOTSTRAP_SAMPLES, confidence: float = CONFIDENCE,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (e.g. per-photograph BD-rates in percent).

    ``samples`` resamples of ``len(values)`` values drawn with replacement (``np.random.default_rng(seed)``);
    the interval runs between the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of
    their means. ``(nan, nan)`` for no values. Deterministic for a seed.
    """
    if samples < 1 or not 0 < confidence < 1:
        raise InvalidParameterError(f"a bootstrap needs samples >= 1 and 0 < confidence < 1, not {samples} and {confidence}")
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    if not np.all(np.isfinite(data)):
        raise InvalidParameterError("bootstrap_interval takes finite values only; leave undefined BD-rates out first")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, (samples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return (float(low), float(high))


# ----------------------------------------------------------------------------------------------------
# The table, indexed once: task -> image -> family -> (variant, layers, quality) -> (bpp, score)

Table = dict[str, dict[str, dict[str, dict[GridKey, Point]]]]


def _index(rows: Iterable[Mapping]) -> tuple[Table, list[str], dict[str, str]]:
    """The rows of each task's headline metric, indexed; every image in the rows; each task's metric."""
    from sdcomp_lite.evaluation.report import family, headline_metric

    rows = list(rows)
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if missing:
        raise DataFileError(f"the results rows lack the columns {', '.join(missing)}; pass rows like a sweep's results.csv "
                            "(sdcomp_lite.evaluation.report.load_results)")
    metrics = {task: headline_metric(task, rows) for task in sorted({r["task"] for r in rows})}
    table: Table = {task: {} for task in metrics}
    for row in rows:
        if row["metric"] != metrics[row["task"]]:
            continue
        key = (str(row["variant"]), int(row["layers"]), int(row["quality"]))
        by_family = table[row["task"]].setdefault(row["image"], {}).setdefault(family(row), {})
        by_family[key] = (float(row["bpp"]), float(row["value"]))
    return table, sorted({r["image"] for r in rows}), metrics


def _settings(points: Mapping[GridKey, Point]) -> list[list[Point]]:
    grouped: dict[Setting, list[Point]] = {}
    for (variant, layers, _), point in sorted(points.items()):
        grouped.setdefault((variant, layers), []).append(point)
    return list(grouped.values())


def _front(points: Mapping[GridKey, Point], front: str) -> list[Point]:
    return FRONTS[front](_settings(points))


def _image_bd(image: str, families: Mapping[str, Mapping[GridKey, Point]] | None, test: str, anchor: str,
              metric: str, method: str, front: str, skipped: Mapping[str, str], task: str) -> ImageBD:
    if families is None:
        why = skipped.get(f"{image}/{task}", f"the results have no {task} rows for this photograph (no reference)")
        return ImageBD(image, math.nan, why, "no reference")
    for role, name in (("anchor", anchor), ("test", test)):
        if not families.get(name):
            return ImageBD(image, math.nan, f"the {role} ({name}) has no points on this photograph", "too few points")
    fronts = {role: _front(families[name], front) for role, name in (("anchor", anchor), ("test", test))}
    result: BDResult = bd_rate(fronts["anchor"], fronts["test"], method)
    if result.defined:
        return ImageBD(image, result.percent)
    for role, name in (("anchor", anchor), ("test", test)):  # a front of many points collapsed to one: saturated
        if len(fronts[role]) == 1 and len({p[0] for p in families[name].values()}) > 1:
            return ImageBD(image, math.nan, f"saturated: the {role}'s {metric} is {fronts[role][0][1]:.3g} from its lowest "
                                            "rate and never rises", "saturated")
    return ImageBD(image, math.nan, result.reason, result.kind)


def _aligned(points: Mapping[GridKey, Point], key: GridKey) -> Point | None:
    """The image's point at ``key``; a prefix longer than the image's stream is its whole stream.

    An sdcomp-lite image with L layers has no row for a prefix of k > L layers at the same variant and
    quality: decoding k layers of it decodes all L, so its all-layers point stands in.
    """
    if key in points:
        return points[key]
    variant, layers, quality = key
    shorter = [k[1] for k in points if k[0] == variant and k[2] == quality]
    if layers > 0 and shorter and max(shorter) < layers:
        return points[(variant, max(shorter), quality)]
    return None


def _dataset_bd(table: Mapping[str, Mapping[str, Mapping[GridKey, Point]]], test: str, anchor: str, method: str,
                front: str) -> DatasetBD:
    """Mean curves over the photographs that have every grid point of both families (see the module docstring)."""
    names = (anchor, test)
    grids = {name: sorted({key for families in table.values() for key in families.get(name, {})}) for name in names}
    kept, left_out = [], []
    for image, families in sorted(table.items()):
        gaps = [f"{name} {key[0] or 'default'} layers={key[1]} quality={key[2]}" for name in names for key in grids[name]
                if _aligned(families.get(name, {}), key) is None]
        if gaps:
            left_out.append((image, f"no point for {gaps[0]}" + (f" and {len(gaps) - 1} more" if len(gaps) > 1 else "")))
        else:
            kept.append(image)
    if not kept:
        return DatasetBD(math.nan, "no photograph has every grid point of both curves", "too few points", (),
                         tuple(left_out), (), ())
    curves = {}
    for name in names:
        mean = {key: tuple(np.mean([_aligned(table[image][name], key) for image in kept], axis=0).tolist())
                for key in grids[name]}
        curves[name] = _front(mean, front)
    result = bd_rate(curves[anchor], curves[test], method)
    return DatasetBD(result.percent, result.reason, result.kind, tuple(kept), tuple(left_out),
                     tuple(curves[anchor]), tuple(curves[test]))


def _summary(task: str, metric: str, test: str, anchor: str, method: str, front: str, images: tuple[ImageBD, ...],
             dataset: DatasetBD, samples: int, seed: int) -> BDSummary:
    values = [image.percent for image in images if image.defined]
    mean = float(np.mean(values)) if values else math.nan
    median = float(np.median(values)) if values else math.nan
    counts = tuple((kind, sum(image.kind == kind for image in images)) for kind in UNDEFINED_KINDS)
    return BDSummary(task, metric, test, anchor, method, front, images, mean, median,
                     bootstrap_interval(values, samples, seed=seed), sum(v < 0 for v in values), counts, dataset)


def summarize(rows: Iterable[Mapping], anchors: Sequence[str] | None = None, tests: Sequence[str] | None = None,
              methods: Sequence[str] = METHODS, front: str = "smoothed", skipped: Mapping[str, str] | None = None,
              samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> list[BDSummary]:
    """Per-photograph BD-rates and their summary for every (task, test family, anchor family, method).

    ``rows``: the long results table (dicts with :data:`COLUMNS`, as
    :func:`~sdcomp_lite.evaluation.report.load_results` returns them), scored on each task's headline
    metric. ``anchors`` / ``tests``: families (default: every anchor / every sdcomp-lite family in the
    rows). ``front``: ``"smoothed"`` or ``"raw"``. ``skipped``: ``"image/task"`` to why (a sweep's
    run.json ``skipped``); those photographs, and any with no rows for the task, count as ``no reference``.
    The photographs are every image in the rows or in ``skipped``. Ordered by task, test, anchor, method.
    """
    if front not in FRONTS:
        raise InvalidParameterError(f"unknown front {front!r}; choose one of: {', '.join(FRONTS)}")
    for method in methods:
        check_method(method)
    from sdcomp_lite.evaluation.report import anchor_families, family

    rows = list(rows)
    table, images, metrics = _index(rows)
    skipped = dict(skipped or {})
    images = sorted(set(images) | {key.rsplit("/", 1)[0] for key in skipped})
    anchors = anchor_families(rows) if anchors is None else tuple(anchors)
    all_tests = sorted({family(r) for r in rows if r["codec"] == OURS})
    tests = all_tests if tests is None else tuple(tests)
    summaries = []
    for task, metric in metrics.items():
        for test in tests:
            for anchor in anchors:
                for method in methods:
                    per_image = tuple(_image_bd(image, table[task].get(image), test, anchor, metric, method, front,
                                                skipped, task) for image in images)
                    dataset = _dataset_bd(table[task], test, anchor, method, front)
                    summaries.append(_summary(task, metric, test, anchor, method, front, per_image, dataset, samples, seed))
    return summaries


def _signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.1f}%"


def markdown_table(summaries: Sequence[BDSummary]) -> str:
    """A Markdown table, one line per summary: mean (95% CI), median, won of defined, undefined, dataset-level."""
    lines = ["| task | test | against | method | mean BD-rate (95% CI) | median | won | undefined | dataset-level |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        undefined = ", ".join(f"{count} {kind}" for kind, count in s.undefined if count) or "none"
        interval = f"{_signed(s.interval[0])} .. {_signed(s.interval[1])}"
        dataset = f"{_signed(s.dataset.percent)} ({len(s.dataset.images)} photographs)"
        lines.append(f"| {s.task} | {s.test} | {s.anchor} | {s.method} | {_signed(s.mean)} ({interval}) | {_signed(s.median)} "
                     f"| {s.won} of {s.defined} | {undefined} | {dataset} |")
    return "\n".join(lines) + "\n"
