"""Summarise a coco-val128 sweep folder: per task and anchor, per-photograph BD-rates and their statistics.

Reads the folder's ``results.csv`` (and ``run.json``: the photographs planned and the tasks skipped
with why) and writes beside them:

- ``per_photograph.csv``: every photograph's BD-rate (percent) or why it is undefined, per task,
  sdcomp-lite family, anchor and interpolation;
- ``summary.csv``: one row per (task, sdcomp-lite family, anchor, interpolation): mean, median,
  bootstrap 95% interval, photographs won and defined, undefined by kind, dataset-level BD-rate;
- ``summary.md``: per task its headline metric, how many photographs it applied to and why the rest
  were skipped, then a table per task with pchip and Akima side by side.

All numbers come from :func:`sdcomp_lite.evaluation.statistics.summarize` (docs/evaluation.md states
the procedure); this script only lays them out.

    python benchmarks/coco128_summary.py benchmarks/results/sweep_coco128
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import Counter
from pathlib import Path

from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation.report import load_results
from sdcomp_lite.evaluation.statistics import BDSummary, summarize

METHODS = ("pchip", "akima")


def read_run(folder: Path) -> dict:
    """run.json's ``config`` and ``skipped`` ({} for each when the folder has no run.json)."""
    path = folder / "run.json"
    if not path.is_file():
        return {"config": {}, "skipped": {}}
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataFileError(f"{path} is not a sweep's run.json ({error}); run the sweep again or remove it") from None
    if not isinstance(run, dict) or not isinstance(run.get("skipped", {}), dict):
        raise DataFileError(f"{path} is not a sweep's run.json (no 'skipped' object); run the sweep again")
    return {"config": run.get("config") or {}, "skipped": run.get("skipped") or {}}


def coverage(rows: list[dict], run: dict) -> dict[str, dict]:
    """Per task: the photographs planned, those with rows (applied), and the rest with why (reason -> count)."""
    planned = list(run["config"].get("images") or sorted({r["image"] for r in rows}))
    tasks = list(run["config"].get("tasks") or sorted({r["task"] for r in rows}))
    with_rows = {(r["image"], r["task"]) for r in rows}
    result = {}
    for task in tasks:
        applied = [image for image in planned if (image, task) in with_rows]
        why = Counter(run["skipped"].get(f"{image}/{task}", "no rows in results.csv (not run yet, or failed)")
                      for image in planned if (image, task) not in with_rows)
        result[task] = {"planned": len(planned), "applied": len(applied), "skipped": dict(why)}
    return result


def _signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.1f}%"


def _cell(summary: BDSummary) -> str:
    low, high = summary.interval
    return f"{_signed(summary.mean)} ({_signed(low)} .. {_signed(high)})"


def task_table(summaries: list[BDSummary]) -> str:
    """One Markdown line per (sdcomp-lite family, anchor), pchip and Akima side by side."""
    by_key: dict[tuple[str, str], dict[str, BDSummary]] = {}
    for s in summaries:
        by_key.setdefault((s.test, s.anchor), {})[s.method] = s
    lines = ["| sdcomp-lite | against | mean, pchip (95% CI) | mean, Akima (95% CI) | median pchip / Akima "
             "| won (pchip) | undefined (pchip) | dataset-level pchip / Akima |", "|---|---|---|---|---|---|---|---|"]
    for (test, anchor), methods in by_key.items():
        pchip, akima = methods.get("pchip"), methods.get("akima")
        first = pchip or akima
        undefined = ", ".join(f"{count} {kind}" for kind, count in first.undefined if count) or "none"
        lines.append(
            f"| {test} | {anchor} | {_cell(pchip) if pchip else 'n/a'} | {_cell(akima) if akima else 'n/a'} "
            f"| {_signed(pchip.median) if pchip else 'n/a'} / {_signed(akima.median) if akima else 'n/a'} "
            f"| {first.won} of {first.defined} | {undefined} "
            f"| {_signed(pchip.dataset.percent) if pchip else 'n/a'} / {_signed(akima.dataset.percent) if akima else 'n/a'} "
            f"({len(first.dataset.images)} photographs) |")
    return "\n".join(lines) + "\n"


def summarize_folder(folder: str | Path, samples: int = 10_000) -> list[Path]:
    """Write per_photograph.csv, summary.csv and summary.md beside the folder's results.csv; their paths."""
    folder = Path(folder)
    rows = load_results(folder / "results.csv")
    run = read_run(folder)
    summaries = summarize(rows, methods=METHODS, skipped=run["skipped"], samples=samples)
    paths = [folder / "per_photograph.csv", folder / "summary.csv", folder / "summary.md"]
    with open(paths[0], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("task", "metric", "test", "anchor", "method", "image", "bd_rate_percent", "undefined", "why"))
        for s in summaries:
            writer.writerows((s.task, s.metric, s.test, s.anchor, s.method, image.image,
                              "" if not image.defined else f"{image.percent:.4f}", image.kind, image.reason)
                             for image in s.images)
    with open(paths[1], "w", newline="") as handle:
        flat = [s.row() for s in summaries]
        writer = csv.DictWriter(handle, list(flat[0]) if flat else ["task"])
        writer.writeheader()
        writer.writerows(flat)
    paths[2].write_text(markdown(summaries, coverage(rows, run), folder), encoding="utf-8")
    return paths


def markdown(summaries: list[BDSummary], covered: dict[str, dict], folder: Path) -> str:
    """summary.md: per task, its metric, the photographs it applied to and why not the rest, then its table."""
    parts = [f"# BD-rates of {folder.name}\n",
             "Negative: sdcomp-lite needs fewer bits than the anchor for the same task score. Mean over the "
             "photographs with a BD-rate, with a percentile-bootstrap 95% interval; dataset-level: one BD-rate "
             "between mean curves (docs/evaluation.md).\n"]
    metrics = {s.task: s.metric for s in summaries}
    for task in sorted(set(covered) | set(metrics)):
        cover = covered.get(task, {"planned": 0, "applied": 0, "skipped": {}})
        parts.append(f"## {task} ({metrics.get(task, 'no rows')})\n")
        parts.append(f"Applied to {cover['applied']} of {cover['planned']} photographs.")
        parts.extend(f"- {count} skipped: {why}" for why, count in sorted(cover["skipped"].items(), key=lambda kv: -kv[1]))
        parts.append("")
        own = [s for s in summaries if s.task == task]
        parts.append(task_table(own) if own else "No BD-rates (no rows for this task).\n")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a sweep folder holding results.csv (and run.json)")
    arguments = parser.parse_args()
    for path in summarize_folder(arguments.folder):
        print(path)


if __name__ == "__main__":
    main()
