"""The sweep: Dask, resume after interruption, refusal to mix configurations, and the report."""

import csv
import json
import shutil

import pytest

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.report import bd_rates, curves, family, load_results, write_report
from sdcomp_lite.evaluation.sweep import (
    SweepConfig,
    WorkUnit,
    parse_variant,
    ranking_jobs,
    run_sweep,
    sdcomp_variants,
    unit_rankings,
    variant_name,
    work_units,
)

SMALL = SweepConfig(images=("astronaut",), tasks=("person-segmentation",), rankers=("area",),
                    sdcomp_qualities=(10, 40), background_qualities=(10,), codecs=("jpeg",), workers=1)


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
    assert {int(r["layers"]) for r in sdcomp} == {1, 2, 3, 4, 5, 6, 7}  # the preview, 5 objects, the background
    assert {r["variant"] for r in sdcomp} == {"area bq=10 bs=1"}
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
    with pytest.warns(UserWarning, match=r"1 unfinished or damaged work unit.*'jpeg', '', 90"):
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


def test_report_has_smoothed_and_raw_bd_rates_against_every_anchor_and_plots(sweep):
    text = write_report(sweep)
    assert "## person-segmentation (miou)" in text and "pseudo ground truth" in text
    assert "| anchor | sdcomp-lite (area): smoothed | sdcomp-lite (area): raw |" in text and "\n| jpeg |" in text
    assert (sweep / "rd_person-segmentation.png").is_file()
    with open(sweep / "bd_rates.csv", newline="") as handle:
        rates = list(csv.DictReader(handle))
    assert {(r["test"], r["anchor"], r["front"]) for r in rates} == {
        ("sdcomp-lite (area)", "jpeg", "smoothed"), ("sdcomp-lite (area)", "jpeg", "raw")}
    rows = load_results(sweep / "results.csv")
    assert {family(r) for r in rows} == {"sdcomp-lite (area)", "jpeg"}
    smoothed, raw = curves(rows, "person-segmentation", "miou", "astronaut"), curves(rows, "person-segmentation", "miou",
                                                                                      "astronaut", "raw")
    assert len(smoothed["sdcomp-lite (area)"]) >= 2 and raw["jpeg"][0][0] == pytest.approx(min(
        r["bpp"] for r in rows if r["codec"] == "jpeg" and r["metric"] == "miou"))
    for front in ("smoothed", "raw"):
        (rate,) = bd_rates(rows, front=front)
        assert rate.front == front and rate.metric == "miou" and (rate.value == rate.value or rate.note)


def test_config_file_errors(tmp_path):
    (tmp_path / "bad.json").write_text('{"imagez": []}')
    with pytest.raises(SdcompError, match="unknown keys"):
        SweepConfig.from_json(tmp_path / "bad.json")
    with pytest.raises(SdcompError, match="not found"):
        SweepConfig.from_json(tmp_path / "none.json")
    assert len(work_units(SMALL)) == 2 + 8


def test_variants_name_the_ranker_and_background_settings():
    assert variant_name("offline", bq=10, bs=4) == "offline bq=10 bs=4"
    assert parse_variant("offline bq=10 bs=4") == ("offline", {"bq": "10", "bs": "4"})
    assert parse_variant("bg=+12") == ("", {"bg": "+12"}) and parse_variant("") == ("", {})
    config = SweepConfig(rankers=("offline", "area"), background_qualities=(10, 30), background_scales=(1, 4))
    assert sdcomp_variants(config, 20) == ["offline bq=10 bs=1", "offline bq=10 bs=4", "area bq=10 bs=1", "area bq=10 bs=4"]
    assert len(sdcomp_variants(config, 30)) == 8  # a background is never finer than the objects
    assert sdcomp_variants(SweepConfig(rankers=("area",)), 50) == ["area bs=1"]


def test_each_task_ranks_with_its_own_prompt():
    config = SweepConfig(images=("astronaut",), tasks=("person-segmentation", "face-detection"), rankers=("offline",))
    assert ranking_jobs(config) == [("astronaut", "offline", "find every person"), ("astronaut", "offline", "find every face")]
    jobs = {job: job[2] for job in ranking_jobs(config)}
    unit = WorkUnit("astronaut", "sdcomp-lite", "offline bs=1", 30)
    assert unit_rankings(unit, config, jobs) == {"person-segmentation": "find every person",
                                                 "face-detection": "find every face"}
    assert unit_rankings(WorkUnit("astronaut", "jpeg", "", 30), config, jobs) == {}
    one_prompt = SweepConfig(images=("astronaut",), rankers=("offline",), ranking_task="Is the astronaut smiling?")
    assert ranking_jobs(one_prompt) == [("astronaut", "offline", "Is the astronaut smiling?")]


def test_a_unit_codes_each_task_in_its_own_order_with_its_background_settings(monkeypatch):
    import sdcomp_lite.coding as coding
    from sdcomp_lite.data import load_sample

    config = SweepConfig(images=("astronaut",), tasks=("person-segmentation", "face-detection"), rankers=("offline",))
    references = worker.references("astronaut", config)
    rankings = {task: worker.rank_objects("astronaut", "offline", config.ranking_prompt(task), config)
                for task in config.tasks}
    assert rankings["face-detection"].order[0] != rankings["person-segmentation"].order[0]
    calls, encode = [], coding.encode

    def recording_encode(image, objects, **options):
        calls.append(([obj.object_id for obj in objects], options))
        return encode(image, objects, **options)

    monkeypatch.setattr(coding, "encode", recording_encode)
    rows = worker.run_unit(WorkUnit("astronaut", "sdcomp-lite", "offline bq=10 bs=4", 30), config, references, rankings)
    assert [ids for ids, _ in calls] == [list(rankings[t].order) for t in config.tasks]
    assert all({key: value for key, value in options.items() if key != "transform"} == {
        "quality": 30, "background_quality": 10, "background_scale": 4, "mask_scale": 8, "preview": True,
        "preview_scale": 8, "preview_quality": 10, "max_layers": None, "object_quality": "flat",
        "preview_skips_first_layer": False} for _, options in calls)
    assert all((options["transform"].name, options["transform"].speed) == ("avif", 6) for _, options in calls)
    objects = {obj.object_id: obj for obj in load_sample("astronaut").objects}
    for task in config.tasks:
        first = next(r for r in rows if r["task"] == task and r["layers"] == 1)
        ordered = rankings[task].apply(list(objects.values()))
        assert first["bytes"] == encode(load_sample("astronaut").image, ordered, quality=30, background_quality=10,
                                        background_scale=4).prefix_bytes(1)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")
def test_roi_hevc_units_get_the_object_boxes():
    from sdcomp_lite.data import load_sample
    from sdcomp_lite.evaluation.codecs import LEVELS, get_reference_codec

    config = SweepConfig(images=("astronaut",), tasks=("face-detection",), codecs=("roi-hevc",))
    units = [u for u in work_units(config) if u.codec == "roi-hevc"]
    assert {u.variant for u in units} == {"bg=+6", "bg=+12", "bg=+18", "bg=+24"} and len(units) == 4 * len(LEVELS)
    sample = load_sample("astronaut")
    face_box = [next(o.box for o in sample.objects if o.label == "face")]
    rows = worker.run_unit(WorkUnit("astronaut", "roi-hevc", "bg=+12", 40), config, worker.references("astronaut", config), {})
    roi = get_reference_codec("roi-hevc")
    with_boxes = len(roi.round_trip(sample.image, 40, "bg=+12", [o.box for o in sample.objects])[0])
    assert {r["bytes"] for r in rows} == {with_boxes}
    assert with_boxes != len(roi.round_trip(sample.image, 40, "bg=+12", face_box)[0])


def test_without_ffmpeg_a_sweep_plans_and_refuses_another_configuration_first(sweep, monkeypatch, tmp_path):
    from sdcomp_lite.errors import BackendUnavailableError
    from sdcomp_lite.evaluation import codecs
    from sdcomp_lite.evaluation.sweep import work_units

    monkeypatch.setattr(codecs.shutil, "which", lambda program: None)
    with_hevc = SweepConfig(images=("chelsea",), codecs=("jpeg", "hevc", "roi-hevc"), workers=1)
    assert {unit.codec for unit in work_units(with_hevc)} >= {"hevc", "roi-hevc"}
    before = (sweep / "results.csv").read_bytes()
    with pytest.raises(SdcompError, match="different configuration"):
        run_sweep(with_hevc, sweep, progress=False)
    assert (sweep / "results.csv").read_bytes() == before
    with pytest.raises(BackendUnavailableError, match="apt-get install ffmpeg"):
        run_sweep(with_hevc, tmp_path / "new", progress=False)
