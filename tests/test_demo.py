"""The demo: the compress pipeline on a sample photograph, every stage printed, decoded layer by layer."""

import json

from sdcomp_lite import decode
from sdcomp_lite.cli import main
from sdcomp_lite.demo import DEMO_TASKS, format_demo, run_demo


def test_the_demo_runs_the_pipeline_and_prints_every_stage(tmp_path):
    run = run_demo("astronaut", quality=30, output_dir=tmp_path)
    assert run.task == DEMO_TASKS["astronaut"] and run.result.grounder == "offline"
    labels = [obj.label for obj in run.result.objects]
    assert "person" in labels and "face" in labels  # the detector's person and MediaPipe's face
    assert run.result.ranking.backend == "offline-embedding"
    assert [obj.object_id for obj in run.result.objects] == list(run.result.ranking.order)
    data = (tmp_path / "astronaut.sdc").read_bytes()
    assert data == run.result.encoded.data and decode(data).coverage.all()
    sidecar = json.loads((tmp_path / "astronaut.sdc.json").read_text())
    assert sidecar["task"] == run.task and [o["label"] for o in sidecar["objects"]] == labels
    assert len(run.steps) == len(run.result.encoded.layers)
    assert (tmp_path / "astronaut_progressive.png").is_file()
    assert (tmp_path / f"astronaut_layers_{len(run.steps)}.png").is_file()
    text = format_demo(run)
    for expected in (run.task, "objects (", "person", "ranking (offline-embedding)", "crc32", "PSNR image"):
        assert expected in text


def test_the_demo_is_deterministic_and_takes_a_task(tmp_path, capsys):
    first = run_demo("chelsea", quality=20, output_dir=tmp_path / "a", task="where are the eyes?")
    assert main(["demo", "--sample", "chelsea", "--quality", "20", "--task", "where are the eyes?",
                 "--output-dir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "chelsea.sdc").read_bytes() == first.result.encoded.data
    assert (tmp_path / "b" / "chelsea.sdc.json").read_text() == (tmp_path / "a" / "chelsea.sdc.json").read_text()
    printed = capsys.readouterr().out
    assert "task 'where are the eyes?'" in printed and "cat" in printed and "chelsea_progressive.png" in printed
