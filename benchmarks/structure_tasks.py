"""Which stream structure serves the person tasks best? (issue 17 item 5, task side)

For each photograph (coco-val128 names, or any load_sample name), every unit of
``sweep_coco128_people.json`` but ROI-HEVC's is coded and scored by the sweep's own worker
(``worker.run_unit``): objects from the offline grounder, ranked by the offline ranker with each
task's prompt; sdcomp-lite at object qualities 5 / 15 / 40 with the background at quality 5 and half
size (:data:`GRID`, unless a structure sets its own), once per structure below, every prefix scored on
person segmentation and detection:person
against the task's own prediction on the original; the anchors (AVIF, HEVC, prefilter + AVIF at
sigma 4, regions = the task's first objects) at qualities 2 / 5 / 10 / 25 / 40.

Structures (options passed to ``sdcomp_lite.coding.encode``):

- ``A``: the library's defaults (one layer per object, 1/8-size preview at quality 10);
- ``T3``: at most 3 object layers (importance tiers);
- ``T2P4``: 2 tiers (the task's objects, then the rest) and a 1/4-size preview at quality 5,
  the coco-val128 sweeps' structure;
- ``T3P4``: 3 tiers and the same preview;
- ``B2T3``: a *base* first: the preview at 1/2 size and quality 5, then 3 tiers, and no background
  layer (its prefixes stop before it: the base stands in for the background);
- ``T2P8``: ``T2P4`` with the preview at 1/8 size;
- ``T2P4Q2``: ``T2P4`` with the preview at quality 2;
- ``T2P4M16``, ``T2P4M64``: ``T2P4`` with object regions in 16- or 64-pixel cells (``mask_scale``; 64 is
  AV1's superblock, where no AVIF block lies on two layers);
- ``T2P4Low``: ``T2P4`` on a grid that reaches quality 2 like the anchors' (objects 2 / 5 / 15 / 40,
  background 2 / 5), what the coco-val128 sweeps use since this comparison;
- ``T2P4LowB15``: ``T2P4Low`` with the background also at quality 15 (objects at 15 or 40): a top end that
  reaches the anchors' scores without coding the people at quality 40;
- ``T2P4LowM4``, ``T2P4LowM16``: ``T2P4Low`` with object regions in 4- or 16-pixel cells;
- ``T2P4LowQ2``, ``T2P4LowQ10``: ``T2P4Low`` with the preview at quality 2 or 10;
- ``T2P4LowS24``, ``T2P4LowS12``: ``T2P4Low`` with the background also at 1/4 size, or also at full size;
- ``T2P4LowTop``: ``T2P4Low`` with bits that follow importance (``object_quality="top-tier"``): the second tier
  (the objects the task does not name) at the background's quality;
- ``T2P4LowS0``: ``T2P4Low`` with the layers at libaom speed 0, the AVIF anchors' effort (``avif_speed=0``, what the
  coco-val128 sweeps use since this comparison); every other structure codes its layers at the library's speed 6;
- ``T2P4LowS0Skip``: ``T2P4LowS0`` whose preview fills what the first tier covers instead of coding it
  (``preview_skips_first_layer``, what the people sweep uses since bitstream version 5).

Writes ``results/structure_tasks.csv`` (rows as a sweep's results.csv) and, with ``--summarize``,
``results/structure_tasks.md`` (per-photograph BD-rates summarised with
``sdcomp_lite.evaluation.statistics``: pchip, smoothed fronts, bootstrap 95% intervals).

Run from the repository root (appends; a photograph's structures already in the CSV are skipped):
    SDCOMP_COCO_VAL128=../shared/data/coco-val128 nice python benchmarks/structure_tasks.py coco-val128/785 ...
    python benchmarks/structure_tasks.py --summarize
The held-out check (data/'s astronaut and the seven coco7 photographs; two of those, coco-4495 and coco-7977, are
also coco-val128 photographs):
    python benchmarks/structure_tasks.py astronaut coco-4495 ... --structures A T2P4 T2P4Low T2P4M64 \
        --name structure_tasks_heldout --summarize
(made before the grounder's box fallback); the held-out check of the adopted people sweep since (its structure and
layer speed, the grounder as it is now; the three of those photographs with a person to find, of which astronaut and
coco-43816 are outside coco-val128):
    python benchmarks/structure_tasks.py astronaut coco-43816 coco-7977 --structures T2P4LowS0 --name heldout_people --summarize
(bitstream version 3); with bitstream version 4, the same command with ``--name heldout_people_v4``; with version 5,
``--name heldout_people_v5``, then ``--structures T2P4LowS0Skip --name heldout_people_v5`` for the preview that skips
the first tier (the anchors' rows are reused).
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

from sdcomp_lite.coding.container import DEFAULT_MASK_SCALE, DEFAULT_PREVIEW_QUALITY, PREVIEW_SCALE
from sdcomp_lite.coding.transforms import AVIF_SPEED
from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.results import COLUMNS
from sdcomp_lite.evaluation.statistics import markdown_table, summarize
from sdcomp_lite.evaluation.sweep import SweepConfig, work_units

ROOT = Path(__file__).resolve().parent
CSV_PATH = ROOT / "results" / "structure_tasks.csv"
MD_PATH = ROOT / "results" / "structure_tasks.md"
CONFIG = ROOT / "sweep_coco128_people.json"  # tasks, objects, ranker, grid and anchors: the sweep's
GRID = {"sdcomp_qualities": (5, 15, 40), "background_qualities": (5,)}  # the grid the structures were compared on
TIERS = {"max_layers": 2, "preview_scale": 4, "preview_quality": 5}  # T2P4: the sweeps' structure
LOW = {**TIERS, "sdcomp_qualities": (2, 5, 15, 40), "background_qualities": (2, 5)}  # T2P4Low: the sweeps' grid
STRUCTURES = {
    "A": {},
    "T3": {"max_layers": 3},
    "T2P4": TIERS,
    "T3P4": {**TIERS, "max_layers": 3},
    "B2T3": {**TIERS, "max_layers": 3, "preview_scale": 2},
    "T2P8": {**TIERS, "preview_scale": 8},
    "T2P4Q2": {**TIERS, "preview_quality": 2},
    "T2P4M16": {**TIERS, "mask_scale": 16},
    "T2P4M64": {**TIERS, "mask_scale": 64},
    "T2P4Low": LOW,
    "T2P4LowB15": {**LOW, "background_qualities": (2, 5, 15)},
    "T2P4LowM4": {**LOW, "mask_scale": 4},
    "T2P4LowM16": {**LOW, "mask_scale": 16},
    "T2P4LowQ2": {**LOW, "preview_quality": 2},
    "T2P4LowS24": {**LOW, "background_scales": (2, 4)},
    "T2P4LowS12": {**LOW, "background_scales": (1, 2)},
    "T2P4LowTop": {**LOW, "object_quality": "top-tier"},
    "T2P4LowQ10": {**LOW, "preview_quality": 10},
    "T2P4LowS0": {**LOW, "avif_speed": 0},
    "T2P4LowS0Skip": {**LOW, "avif_speed": 0, "preview_skips_first_layer": True},
}
NO_BACKGROUND = ("B2T3",)  # structures whose base layer stands in for the background
ANCHORS = ("avif", "hevc", "prefilter-avif")  # the sweep's anchors but ROI-HEVC


def _narrowed(config: SweepConfig, image: str, codecs: tuple[str, ...], **structure) -> SweepConfig:
    """``config`` for one photograph and ``codecs``; sdcomp-lite's stream shaped by ``structure`` (encode's defaults
    for the keys it leaves out)."""
    return replace(config, images=(image,), codecs=codecs,
                   anchor_qualities={k: v for k, v in config.anchor_qualities.items() if k in codecs},
                   anchor_variants={k: v for k, v in config.anchor_variants.items() if k in codecs},
                   max_layers=structure.get("max_layers"), preview_scale=structure.get("preview_scale", PREVIEW_SCALE),
                   preview_quality=structure.get("preview_quality", DEFAULT_PREVIEW_QUALITY),
                   mask_scale=structure.get("mask_scale", DEFAULT_MASK_SCALE),
                   sdcomp_qualities=structure.get("sdcomp_qualities", GRID["sdcomp_qualities"]),
                   background_qualities=structure.get("background_qualities", GRID["background_qualities"]),
                   background_scales=structure.get("background_scales", config.background_scales),
                   object_quality=structure.get("object_quality", "flat"),
                   preview_skips_first_layer=structure.get("preview_skips_first_layer", False),
                   avif_speed=structure.get("avif_speed", AVIF_SPEED))


def _without_background(rows: list[dict]) -> list[dict]:
    """The rows but each stream's all-layers prefix (its background layer): every prefix is scored, so the
    longest per (task, quality) is the whole stream."""
    longest: dict[tuple, int] = {}
    for row in rows:
        key = (row["task"], row["quality"])
        longest[key] = max(longest.get(key, 0), int(row["layers"]))
    return [row for row in rows if int(row["layers"]) < longest[(row["task"], row["quality"])]]


def photograph_rows(image: str, config: SweepConfig, structures: tuple[str, ...] = tuple(STRUCTURES),
                    with_anchors: bool = True) -> list[dict]:
    """The rows of one photograph, as the sweep's worker codes and scores its units: the anchors' (when
    ``with_anchors``), and each of ``structures``' every prefix (its variant named after the structure), for each
    task that applies."""
    pair = worker.references(image, config)
    rankings = {task: worker.rank_objects(image, config.rankers[0], config.ranking_prompt(task), config)
                for task in config.tasks if task in pair[0]}
    anchors = _narrowed(config, image, ANCHORS)
    rows = [row for unit in work_units(anchors) if not unit.ours and with_anchors
            for row in worker.run_unit(unit, anchors, pair, rankings)]
    for structure in structures:
        options = STRUCTURES[structure]
        shaped = _narrowed(config, image, (), **options)
        coded = [{**row, "variant": row["variant"].replace(config.rankers[0], structure, 1)}
                 for unit in work_units(shaped) for row in worker.run_unit(unit, shaped, pair, rankings)]
        rows += _without_background(coded) if structure in NO_BACKGROUND else coded
    return rows


def write_summary(csv_path: Path = CSV_PATH, md_path: Path = MD_PATH) -> None:
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = sorted({r["image"] for r in rows})
    summaries = summarize(rows, methods=("pchip",))
    lines = ["# Stream structures for the person tasks (issue 17 item 5)", "",
             f"Written by `benchmarks/structure_tasks.py` (its docstring gives the procedure) from "
             f"`{csv_path.name}`: {len(images)} photographs ({', '.join(images)}). Offline objects; "
             "each family `sdcomp-lite (<structure>)` is one structure; negative: fewer bits than the anchor "
             "at equal score. An exploration on a few photographs: the coco-val128 sweeps give the verdict.", "",
             markdown_table(summaries)]
    md_path.write_text("\n".join(lines) + "\n")
    print(md_path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", help="photographs to code (load_sample names)")
    parser.add_argument("--summarize", action="store_true", help="write the Markdown summary from the CSV")
    parser.add_argument("--structures", nargs="+", choices=list(STRUCTURES), default=list(STRUCTURES),
                        help="code only these structures (default: all)")
    parser.add_argument("--name", default=CSV_PATH.stem,
                        help="results/<name>.csv and .md (default structure_tasks; structure_tasks_heldout holds the "
                             "photographs outside coco-val128)")
    args = parser.parse_args()
    csv_path, md_path = CSV_PATH.with_name(f"{args.name}.csv"), MD_PATH.with_name(f"{args.name}.md")
    config = SweepConfig.from_json(CONFIG)
    done: set[tuple[str, str]] = set()  # (photograph, structure or "anchors")
    if csv_path.exists():
        with open(csv_path, newline="") as handle:
            done = {(r["image"], r["variant"].split(" ")[0] if r["codec"] == "sdcomp-lite" else "anchors")
                    for r in csv.DictReader(handle)}
    with open(csv_path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        if handle.tell() == 0:
            writer.writeheader()
        for image in args.images:
            structures = tuple(name for name in args.structures if (image, name) not in done)
            with_anchors = (image, "anchors") not in done
            if not structures and not with_anchors:
                continue
            start = time.perf_counter()
            writer.writerows(photograph_rows(image, config, structures, with_anchors))
            handle.flush()
            print(f"{image}: {time.perf_counter() - start:.0f} s", flush=True)
    if args.summarize:
        write_summary(csv_path, md_path)


if __name__ == "__main__":
    main()
