"""benchmarks/coco128_summary.py on a tiny synthetic sweep folder with known BD-rates."""

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from coco128_summary import summarize_folder  # noqa: E402

from sdcomp_lite.evaluation.sweep import COLUMNS  # noqa: E402

IMAGES = ("coco-val128/1", "coco-val128/2", "coco-val128/3")
BPPS = (0.1, 0.2, 0.4, 0.8)
SCORES = (0.2, 0.5, 0.7, 0.8)


def _rows(image: str, task: str, metric: str) -> list[dict]:
    """avif at BPPS and sdcomp-lite at half those rates for the same scores: BD-rate exactly -50%."""
    rows = []
    for quality, (bpp, score) in enumerate(zip(BPPS, SCORES), 1):
        for codec, variant, rate, layers in (("avif", "", bpp, 0), ("sdcomp-lite", "offline bq=5 bs=1", bpp / 2, 1)):
            rows.append({"image": image, "codec": codec, "variant": variant, "quality": quality * 10, "layers": layers,
                         "bytes": int(rate * 1000), "bpp": rate, "task": task, "reference": "annotations",
                         "metric": metric, "value": score})
    return rows


def test_the_summary_reports_known_bd_rates_coverage_and_skips(tmp_path):
    rows = [r for image in IMAGES for r in _rows(image, "detection", "ap50")]
    rows += [r for image in IMAGES[:2] for r in _rows(image, "detection:person", "ap50_named")]
    with open(tmp_path / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    skipped = {"coco-val128/3/detection:person": "the reference has nothing to find in this image (no annotation)"}
    config = {"images": list(IMAGES), "tasks": ["detection", "detection:person"]}
    (tmp_path / "run.json").write_text(json.dumps({"config": config, "skipped": skipped}))

    per_photograph, summary, markdown = summarize_folder(tmp_path, samples=200)

    with open(summary, newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert {(r["task"], r["anchor"], r["method"]) for r in lines} == {
        (t, "avif", m) for t in ("detection", "detection:person") for m in ("pchip", "akima")}
    for line in lines:
        assert float(line["mean"]) == pytest.approx(-50.0) and float(line["dataset"]) == pytest.approx(-50.0)
        assert float(line["ci_low"]) == pytest.approx(-50.0) and float(line["ci_high"]) == pytest.approx(-50.0)
    named = [r for r in lines if r["task"] == "detection:person"]
    assert {(r["won"], r["defined"], r["photographs"], r["undefined"]) for r in named} == {("2", "2", "3", "no reference: 1")}
    with open(per_photograph, newline="") as handle:
        images = list(csv.DictReader(handle))
    assert len(images) == 2 * 2 * 3  # tasks x methods x photographs
    third = [r for r in images if r["task"] == "detection:person" and r["image"] == "coco-val128/3"]
    assert {(r["bd_rate_percent"], r["undefined"]) for r in third} == {("", "no reference")}
    assert all("nothing to find" in r["why"] for r in third)
    text = markdown.read_text()
    assert "## detection:person (ap50_named)" in text and "## detection (ap50)" in text
    assert "Applied to 2 of 3 photographs." in text and "- 1 skipped: the reference has nothing to find" in text
    assert "| sdcomp-lite (offline) | avif | -50.0% (-50.0% .. -50.0%) | -50.0% (-50.0% .. -50.0%) |" in text
