"""How much of sdcomp-lite's person-segmentation result is the ranking? An upper bound for rankers.

The sweeps rank the annotated objects with the offline ranker (label similarity to "find every
person", size, centre). This benchmark replaces it by a ranker that *knows the receiver's model*:
each object's importance is the share of its mask inside the task model's own person mask on the
original photograph (MediaPipe; the pseudo ground truth the task is scored against). No real
encoder has that (unless it runs the receiver's model), and the reference is that very mask, so
this is an upper bound on what a better ranking alone can buy, not a method.

Everything else is the committed sweeps' grid (``benchmarks/sweep_default.json`` and
``sweep_heldout.json``: qualities, background qualities and scales, mask scale, preview); the
anchors are the committed sweeps' own rows, so run this after the sweeps. BD-rates on smoothed
fronts with the report's one implementation (:func:`sdcomp_lite.evaluation.report.all_bd_rates`).

Writes to benchmarks/results/:
  ranking_upper_bound.csv   the task-model ranking's rate points (the sweeps' columns)
  ranking_upper_bound.md    both rankings' orders and BD-rates against every anchor, per image

Run from the repository root:  python benchmarks/ranking_upper_bound.py   (about 2 CPU minutes)
"""

from __future__ import annotations

import csv
import datetime
import platform
from dataclasses import replace
from pathlib import Path

import numpy as np

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.report import all_bd_rates, load_results
from sdcomp_lite.evaluation.sweep import COLUMNS, SweepConfig, work_units
from sdcomp_lite.ranking import get_ranker
from sdcomp_lite.ranking.base import Ranking

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TASK = "person-segmentation"
SWEEPS = ("sweep_default", "sweep_heldout")
ORACLE = "taskmodel"  # the variant prefix of this ranker's rows: family "sdcomp-lite (taskmodel)"


def task_model_ranking(objects, person: np.ndarray) -> Ranking:
    """Each object's share of its mask inside ``person`` (bool (H, W)), highest first; ties by id."""
    share = {obj.object_id: float((obj.mask & person).sum() / max(int(obj.mask.sum()), 1)) for obj in objects}
    order = tuple(sorted(share, key=lambda i: (-share[i], i)))
    return Ranking(order, {i: round(share[i], 6) for i in order}, "task-model-overlap (upper bound)", "find every person")


def rate_points(config: SweepConfig, image: str, offline) -> tuple[list[dict], str] | None:
    """The task-model ranking's rows for one image over the sweep's grid, and a line on both orders
    (``offline``: the sweeps' offline ranker, for the comparison)."""
    references, _ = worker.references(image, config)
    if TASK not in references:
        return None
    person = np.logical_or.reduce([obj.mask for obj in references[TASK].value])
    sample = load_sample(image)
    objects = list(sample.objects)
    ranking = task_model_ranking(objects, person)
    offline_order = offline.rank(sample.image, objects, config.ranking_prompt(TASK))
    rows = []
    for unit in work_units(config):
        if unit.image == image and unit.codec == "sdcomp-lite" and unit.variant.startswith("offline"):
            unit = replace(unit, variant=ORACLE + unit.variant[len("offline"):])
            rows += worker.run_unit(unit, config, (references, {}), {TASK: ranking})
    line = (f"| {image} | {', '.join(offline_order.labels(objects))} | "
            + ", ".join(f"{label} ({ranking.scores[i]:.2f})" for label, i in zip(ranking.labels(objects), ranking.order))
            + " |")
    return rows, line


def main() -> None:
    rows, orders, anchors = [], [], []
    offline = get_ranker("offline")  # loads its text model once
    for sweep in SWEEPS:
        config = SweepConfig.from_json(HERE / f"{sweep}.json")
        try:
            committed = load_results(RESULTS / sweep / "results.csv")
        except DataFileError as error:
            print(f"{sweep} skipped: {error}")
            continue
        config = replace(config, tasks=(TASK,), codecs=())
        for image in config.images:
            try:
                found = rate_points(config, image, offline)
            except DataFileError as error:  # the shared COCO photographs are absent
                print(f"{image} skipped: {error}")
                continue
            if found is None:
                continue
            rows += found[0]
            orders.append(found[1])
            anchors += [r for r in committed if r["image"] == image and r["task"] == TASK]
    with open(RESULTS / "ranking_upper_bound.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    print(report(rows + anchors, orders, RESULTS / "ranking_upper_bound.md"))


def report(rows: list[dict], orders: list[str], path: Path) -> str:
    rates = [r for r in all_bd_rates(rows) if r.front == "smoothed"]
    images = list(dict.fromkeys(r.image for r in rates))
    anchor_names = list(dict.fromkeys(r.anchor for r in rates))
    tests = ("sdcomp-lite (offline)", f"sdcomp-lite ({ORACLE})")
    cell = {(r.image, r.test, r.anchor): r for r in rates}
    lines = ["# Ranking upper bound: person segmentation", "",
             f"{datetime.date.today()}, {platform.machine()}, Python {platform.python_version()}. Made by "
             "`benchmarks/ranking_upper_bound.py`. The task-model ranking knows the receiver's own person mask on "
             "the original (the reference the score is measured against): an upper bound for rankers, not a "
             "method. Same grid as the committed sweeps; anchors from their results.csv; smoothed fronts.", "",
             "## Orders", "", "| image | offline ranker | task-model ranking (share inside the model's person) |",
             "| --- | --- | --- |", *orders, "",
             "## BD-rate against each anchor (negative: fewer bits for the same mask IoU)", "",
             "| image | ranking | " + " | ".join(anchor_names) + " |", "| --- | --- |" + " --- |" * len(anchor_names)]
    for image in images:
        for test in tests:
            values = [cell.get((image, test, anchor)) for anchor in anchor_names]
            lines.append(f"| {image} | {test.split('(')[1].rstrip(')')} | "
                         + " | ".join("n/a" if v is None or v.value != v.value else f"{v.value:+.1f}%" for v in values)
                         + " |")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


if __name__ == "__main__":
    main()
