"""Every grounding backend that runs here, scored against the data/ annotations, with time per image.

Writes benchmarks/results/grounding.md and grounding.csv. Run from the repository root:
    python benchmarks/grounding.py           (about half a minute on 2 cores)
With the shared COCO photographs present (../shared/data/coco7) it scores those too.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sdcomp_lite.data import Sample, list_samples, load_coco7, load_sample
from sdcomp_lite.grounding import get_grounder, score_grounding

RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("annotations", "offline", "mediapipe", "saliency")
COCO7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco7"


def evaluate(backend: str, samples: list[Sample]) -> dict:
    grounder = get_grounder(backend)
    pairs, seconds = [], []
    for sample in samples:
        start = time.perf_counter()
        found = grounder.ground(sample.image)
        seconds.append(time.perf_counter() - start)
        pairs.append((found, list(sample.objects)))
    agnostic = score_grounding(pairs, class_agnostic=True)
    named = score_grounding(pairs, class_agnostic=False)
    return {
        "backend": backend, "images": len(samples), "found": agnostic.predictions, "reference": agnostic.references,
        "ap50_any_class": agnostic.box_ap50, "ap50_by_class": named.box_ap50, "recall50": agnostic.recall50,
        "mask_iou_matched": agnostic.mean_mask_iou, "seconds_per_image": sum(seconds) / len(seconds),
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    sets = {"data/": [load_sample(n) for n in list_samples()]}
    if (COCO7 / "annotations.jsonl").is_file():
        sets["coco7 (things)"] = load_coco7(COCO7)
    rows = []
    for set_name, samples in sets.items():
        for backend in BACKENDS:
            if backend == "annotations" and set_name != "data/":
                continue
            rows.append({"set": set_name, **evaluate(backend, samples)})
    with open(RESULTS / "grounding.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["# Grounding backends that run offline", "",
             "Box AP at IoU 0.5 (pycocotools), any class and by class; recall at box IoU 0.5; mean mask IoU of "
             "matched objects; time per image on this machine (2 cores). References: the data/ annotations "
             "(and, where present, COCO val2017 'thing' boxes with masks approximated from the COCO-Stuff label map).", "",
             "| images | backend | found | reference | AP50 any class | AP50 by class | recall50 "
             "| mask IoU (matched) | s / image |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['backend']} | {r['found']} | {r['reference']} | {r['ap50_any_class']:.3f} | "
                     f"{r['ap50_by_class']:.3f} | {r['recall50']:.3f} | {r['mask_iou_matched']:.3f} | "
                     f"{r['seconds_per_image']:.2f} |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "grounding.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
