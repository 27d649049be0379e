"""Structure ablation for the layered codec (issue 17 item 5): preview size, importance tiers, bits by rank.

For each photograph, objects = its annotations ranked people first (people by area, then the rest by
area; importances: person i of P at 1 - 0.25 i / P, other j of Q at 0.5 (Q - j) / Q, so the largest
drop in importance is between the last person and the first other object). Every variant is coded
at the qualities QUALITIES with the default coder (AVIF per layer) and decoded twice:

  a. all layers: PSNR (RGB) against bpp, BD-rate against "one layer" (no objects, no preview, same
     qualities) per photograph;
  b. the *person prefix*: the preview (if any) and every layer up to the one holding the last person;
     person segmentation (MediaPipe mask IoU against its own prediction on the original) against the
     prefix's bpp, BD-rate against whole-image AVIF (imagecodecs, AVIF_QUALITIES) per photograph,
     summarised with sdcomp_lite.evaluation.statistics (smoothed fronts, pchip).

Photographs: data/ (4; part b only where MediaPipe finds a person on the original) and the first
N_COCO coco-val128 ids (id order) with at least one annotated person.

Writes benchmarks/results/structure_ablation.csv (one row per photograph, variant and quality; the
AVIF anchor rows have variant "avif") and structure_ablation.md (the tables).

Run from the repository root:  nice -n 10 python benchmarks/structure_ablation.py [--coco N] [--fresh]
Resumable: a photograph's variants already in the CSV are not coded again (--fresh starts over).
"""

from __future__ import annotations

import argparse
import csv
import functools
import math
import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from sdcomp_lite import list_samples, load_sample
from sdcomp_lite.coding import decode_progressive, encode
from sdcomp_lite.coding.layered import importance_tiers
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.evaluation.bdrate import bd_rate
from sdcomp_lite.evaluation.codecs import get_reference_codec
from sdcomp_lite.evaluation.statistics import bootstrap_interval, summarize
from sdcomp_lite.evaluation.tasks import get_task
from sdcomp_lite.metrics import psnr
from sdcomp_lite.types import SceneObject

RESULTS = Path(__file__).resolve().parent / "results"
CSV_PATH = RESULTS / "structure_ablation.csv"
MD_PATH = RESULTS / "structure_ablation.md"
QUALITIES = (15, 30, 45, 60, 80)
AVIF_QUALITIES = (10, 25, 40, 55, 70)
BACKGROUND_QUALITY = 10  # the "rest" of by-importance and top-tier
N_COCO = 16
TASK = "person-segmentation"
VARIANTS: dict[str, dict] = {
    "one layer": {"objects": False, "preview": False},
    "default": {},
    "ml2": {"max_layers": 2},
    "ml4": {"max_layers": 4},
    "ml8": {"max_layers": 8},
    "ps4": {"preview_scale": 4},
    "by-importance": {"object_quality": "by-importance", "background_quality": BACKGROUND_QUALITY},
    "top-tier": {"object_quality": "top-tier", "background_quality": BACKGROUND_QUALITY},
    "ps4 ml4 top-tier": {"preview_scale": 4, "max_layers": 4, "object_quality": "top-tier",
                         "background_quality": BACKGROUND_QUALITY},
    "ml2 ps4 pq5": {"max_layers": 2, "preview_scale": 4, "preview_quality": 5},  # the coco-val128 people sweeps' structure
    "ms64": {"mask_scale": 64},  # object regions in 64-pixel cells: AV1's superblock grid
    "ml2 ms64 no preview": {"max_layers": 2, "mask_scale": 64, "preview": False},
    "ml2 ps4 pq5 ms64": {"max_layers": 2, "preview_scale": 4, "preview_quality": 5, "mask_scale": 64},
}
FIELDS = ("image", "set", "variant", "quality", "layers", "bytes", "bpp", "psnr", "prefix_layers", "prefix_bytes",
          "prefix_bpp", "miou", "seconds")


def people_first(objects: list[SceneObject]) -> list[SceneObject]:
    """The objects ranked people first (each group by area, ties by id), importances as the module docstring says."""
    people = sorted((o for o in objects if o.label == "person"), key=lambda o: (-o.area, o.object_id))
    others = sorted((o for o in objects if o.label != "person"), key=lambda o: (-o.area, o.object_id))
    ranked = [replace(o, importance=1 - 0.25 * i / len(people)) for i, o in enumerate(people)]
    return ranked + [replace(o, importance=0.5 * (len(others) - j) / len(others)) for j, o in enumerate(others)]


def person_prefix(ranked: list[SceneObject], options: dict) -> int:
    """Layers to decode so that every person layer is in (preview included); 0 when there is no person."""
    people = [i for i, o in enumerate(ranked) if o.label == "person"]
    if not people:
        return 0
    cap = options.get("max_layers")
    importances = [float(o.importance) for o in ranked]
    tiers = importance_tiers(importances, cap) if cap is not None and len(ranked) > cap else list(range(len(ranked)))
    return int(options.get("preview", True)) + tiers[people[-1]] + 1


def chosen_images(coco: int) -> list[tuple[str, str]]:
    images = [("data", name) for name in list_samples()]
    try:
        names = list_samples("coco-val128")
    except DataFileError as error:
        print(f"coco-val128 skipped: {error}")
        return images
    with_people = [name for name in names if any(o.label == "person" for o in load_sample(name).objects)]
    return images + [("coco-val128", name) for name in with_people[:coco]]


@functools.cache
def _task():
    """The task model, loaded once per worker process."""
    return get_task(TASK)


def image_rows(job: tuple[str, str, tuple[str, ...]]) -> list[dict]:
    """The rows of one photograph (``(set, name, variants)``): each of ``variants`` at each quality, and the
    AVIF anchor when ``variants`` holds ``"avif"``."""
    set_name, name, wanted = job
    task = _task()
    sample = load_sample(name)
    image, pixels = sample.image, sample.image.shape[0] * sample.image.shape[1]
    reference = task.reference(sample)
    has_person = not reference.empty and bool(np.asarray(reference.value).any())
    ranked = people_first(list(sample.objects))
    rows = []
    for variant, options in VARIANTS.items():
        if variant not in wanted:
            continue
        options = dict(options)
        objects = ranked if options.pop("objects", True) else []
        prefix = person_prefix(objects, options) if objects and has_person else 0
        for quality in QUALITIES:
            start = time.process_time()
            encoded = encode(image, objects, quality=quality, **options)
            steps = list(decode_progressive(encoded.data))
            full = steps[-1].image
            row = {"image": name, "set": set_name, "variant": variant, "quality": quality, "layers": len(encoded.layers),
                   "bytes": encoded.num_bytes, "bpp": encoded.bpp, "psnr": psnr(image, full),
                   "prefix_layers": prefix, "prefix_bytes": "", "prefix_bpp": "", "miou": ""}
            if has_person and (prefix or variant == "one layer"):
                layers = prefix or len(encoded.layers)
                row.update(prefix_bytes=encoded.prefix_bytes(layers), prefix_bpp=8 * encoded.prefix_bytes(layers) / pixels,
                           miou=task.score(task.run(steps[layers - 1].image), reference.value)[task.metric])
            row["seconds"] = round(time.process_time() - start, 3)
            rows.append(row)
    if has_person and "avif" in wanted:
        avif = get_reference_codec("avif")
        for quality in AVIF_QUALITIES:
            start = time.process_time()
            data, decoded = avif.round_trip(image, quality)
            score = task.score(task.run(np.ascontiguousarray(decoded)), reference.value)[task.metric]
            rows.append({"image": name, "set": set_name, "variant": "avif", "quality": quality, "layers": 0,
                         "bytes": len(data), "bpp": 8 * len(data) / pixels, "psnr": psnr(image, decoded),
                         "prefix_layers": 0, "prefix_bytes": len(data), "prefix_bpp": 8 * len(data) / pixels,
                         "miou": score, "seconds": round(time.process_time() - start, 3)})
    return rows


def _read() -> list[dict]:
    if not CSV_PATH.is_file():
        return []
    with CSV_PATH.open() as handle:
        return list(csv.DictReader(handle))


def _signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.1f}%"


def _summary(values: list[float]) -> str:
    defined = [v for v in values if not math.isnan(v)]
    if not defined:
        return "n/a | n/a | n/a | 0 of 0"
    low, high = bootstrap_interval(defined)
    won = sum(v < 0 for v in defined)
    return (f"{_signed(float(np.mean(defined)))} ({_signed(low)} .. {_signed(high)}) | {_signed(float(np.median(defined)))} | "
            f"{won} of {len(defined)} | {len(values) - len(defined)}")


def psnr_table(rows: list[dict]) -> list[str]:
    lines = ["| variant | set | mean BD-rate vs one layer (95% CI) | median | below 0 | undefined | mean layers "
             "| mean bytes at q45 |",
             "|---|---|---|---|---|---|---|---|"]
    for variant in [v for v in VARIANTS if v != "one layer"]:
        for set_name in ("data", "coco-val128"):
            images = sorted({r["image"] for r in rows if r["set"] == set_name})
            if not images:
                continue
            values, layers, sizes = [], [], []
            for image in images:
                curve = {v: [(float(r["bpp"]), float(r["psnr"])) for r in rows if r["image"] == image and r["variant"] == v]
                         for v in ("one layer", variant)}
                values.append(bd_rate(curve["one layer"], curve[variant]).percent)
                layers += [int(r["layers"]) for r in rows if r["image"] == image and r["variant"] == variant]
                sizes += [int(r["bytes"]) for r in rows if r["image"] == image and r["variant"] == variant
                          and int(r["quality"]) == 45]
            lines.append(f"| {variant} | {set_name} ({len(images)}) | {_summary(values)} | {np.mean(layers):.1f} | "
                         f"{np.mean(sizes):.0f} |")
    return lines


def task_rows(rows: list[dict], set_names: tuple[str, ...]) -> list[dict]:
    """The person-prefix points as results rows for :func:`summarize` (family ``sdcomp-lite (<variant>)``)."""
    out = []
    for r in rows:
        if r["set"] not in set_names or r["miou"] == "":
            continue
        is_anchor = r["variant"] == "avif"
        out.append({"image": r["image"], "codec": "avif" if is_anchor else "sdcomp-lite",
                    "variant": "" if is_anchor else r["variant"].replace(" ", "+"), "quality": int(r["quality"]),
                    "layers": 0 if is_anchor else int(r["prefix_layers"]), "bpp": float(r["prefix_bpp"]),
                    "task": TASK, "metric": "miou", "value": float(r["miou"])})
    return out


def task_table(rows: list[dict]) -> list[str]:
    lines = ["| variant | photographs | mean BD-rate vs AVIF (95% CI) | median | won | undefined | dataset-level | "
             "mean prefix bytes at q45 | mean IoU at q45 |", "|---|---|---|---|---|---|---|---|---|"]
    for set_names, label in ((("data", "coco-val128"), "all"), (("coco-val128",), "coco-val128"), (("data",), "data")):
        results = task_rows(rows, set_names)
        if not results:
            continue
        for summary in summarize(results, anchors=["avif"], methods=["pchip"]):
            variant = summary.test.removeprefix("sdcomp-lite (").removesuffix(")").replace("+", " ")
            at45 = [r for r in rows if r["set"] in set_names and r["variant"] == variant and int(r["quality"]) == 45
                    and r["miou"] != ""]
            undefined = ", ".join(f"{count} {kind}" for kind, count in summary.undefined if count) or "none"
            lines.append(
                f"| {variant} | {label} ({len(summary.images)}) | {_signed(summary.mean)} ({_signed(summary.interval[0])} .. "
                f"{_signed(summary.interval[1])}) | {_signed(summary.median)} | {summary.won} of {summary.defined} | "
                f"{undefined} | "
                f"{_signed(summary.dataset.percent)} | {np.mean([int(r['prefix_bytes']) for r in at45]):.0f} | "
                f"{np.mean([float(r['miou']) for r in at45]):.3f} |")
    return lines


def write_markdown(rows: list[dict], seconds: float) -> None:
    variants = "\n".join(f"- `{name}`: {options or 'encode defaults'}" for name, options in VARIANTS.items())
    text = "\n".join([
        "# Structure ablation: preview, importance tiers, bits by rank (issue 17 item 5)", "",
        "Written by `benchmarks/structure_ablation.py` (read its docstring for the whole procedure). Objects: the "
        "annotations ranked people first (perfect grounding and ranking). Coder: AVIF per layer, mask_scale 8 "
        f"(defaults) unless a variant says otherwise. sdcomp-lite qualities {QUALITIES}; "
        f"AVIF anchor (whole image, imagecodecs) qualities {AVIF_QUALITIES}. "
        f"CPU time of the run: {seconds / 60:.1f} minutes.", "",
        "Variants (options passed to `sdcomp_lite.coding.encode`; everything else at the defaults):", "", variants, "",
        "## a. All layers decoded: PSNR BD-rate against one layer", "",
        "Anchor: `one layer` (no objects, no preview: the whole image as one AVIF background layer, same qualities). "
        "Per photograph BD-rate on (bpp, PSNR), pchip; mean with its bootstrap 95% interval, median, photographs "
        "below 0. Target (issue 17): <= +10% on coco-val128.", "", *psnr_table(rows), "",
        "## b. Person segmentation at the person prefix against whole-image AVIF", "",
        "Test: the prefix that ends after the last person's layer (preview included). Anchor: whole-image AVIF. "
        "Score: MediaPipe person mask IoU against its own prediction on the original. Per photograph BD-rate on "
        "smoothed fronts (pchip), summarised with `sdcomp_lite.evaluation.statistics.summarize`; `dataset-level`: "
        "one mean curve per family. Photographs where MediaPipe finds no person on the original are left out. "
        "`no overlap`: the prefix's IoU never reaches the lowest IoU AVIF gives (its whole curve lies below AVIF's). "
        "`one layer` here is the whole image through sdcomp-lite's own AVIF layer (every layer, no preview).", "",
        *task_table(rows), "",
    ])
    MD_PATH.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coco", type=int, default=N_COCO, help="coco-val128 photographs with people (first by id)")
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming from the CSV")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (one photograph each at a time)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the Markdown from the CSV")
    args = parser.parse_args()
    rows = [] if args.fresh else _read()
    if not args.report_only:
        done = {(r["image"], r["variant"]) for r in rows}
        has_avif = {r["image"] for r in rows if r["variant"] == "avif" or (r["variant"] == "one layer" and r["miou"] == "")}
        jobs = []
        for set_name, name in chosen_images(args.coco):
            wanted = tuple(v for v in (*VARIANTS, "avif") if (name, v) not in done
                           and not (v == "avif" and name in has_avif))
            if wanted:
                jobs.append((set_name, name, wanted))
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            for found in pool.imap_unordered(image_rows, jobs):
                rows += [{k: str(v) for k, v in r.items()} for r in found]
                with CSV_PATH.open("w", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=FIELDS)
                    writer.writeheader()
                    writer.writerows(rows)
                print(f"{found[0]['image']}: {sum(r['seconds'] for r in found):.0f} CPU s", flush=True)
    seconds = sum(float(r["seconds"]) for r in rows)
    write_markdown(rows, seconds)
    print(f"wrote {MD_PATH} and {CSV_PATH}")


if __name__ == "__main__":
    main()
