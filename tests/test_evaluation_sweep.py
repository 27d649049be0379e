"""The sweep: Dask, resume after interruption, refusal to mix configurations, and the report."""

import csv
import json

import pytest

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.evaluation.report import load_results, pareto_front, write_report
from sdcomp_lite.evaluation.sweep import SweepConfig, run_sweep, work_units

SMALL = SweepConfig(images=("astronaut",), tasks=("person-segmentation",), rankers=("area",),
                    sdcomp_qualities=(10, 40), codecs=("jpeg",), workers=1)


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    run_sweep(SMALL, folder, progress=False)
    return folder


def test_sweep_writes_tidy_rows_and_the_exact_configuration(sweep):
    rows = _rows(sweep / "results.csv")
    assert {r["codec"] for r in rows} == {"sdcomp-lite", "jpeg"}
    assert {r["task"] for r in rows} == {"person-segmentation"} and {r["reference"] for r in rows} == {"pseudo"}
    sdcomp = [r for r in rows if r["codec"] == "sdcomp-lite"]
    assert {int(r["layers"]) for r in sdcomp} == {1, 2, 3, 4, 5, 6}
    assert len({r["quality"] for r in rows if r["codec"] == "jpeg"}) == 8
    run = json.loads((sweep / "run.json").read_text())
    assert run["config"]["codecs"] == ["jpeg"] and run["versions"]["compressai"] == "1.2.8"


def test_rates_are_real_file_sizes(sweep):
    for row in _rows(sweep / "results.csv"):
        assert float(row["bpp"]) == pytest.approx(8 * int(row["bytes"]) / (512 * 512))


def test_resume_runs_only_what_is_missing(sweep):
    results = sweep / "results.csv"
    rows = _rows(results)
    kept = [r for r in rows if not (r["codec"] == "jpeg" and r["quality"] == "90")]
    with open(results, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    run_sweep(SMALL, sweep, progress=False)
    again = _rows(results)
    assert len(again) == len(rows)
    assert sorted(map(str, again)) == sorted(map(str, rows))


def test_a_different_configuration_or_format_is_refused_and_nothing_is_lost(sweep, tmp_path):
    before = (sweep / "results.csv").read_bytes()
    with pytest.raises(SdcompError, match="different configuration"):
        run_sweep(SweepConfig(images=("chelsea",), workers=1), sweep, progress=False)
    assert (sweep / "results.csv").read_bytes() == before
    old = tmp_path / "old"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({"format_version": 0, "config": {}}))
    with pytest.raises(SdcompError, match="format"):
        run_sweep(SMALL, old, progress=False)


def test_report_has_bd_rates_and_plots(sweep):
    text = write_report(sweep, anchors=("jpeg",))
    assert "person-segmentation" in text and "vs jpeg" in text and "pseudo ground truth" in text
    assert (sweep / "rd_person-segmentation.png").is_file()
    assert (sweep / "bd_rates.csv").is_file()
    assert load_results(sweep / "results.csv")


def test_pareto_front_keeps_only_improvements():
    assert pareto_front([(1, 0.5), (2, 0.4), (3, 0.9), (0.5, 0.5), (4, float("nan"))]) == [(0.5, 0.5), (3, 0.9)]


def test_config_file_errors(tmp_path):
    (tmp_path / "bad.json").write_text('{"imagez": []}')
    with pytest.raises(SdcompError, match="unknown keys"):
        SweepConfig.from_json(tmp_path / "bad.json")
    with pytest.raises(SdcompError, match="not found"):
        SweepConfig.from_json(tmp_path / "none.json")
    assert len(work_units(SMALL)) == 2 + 8
