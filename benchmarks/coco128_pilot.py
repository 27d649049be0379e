"""A timed pilot of the coco-val128 sweep: the sweep's own worker functions, one process, every call timed.

Runs what a sweep runs for a few photographs (references, rankings, work units), but in this
process and in order, so that each stage can be timed: loading the photograph and finding its
objects, each task's model on each decoded image, each codec's coding per unit. Writes a folder
shaped like a sweep's (``results.csv`` with the sweep's columns, ``run.json`` with ``config`` and
``skipped``) plus ``timings.csv`` (one row per unit: wall and CPU seconds in all and in the tasks (CPU per task), task runs)
and ``stages.csv`` (grounding, references, rankings, model loading), and prints seconds per unit by
codec and per task run. Anchors are thinned to ``--anchor-qualities`` of their qualities (spanning
the range) and their first variant, to keep the pilot short; the estimate scales them back up.

    nice -n 10 python benchmarks/coco128_pilot.py --objects offline --out /tmp/pilot-offline \\
        coco-val128/785 coco-val128/1268 coco-val128/1353 coco-val128/2153
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.sweep import COLUMNS, SweepConfig, parse_variant, ranking_jobs, work_units

TASKS = ("person-segmentation", "detection", "detection:person", "classification", "instance-segmentation")
CODECS = ("avif", "hevc", "roi-hevc", "jpeg", "webp", "jpeg2000", "jpegxl", "prefilter-avif", "prefilter-hevc")


def cpu() -> float:
    """CPU seconds of this process and its finished children (ffmpeg): on a shared machine, wall time is not cost."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class TimedTask:
    """A task whose ``run`` adds its seconds to ``clock`` (scoring is timed with it)."""

    def __init__(self, task, clock: dict) -> None:
        self.task, self.clock = task, clock

    def run(self, image: np.ndarray):
        start, start_cpu = time.perf_counter(), cpu()
        prediction = self.task.run(image)
        self.clock["seconds"] += time.perf_counter() - start
        self.clock["cpu"] += cpu() - start_cpu
        self.clock["runs"] += 1
        self.clock["by_task"][self.task.name] += cpu() - start_cpu
        return prediction

    def score(self, prediction, reference):
        start, start_cpu = time.perf_counter(), cpu()
        scores = self.task.score(prediction, reference)
        self.clock["seconds"] += time.perf_counter() - start
        self.clock["cpu"] += cpu() - start_cpu
        self.clock["by_task"][self.task.name] += cpu() - start_cpu
        return scores

    def __getattr__(self, name):
        return getattr(self.task, name)


def spanning(values: tuple[int, ...], count: int) -> tuple[int, ...]:
    """``count`` of ``values`` spanning them (first and last included)."""
    if count >= len(values):
        return values
    return tuple(values[i] for i in sorted({round(k * (len(values) - 1) / (count - 1)) for k in range(count)}))


def pilot(config: SweepConfig, folder: Path, anchor_qualities: int) -> None:
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    folder.mkdir(parents=True, exist_ok=True)
    stages = []
    timed = time.perf_counter
    for name in config.tasks:  # model loading, once per process
        start = timed()
        worker._task(name)
        stages.append(("load task", name, "", timed() - start))
    clock = {"seconds": 0.0, "cpu": 0.0, "runs": 0, "by_task": defaultdict(float)}
    proxies = {name: TimedTask(worker._task(name), clock) for name in config.tasks}
    original_task = worker._task
    worker._task = lambda name: proxies[name] if name in proxies else original_task(name)
    folders = tuple(os.environ.get(name) for name in worker.DATA_VARIABLES)
    references, skipped, rankings = {}, {}, {}
    for image in config.images:
        start = timed()
        worker._sample(image)
        stages.append(("load photograph", image, "", timed() - start))
        start = timed()
        found = worker._found_objects(image, config.objects, folders)
        stages.append(("objects", image, f"{len(found)} objects from {config.objects}", timed() - start))
        start = timed()
        references[image] = worker.references(image, config)
        skipped.update({f"{image}/{task}": why for task, why in references[image][1].items()})
        stages.append(("references", image, "", timed() - start))
    for job in ranking_jobs(config):
        start = timed()
        rankings[job] = worker.rank_objects(*job, config)
        stages.append(("ranking", job[0], f"{job[1]}: {job[2]}", timed() - start))
    units = []
    for unit in work_units(config):
        if unit.codec != "sdcomp-lite":
            codec = get_reference_codec(unit.codec, check=False)
            if unit.variant != next(iter(codec.variants)) or unit.quality not in spanning(codec.qualities, anchor_qualities):
                continue
        units.append(unit)
    rows, timings = [], []
    for index, unit in enumerate(units, 1):
        ranker, _ = parse_variant(unit.variant)
        unit_rankings = ({task: rankings[(unit.image, ranker, config.ranking_prompt(task))] for task in config.tasks}
                         if unit.codec == "sdcomp-lite" else {})
        clock.update(seconds=0.0, cpu=0.0, runs=0, by_task=defaultdict(float))
        start, start_cpu = timed(), cpu()
        unit_rows = worker.run_unit(unit, config, references[unit.image], unit_rankings)
        total, total_cpu = timed() - start, cpu() - start_cpu
        rows += unit_rows
        timings.append({"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality,
                        "seconds": total, "task_seconds": clock["seconds"], "cpu_seconds": total_cpu,
                        "task_cpu_seconds": clock["cpu"], "task_runs": clock["runs"],
                        "layers": max((r["layers"] for r in unit_rows), default=0),
                        **{f"t:{task}": clock["by_task"][task] for task in config.tasks}})
        print(f"{index}/{len(units)} {unit.key} {total:.2f} s, {total_cpu:.2f} CPU s ({clock['cpu']:.2f} CPU s in "
              f"{clock['runs']} task runs)",
              flush=True)
        _write(folder, config, rows, timings, stages, skipped)  # after every unit: a stopped pilot keeps what it timed
    worker._task = original_task


def _write(folder: Path, config: SweepConfig, rows: list[dict], timings: list[dict], stages: list, skipped: dict) -> None:
    from dataclasses import asdict

    with open(folder / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with open(folder / "timings.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(timings[0]))
        writer.writeheader()
        writer.writerows(timings)
    with open(folder / "stages.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("stage", "what", "detail", "seconds"), *stages])
    run = {"config": asdict(config), "skipped": skipped, "pilot": "benchmarks/coco128_pilot.py",
           "load_average": os.getloadavg()}
    (folder / "run.json").write_text(json.dumps(run, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--objects", default="offline")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--anchor-qualities", type=int, default=3)
    parser.add_argument("--codecs", nargs="*", default=list(CODECS))
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--sdcomp-qualities", nargs="*", type=int, default=[10, 40])
    arguments = parser.parse_args()
    config = SweepConfig(images=tuple(arguments.images), tasks=tuple(arguments.tasks), reference="annotations",
                         objects=arguments.objects, rankers=("offline",), sdcomp_qualities=tuple(arguments.sdcomp_qualities),
                         background_qualities=(5,), background_scales=(1,), preview=True, codecs=tuple(arguments.codecs),
                         workers=1)
    print("load average at start:", os.getloadavg())
    pilot(config, arguments.out, arguments.anchor_qualities)
    print("load average at end:", os.getloadavg())


if __name__ == "__main__":
    main()
