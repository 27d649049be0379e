"""``sdcomp-lite compress``: end to end through ``cli.main`` on data/ photographs (the offline grounder and
ranker, given objects, a byte budget, an OpenAI-compatible server on 127.0.0.1 for ranking and
identification), and every failure leaving no file behind."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from test_identify import ChatServer, user_text

from sdcomp_lite import decode, inspect
from sdcomp_lite.cli import main
from sdcomp_lite.pipeline import SIDECAR_FORMAT, compress, write_outputs

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "data" / "images"
ANNOTATIONS = ROOT / "data" / "annotations.json"
SIDECAR_KEYS = {"format", "version", "image", "task", "grounder", "identifier", "objects", "ranking", "file", "source"}


def object_layer_ids(data: bytes) -> list[int]:
    return [layer.object_id for layer in inspect(data) if layer.kind == "object"]


@pytest.fixture(scope="module")
def astronaut_run(tmp_path_factory):
    """One run with the defaults (offline grounder and ranker): what it printed and wrote."""
    folder = tmp_path_factory.mktemp("compress")
    out = folder / "astronaut.sdc"
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        status = main(["compress", str(IMAGES / "astronaut.png"), "--task", "who is the person?", "-o", str(out),
                       "--quality", "30"])
    return status, printed.getvalue(), out, folder


def test_compress_writes_a_decodable_file_and_a_sidecar(astronaut_run):
    status, printed, out, folder = astronaut_run
    assert status == 0
    assert sorted(p.name for p in folder.iterdir()) == ["astronaut.sdc", "astronaut.sdc.json"]  # no temporary left
    decoded = decode(out.read_bytes())
    assert decoded.image.shape == (512, 512, 3) and decoded.coverage.all()
    sidecar = json.loads((folder / "astronaut.sdc.json").read_text())
    assert set(sidecar) == SIDECAR_KEYS and sidecar["format"] == SIDECAR_FORMAT
    assert sidecar["task"] == "who is the person?" and sidecar["grounder"] == "offline" and sidecar["identifier"] is None
    assert sidecar["image"] == {"width": 512, "height": 512}
    assert sidecar["source"]["image"].endswith("astronaut.png") and sidecar["source"]["objects"] is None
    labels = [o["label"] for o in sidecar["objects"]]
    assert "person" in labels
    for obj in sidecar["objects"]:
        assert set(obj) == {"id", "label", "box", "area", "score", "source", "importance", "rank"}
        x0, y0, x1, y1 = obj["box"]
        assert 0 <= x0 < x1 <= 512 and 0 <= y0 < y1 <= 512 and obj["source"].startswith("offline")
    ranking = sidecar["ranking"]
    assert ranking["backend"] == "offline-embedding" and ranking["task"] == "who is the person?"
    assert sorted(ranking["order"]) == sorted(o["id"] for o in sidecar["objects"])
    assert [o["id"] for o in sidecar["objects"]] == ranking["order"]  # objects listed in ranked order


def test_layer_order_follows_the_ranking_and_the_sidecar_holds_the_layer_table(astronaut_run):
    _, printed, out, folder = astronaut_run
    sidecar = json.loads((folder / "astronaut.sdc.json").read_text())
    data = out.read_bytes()
    assert object_layer_ids(data) == sidecar["ranking"]["order"]
    table = inspect(data)
    assert [(row["kind"], row["id"], row["bytes"], row["crc32"]) for row in sidecar["file"]["layers"]] == [
        (layer.kind, layer.object_id, layer.length, f"{layer.crc32:08x}") for layer in table]
    assert sidecar["file"]["bytes"] == len(data) and sidecar["file"]["transform"] == "avif"
    assert "ranking (offline-embedding)" in printed and "crc32" in printed and "background" in printed
    assert f"wrote {out}" in printed


def test_compress_with_objects_skips_grounding_and_still_ranks(tmp_path, capsys):
    out = tmp_path / "coffee.sdc"
    assert main(["compress", str(IMAGES / "coffee.png"), "--objects", str(ANNOTATIONS), "--ranker", "area",
                 "-o", str(out), "--quality", "20", "--no-preview"]) == 0
    sidecar = json.loads((tmp_path / "coffee.sdc.json").read_text())
    assert sidecar["grounder"] is None and sidecar["source"]["objects"] == str(ANNOTATIONS)
    by_area = sorted(sidecar["objects"], key=lambda o: -o["area"])
    assert sidecar["ranking"]["order"] == [o["id"] for o in by_area] and sidecar["ranking"]["backend"] == "area"
    assert {o["label"] for o in sidecar["objects"]} == {"cup", "spoon", "saucer"}
    assert all(o["source"] == "annotations" for o in sidecar["objects"])
    assert object_layer_ids(out.read_bytes()) == sidecar["ranking"]["order"]
    assert [layer.kind for layer in inspect(out.read_bytes())][0] == "object"  # --no-preview went through
    assert "from " + str(ANNOTATIONS) in capsys.readouterr().out


def test_compress_meets_a_byte_budget(tmp_path):
    out = tmp_path / "coffee.sdc"
    assert main(["compress", str(IMAGES / "coffee.png"), "--objects", str(ANNOTATIONS), "--ranker", "area",
                 "-o", str(out), "--bytes", "7000", "--sidecar", str(tmp_path / "side.json")]) == 0
    assert out.stat().st_size <= 7000
    assert json.loads((tmp_path / "side.json").read_text())["file"]["bytes"] == out.stat().st_size
    assert not (tmp_path / "coffee.sdc.json").exists()


def _assert_failed_cleanly(status, capsys, folder, expected, keep=()):
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdcomp-lite compress: error:") and expected in lines[0], err
    assert sorted(p.name for p in folder.iterdir()) == sorted(keep)


@pytest.mark.parametrize("arguments, expected", [
    (["--quality", "0", "--objects", str(ANNOTATIONS)], "quality"),
    (["--ranker", "clairvoyant"], "unknown ranker 'clairvoyant'"),
    (["--grounder", "annotations", "--grounder-model", "x", "--objects", str(ANNOTATIONS)], "--objects skips"),
    (["--identifier", "offline", "--objects", str(ANNOTATIONS)], "--objects skips"),
    (["--model", "m", "--objects", str(ANNOTATIONS)], "--base-url and --model are for"),
    (["--ranker", "transformers-vlm", "--objects", str(ANNOTATIONS)], "needs --model"),
    (["--objects", str(ROOT / "data" / "README.md")], "README.md"),
    (["--transform", "gif", "--objects", str(ANNOTATIONS)], "gif"),
    (["--grounder", "annotations", "--identifier", "psychic"], "unknown identifier 'psychic'"),
    (["--task", "x" * 5000, "--objects", str(ANNOTATIONS)], "at most 2000"),
    (["--max-pixels", "1000", "--objects", str(ANNOTATIONS)], "over the budget of 1000"),
    (["--grounder-model", "folder"], "--grounder-model is for the grounders owlv2, grounding-dino"),
    (["--grounder", "annotations", "--grounder-model", "folder"], "not 'annotations'"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, arguments, expected):
    status = main(["compress", str(IMAGES / "coffee.png"), "-o", str(tmp_path / "out.sdc"), "--ranker", "area", *arguments])
    _assert_failed_cleanly(status, capsys, tmp_path, expected)


def test_bad_paths_are_refused_before_any_work(tmp_path, capsys):
    coffee = str(IMAGES / "coffee.png")
    _assert_failed_cleanly(main(["compress", str(tmp_path / "absent.png"), "-o", str(tmp_path / "o.sdc")]),
                           capsys, tmp_path, "absent.png")
    _assert_failed_cleanly(main(["compress", coffee, "-o", str(tmp_path / "missing" / "o.sdc")]), capsys, tmp_path,
                           "does not exist")
    _assert_failed_cleanly(main(["compress", coffee, "-o", str(tmp_path)]), capsys, tmp_path, "is a folder")
    _assert_failed_cleanly(main(["compress", coffee, "-o", str(tmp_path / "o.sdc"), "--sidecar", str(tmp_path / "o.sdc")]),
                           capsys, tmp_path, "same file")


def test_an_unconfigured_server_is_one_line(tmp_path, capsys, monkeypatch):
    for variable in ("SDCOMP_LMM_BASE_URL", "SDCOMP_LMM_MODEL", "SDCOMP_LMM_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    status = main(["compress", str(IMAGES / "coffee.png"), "-o", str(tmp_path / "o.sdc"), "--objects", str(ANNOTATIONS),
                   "--ranker", "openai-compatible"])
    _assert_failed_cleanly(status, capsys, tmp_path, "SDCOMP_LMM_BASE_URL")


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_neither_file_and_keeps_an_old_one(tmp_path, capsys, monkeypatch, failure):
    import sdcomp_lite.pipeline as pipeline

    out = tmp_path / "out.sdc"
    out.write_bytes(b"an older file")
    real_replace, calls = pipeline.os.replace, []

    def replace_then_fail(source, target):
        calls.append(target)
        if len(calls) == 2:  # the .sdc is in place, the sidecar fails
            raise failure
        real_replace(source, target)

    monkeypatch.setattr(pipeline.os, "replace", replace_then_fail)
    status = main(["compress", str(IMAGES / "coffee.png"), "-o", str(out), "--objects", str(ANNOTATIONS),
                   "--ranker", "area", "--quality", "10"])
    assert status == (130 if isinstance(failure, KeyboardInterrupt) else 2)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("sdcomp-lite compress: error:")
    assert [p.name for p in tmp_path.iterdir()] == ["out.sdc"]  # no sidecar, no temporary, no link
    assert out.read_bytes() == b"an older file"  # the file the new one had replaced is back


def test_write_outputs_writes_all_or_nothing(tmp_path):
    files = {tmp_path / "a.sdc": b"abc", tmp_path / "a.sdc.json": b"{}"}
    write_outputs(files)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"a.sdc": b"abc", "a.sdc.json": b"{}"}
    with pytest.raises(OSError):
        write_outputs({tmp_path / "b.sdc": b"x", tmp_path / "absent" / "b.json": b"y"})
    with pytest.raises(IsADirectoryError):
        write_outputs({tmp_path / "a.sdc": b"new", tmp_path: b"a folder"})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"a.sdc": b"abc", "a.sdc.json": b"{}"}
    write_outputs({tmp_path / "a.sdc": b"new", tmp_path / "a.sdc.json": b"[]"})  # replacing works
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"a.sdc": b"new", "a.sdc.json": b"[]"}


def _chat(body: dict) -> str:
    """A canned model: names a spoon and a giraffe when asked to identify; ranks the listed ids in reverse."""
    prompt = user_text(body)
    if '{"objects"' in prompt:
        return '```json\n{"objects": ["Spoon", "giraffe", "spoon"]}\n```'
    ids = [int(line.split("]")[0].split("[")[1]) for line in prompt.splitlines() if line.startswith("- [")]
    return json.dumps({"ranking": [{"id": i, "score": 1 - k / 10, "reason": "canned"} for k, i in enumerate(ids[::-1])]})


@pytest.fixture
def model_server():
    server = ChatServer(_chat)
    yield server
    server.close()


def test_ranking_through_an_openai_compatible_server(tmp_path, model_server, monkeypatch):
    monkeypatch.delenv("SDCOMP_LMM_API_KEY", raising=False)
    out = tmp_path / "coffee.sdc"
    assert main(["compress", str(IMAGES / "coffee.png"), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "10",
                 "--ranker", "openai-compatible", "--base-url", model_server.url, "--model", "canned",
                 "--task", "is there a spoon?"]) == 0
    sidecar = json.loads((tmp_path / "coffee.sdc.json").read_text())
    ranking = sidecar["ranking"]
    listed = [int(line.split("]")[0].split("[")[1]) for line in ranking["prompt"].splitlines() if line.startswith("- [")]
    assert ranking["backend"] == "openai-compatible" and ranking["order"] == listed[::-1]
    assert "is there a spoon?" in ranking["prompt"] and json.loads(ranking["reply"])["ranking"][0]["reason"] == "canned"
    assert object_layer_ids(out.read_bytes()) == ranking["order"]
    assert model_server.requests[0]["body"]["model"] == "canned"


def test_identification_through_an_openai_compatible_server_chooses_what_is_grounded(tmp_path, model_server):
    out = tmp_path / "coffee.sdc"
    assert main(["compress", str(IMAGES / "coffee.png"), "--grounder", "annotations", "--identifier", "openai-compatible",
                 "--base-url", model_server.url, "--model", "canned", "--ranker", "area", "-o", str(out),
                 "--quality", "10"]) == 0
    sidecar = json.loads((tmp_path / "coffee.sdc.json").read_text())
    assert sidecar["identifier"]["backend"] == "openai-compatible"
    assert sidecar["identifier"]["labels"] == ["spoon", "giraffe"] and "1 repeated" in sidecar["identifier"]["repairs"][0]
    assert [o["label"] for o in sidecar["objects"]] == ["spoon"]  # the grounder found what was named, and no giraffe
    assert object_layer_ids(out.read_bytes()) == [sidecar["objects"][0]["id"]]


def test_no_objects_found_still_writes_a_valid_background_file(tmp_path, capsys):
    server = ChatServer(lambda body: '{"objects": ["giraffe"]}')
    try:
        out = tmp_path / "coffee.sdc"
        assert main(["compress", str(IMAGES / "coffee.png"), "--grounder", "annotations", "--identifier",
                     "openai-compatible", "--base-url", server.url, "--model", "m", "-o", str(out)]) == 0
    finally:
        server.close()
    captured = capsys.readouterr()
    assert "no objects found" in captured.err and "none: the file holds the preview and background only" in captured.out
    assert [layer.kind for layer in inspect(out.read_bytes())] == ["preview", "background"]
    assert decode(out.read_bytes()).coverage.all()
    sidecar = json.loads((tmp_path / "coffee.sdc.json").read_text())
    assert sidecar["objects"] == [] and sidecar["ranking"]["order"] == []


def test_the_library_call_is_deterministic_and_leaves_objects_alone():
    from sdcomp_lite import load_sample

    sample = load_sample("chelsea")
    first = compress(sample.image, "where are the eyes?", ranker="area", objects=list(sample.objects), quality=10)
    second = compress(sample.image, "where are the eyes?", ranker="area", objects=list(sample.objects), quality=10)
    assert first.encoded.data == second.encoded.data and first.sidecar == second.sidecar
    assert [o.importance for o in sample.objects] == [1.0, 1.0, 1.0]  # copies were ranked
    assert [o.object_id for o in first.objects] == list(first.ranking.order)
    assert np.all(np.diff([o.importance for o in first.objects]) <= 0)


@pytest.fixture(scope="module")
def owl_folder(tmp_path_factory):
    from sdcomp_lite.tiny_models import save_tiny_owlv2

    return save_tiny_owlv2(tmp_path_factory.mktemp("owlv2"))


def test_an_open_vocabulary_grounder_grounds_what_was_identified(owl_folder):
    from sdcomp_lite import load_sample

    image = load_sample("coffee").image
    result = compress(image, "is there a spoon?", grounder="owlv2", ranker="area", quality=10,
                      grounder_options={"model": str(owl_folder), "threshold": 0.0},
                      identifier_options={"grounder": "annotations"})  # no identifier named: offline, as the grounder needs names
    assert result.identification.backend == "offline" and result.identification.labels == ("cup", "saucer", "spoon")
    assert result.objects and {o.label for o in result.objects} <= {"cup", "saucer", "spoon"}
    assert all(o.source == "owlv2" for o in result.objects) and result.grounder == "owlv2"
    assert result.sidecar["identifier"]["labels"] == ["cup", "saucer", "spoon"]


def test_compress_with_owlv2_on_the_command_line_identifies_offline_first(tmp_path, owl_folder, capsys):
    out = tmp_path / "astronaut.sdc"
    assert main(["compress", str(IMAGES / "astronaut.png"), "--grounder", "owlv2", "--grounder-model", str(owl_folder),
                 "--ranker", "area", "-o", str(out), "--quality", "10"]) == 0
    sidecar = json.loads((tmp_path / "astronaut.sdc.json").read_text())
    identified = sidecar["identifier"]["labels"]
    assert sidecar["identifier"]["backend"] == "offline" and "person" in identified
    assert all(o["label"] in identified for o in sidecar["objects"]) and sidecar["grounder"] == "owlv2"
    assert "identify (offline): " in capsys.readouterr().out
    assert decode(out.read_bytes()).coverage.all()
