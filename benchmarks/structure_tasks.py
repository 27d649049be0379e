"""Which stream structure serves the person tasks best? (issue 17 item 5, task side)

For each photograph (coco-val128 names, or any load_sample name), objects from the offline
grounder, ranked by the offline ranker with each task's prompt (what the coco-val128 sweeps do),
every structure below is coded at object qualities 5 / 15 / 40 with the background at quality 5 and
half size, every prefix scored on person segmentation and detection:person against the task's own
prediction on the original; the anchors (AVIF, HEVC, prefilter + AVIF at sigma 4, regions = the
task's first objects) at qualities 2 / 5 / 10 / 25 / 40, as in ``sweep_coco128_people.json``.

Structures (options passed to ``sdcomp_lite.coding.encode``):

- ``A``: the library's defaults (one layer per object, 1/8-size preview at quality 10);
- ``T3``: at most 3 object layers (importance tiers);
- ``T2P4``: 2 tiers (the task's objects, then the rest) and a 1/4-size preview at quality 5,
  what the coco-val128 sweeps use since this comparison;
- ``T3P4``: 3 tiers and the same preview;
- ``B2T3``: a *base* first: the preview at 1/2 size and quality 5, then 3 tiers, and no background
  layer (its prefixes stop before it: the base stands in for the background).

Writes ``results/structure_tasks.csv`` (rows as a sweep's results.csv) and, with ``--summarize``,
``results/structure_tasks.md`` (per-photograph BD-rates summarised with
``sdcomp_lite.evaluation.statistics``: pchip, smoothed fronts, bootstrap 95% intervals).

Run from the repository root (appends; a photograph already in the CSV is skipped):
    SDCOMP_COCO_VAL128=../shared/data/coco-val128 nice python benchmarks/structure_tasks.py coco-val128/785 ...
    python benchmarks/structure_tasks.py --summarize
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from sdcomp_lite.coding import decode_progressive, encode
from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.codecs import get_reference_codec
from sdcomp_lite.evaluation.results import COLUMNS, OURS
from sdcomp_lite.evaluation.statistics import markdown_table, summarize
from sdcomp_lite.evaluation.sweep import SweepConfig

ROOT = Path(__file__).resolve().parent
CSV_PATH = ROOT / "results" / "structure_tasks.csv"
MD_PATH = ROOT / "results" / "structure_tasks.md"
CONFIG = ROOT / "sweep_coco128_people.json"  # tasks, objects, rankers and prompts as the sweep has them
STRUCTURES = {
    "A": {},
    "T3": {"max_layers": 3},
    "T2P4": {"max_layers": 2, "preview_scale": 4, "preview_quality": 5},
    "T3P4": {"max_layers": 3, "preview_scale": 4, "preview_quality": 5},
    "B2T3": {"max_layers": 3, "preview_scale": 2, "preview_quality": 5},
}
NO_BACKGROUND = ("B2T3",)  # structures whose base layer stands in for the background
OBJECT_QUALITIES = (5, 15, 40)
BACKGROUND = {"background_quality": 5, "background_scale": 2, "mask_scale": 8}
ANCHORS = (("avif", ""), ("hevc", ""), ("prefilter-avif", "sigma=4"))
ANCHOR_QUALITIES = (2, 5, 10, 25, 40)


def photograph_rows(image: str, config: SweepConfig) -> list[dict]:
    """Every row of one photograph: the anchors' and each structure's every prefix, for each task that applies."""
    references, _ = worker.references(image, config)
    sample, objects = worker._sample(image), worker._objects(image, config)
    pixels = sample.image.shape[0] * sample.image.shape[1]
    rows = []
    for name in config.tasks:
        if name not in references:
            continue
        task = {name: worker._task(name)}
        ordered = worker.rank_objects(image, config.rankers[0], config.ranking_prompt(name), config).apply(objects)
        for codec_name, variant in ANCHORS:
            codec = get_reference_codec(codec_name)
            regions = [obj.mask for obj in worker.task_objects(ordered)] if codec.uses_regions else []
            for quality in ANCHOR_QUALITIES:
                data, decoded = codec.round_trip(sample.image, quality, variant, regions)
                base = {"image": image, "codec": codec_name, "variant": variant, "quality": quality, "layers": 0,
                        "bytes": len(data), "bpp": 8 * len(data) / pixels}
                rows += worker._score_rows(base, np.ascontiguousarray(decoded), task, references)
        for structure, options in STRUCTURES.items():
            for quality in OBJECT_QUALITIES:
                encoded = encode(sample.image, ordered, quality=quality, **BACKGROUND, **options)
                for layers, step in enumerate(decode_progressive(encoded.data), 1):
                    if structure in NO_BACKGROUND and layers == len(encoded.layers):
                        break
                    size = encoded.prefix_bytes(layers)
                    base = {"image": image, "codec": OURS, "variant": f"{structure} bq=5 bs=2", "quality": quality,
                            "layers": layers, "bytes": size, "bpp": 8 * size / pixels}
                    rows += worker._score_rows(base, step.image, task, references)
    return rows


def write_summary() -> None:
    with open(CSV_PATH, newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = sorted({r["image"] for r in rows})
    summaries = summarize(rows, methods=("pchip",))
    lines = ["# Stream structures for the person tasks (issue 17 item 5)", "",
             f"Written by `benchmarks/structure_tasks.py` (its docstring gives the procedure) from "
             f"`structure_tasks.csv`: {len(images)} photographs ({', '.join(images)}). Offline objects; "
             "each family `sdcomp-lite (<structure>)` is one structure; negative: fewer bits than the anchor "
             "at equal score. An exploration on a few photographs: the coco-val128 sweeps give the verdict.", "",
             markdown_table(summaries)]
    MD_PATH.write_text("\n".join(lines) + "\n")
    print(MD_PATH.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", help="photographs to code (load_sample names)")
    parser.add_argument("--summarize", action="store_true", help="write structure_tasks.md from the CSV")
    args = parser.parse_args()
    config = SweepConfig.from_json(CONFIG)
    done = set()
    if CSV_PATH.exists():
        with open(CSV_PATH, newline="") as handle:
            done = {r["image"] for r in csv.DictReader(handle)}
    with open(CSV_PATH, "a", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        if handle.tell() == 0:
            writer.writeheader()
        for image in args.images:
            if image in done:
                continue
            start = time.perf_counter()
            writer.writerows(photograph_rows(image, config))
            handle.flush()
            print(f"{image}: {time.perf_counter() - start:.0f} s", flush=True)
    if args.summarize:
        write_summary()


if __name__ == "__main__":
    main()
