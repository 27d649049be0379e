"""docs/teaching.md's numbers against the committed files they quote (issue 18 item 7).

Lab 3's list of losses must hold every positive smoothed BD-rate of the committed sweeps (means
over photographs and single photographs) with the value the files give; Lab 1's prefix numbers
come from notebook 04's committed output, its ranking line from benchmarks/results/ranking.md.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "docs" / "teaching.md"
RESULTS = ROOT / "benchmarks" / "results"
ANCHOR_NAMES = {"jpeg": "JPEG", "webp": "WebP", "avif": "AVIF", "jpeg2000": "JPEG 2000", "jpegxl": "JPEG XL",
                "hevc": "HEVC", "roi-hevc": "ROI-HEVC"}
# Each bullet of Lab 3's list of losses starts with the sweep's name and the task's.
BULLETS = {("sweep_default", "person-segmentation"): "Default sweep (",
           ("sweep_default", "instance-segmentation"): "Default sweep, instance segmentation",
           ("sweep_heldout", "instance-segmentation"): "Held-out sweep (",
           ("sweep_heldout", "person-segmentation"): "Held-out sweep, person segmentation"}


def _text() -> str:
    return " ".join(TEACHING.read_text().split())  # whitespace collapsed: prose wraps anywhere


def _losses_section() -> str:
    text = _text()
    start = text.index("**Every loss in the committed results**")
    return text[start:text.index("Notebook 06", start)]


def _bullet(sweep: str, task: str) -> str:
    bullets = _losses_section().split(" - ")
    found = [b for b in bullets if b.startswith(BULLETS[sweep, task])]
    assert len(found) == 1, f"one bullet for {sweep} {task} expected, found {len(found)}"
    return found[0]


def _smoothed(sweep: str) -> list[dict[str, str]]:
    with open(RESULTS / sweep / "bd_rates.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["front"] == "smoothed"]
    return [r for r in rows if not math.isnan(float(r["bd_rate_percent"]))]


def _quoted(anchor: str, value: float) -> str:
    return f"{ANCHOR_NAMES[anchor]} ({value:+.1f}%"


@pytest.mark.parametrize("sweep, task", sorted(BULLETS))
def test_every_mean_loss_is_listed_with_its_value(sweep, task):
    values = defaultdict(list)
    for row in _smoothed(sweep):
        if row["task"] == task:
            values[row["anchor"]].append(float(row["bd_rate_percent"]))
    means = {anchor: sum(v) / len(v) for anchor, v in values.items()}
    bullet = _bullet(sweep, task)
    for anchor, mean in means.items():
        if mean > 0:
            assert _quoted(anchor, mean) in bullet, f"{sweep} {task}: the mean loss to {anchor} is missing"
    # and every BD-rate the bullet quotes for an anchor is one of the files' values (mean or one photograph)
    allowed = {f"{v:+.1f}" for v in [*means.values(), *(x for vs in values.values() for x in vs)]}
    for value in re.findall(r"\(([+-]\d+\.\d)%", bullet):
        assert value in allowed, f"{sweep} {task}: {value}% is in no committed BD-rate"


@pytest.mark.parametrize("sweep, task", sorted(BULLETS))
def test_every_single_photograph_loss_is_listed(sweep, task):
    bullet = _bullet(sweep, task)
    for row in _smoothed(sweep):
        value = float(row["bd_rate_percent"])
        if row["task"] == task and value > 0:
            assert row["image"] in bullet, f"{sweep} {task}: {row['image']} loses to {row['anchor']} but is not named"
            assert _quoted(row["anchor"], value) in bullet, f"{sweep} {task}: {row['image']} vs {row['anchor']} missing"


def test_the_losses_named_in_issue_18_are_there():
    section = _losses_section()
    for quoted in ("WebP (+60.3%", "JPEG 2000 (+14.5%", "ROI-HEVC (+5.1%"):
        assert quoted in section


def _notebook_output(path: Path, cell_id: str) -> str:
    cells = [c for c in json.loads(path.read_text())["cells"] if c.get("id") == cell_id]
    assert len(cells) == 1, f"{path.name} has no single cell {cell_id}"
    return "".join("".join(o.get("text", "")) for o in cells[0]["outputs"] if o["output_type"] == "stream")


def test_lab1_prefix_numbers_are_notebook_04s():
    table = _notebook_output(ROOT / "notebooks" / "04_progressive_decoding.ipynb", "p08")
    rows = {m.group(1): (int(m.group(2)), float(m.group(4)))
            for m in re.finditer(r"sdcomp-lite (\d+) layers? \(.*?\)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", table)}
    preview_bytes, preview_face = rows["1"]
    person_bytes, person_face = rows["2"]
    whole_bytes = max(size for size, _ in rows.values())
    text = _text()
    claim = (f"on the preview alone (layer 1, {preview_bytes:,} bytes) face detection's AP50 is {preview_face:.3f}; "
             f"with the person's layer ({person_bytes:,} of the file's {whole_bytes:,} bytes) it is {person_face:.3f}")
    assert claim in text
    assert preview_face == 0.0 and person_face == 1.0  # what the sentence teaches


def test_ranking_line_matches_ranking_md():
    table = (RESULTS / "ranking.md").read_text()
    counts = {name: int(hit) for name, hit in re.findall(r"^\| ([\w-]+) \| [\d.]+ \((\d+)/17\)", table, re.M)}
    assert set(counts) >= {"offline", "detector-score", "annotation-order", "area", "random"}
    assert counts["detector-score"] == counts["annotation-order"]
    claim = (f"the offline ranker puts an expected object first in {counts['offline']}, the detector-score and "
             f"annotation-order baselines in {counts['detector-score']} each, area in {counts['area']} and random in "
             f"{counts['random']}")
    assert claim in _text()


def test_live_sweep_seconds_quoted_from_notebook_05():
    notebook = json.loads((ROOT / "notebooks" / "05_task_evaluation.ipynb").read_text())
    outputs = "".join("".join(o.get("text", "")) for c in notebook["cells"] if c["cell_type"] == "code"
                      for o in c["outputs"] if o["output_type"] == "stream")
    seconds = re.search(r"^(\d+) s elapsed$", outputs, re.M)
    assert seconds, "notebook 05 prints no 'N s elapsed' line"
    assert f"{seconds.group(1)} s in the committed output" in _text(), (
        f"notebook 05's live sweep now prints {seconds.group(1)} s: update the 05 row of docs/teaching.md's timings")
