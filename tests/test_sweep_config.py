"""Issue 20, finding 8: a sweep configuration is checked against its schema before any work.

Every bad file or value raises SweepConfigError naming the key and what is allowed; the CLI says
so in one line and exits 2 (no traceback, no hang).
"""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from sdcomp_lite.errors import DataFileError, InvalidParameterError, SdcompError
from sdcomp_lite.evaluation.sweep import SweepConfig, SweepConfigError, work_units


def test_the_shipped_configurations_and_the_default_pass():
    for name in ("sweep_default", "sweep_heldout"):
        config = SweepConfig.from_json(f"benchmarks/{name}.json")
        assert config.workers == 2 and isinstance(config.sdcomp_qualities, tuple)
    assert SweepConfig() == SweepConfig.from_dict(json.loads(json.dumps(SweepConfig().__dict__)))


@pytest.mark.parametrize("raw, match", [
    ([], "a JSON object.*not a list"),
    (5, "not a number"),
    (None, "not a null"),
    ("x", "not a string"),
    ({"qualities": [5]}, r"unknown keys \['qualities'\]; known keys: images, tasks"),
    ({"sdcomp_qualities": 5}, "'sdcomp_qualities' must be a list, got 5"),
    ({"sdcomp_qualities": [None]}, "'sdcomp_qualities' must hold whole numbers from 1 to 100, got None"),
    ({"sdcomp_qualities": [[1]]}, "'sdcomp_qualities' must hold whole numbers from 1 to 100, got a JSON list"),
    ({"sdcomp_qualities": [float("inf")]}, "whole numbers from 1 to 100, got inf"),
    ({"sdcomp_qualities": [10.0]}, "whole numbers from 1 to 100, got 10.0"),
    ({"sdcomp_qualities": ["10"]}, "whole numbers from 1 to 100, got '10'"),
    ({"sdcomp_qualities": [0]}, "from 1 to 100, got 0"),
    ({"sdcomp_qualities": [True]}, "from 1 to 100, got True"),
    ({"sdcomp_qualities": [10**5000]}, "a number of about 5000 digits"),
    ({"sdcomp_qualities": [10] * 1_000_000}, "from 0 to 1000 entries, got 1000000"),
    ({"sdcomp_qualities": [10, 10, 30]}, "'sdcomp_qualities' holds 10 twice"),
    ({"background_scales": [1, 3]}, r"'background_scales' must hold whole numbers in \(1, 2, 4, 8\)"),
    ({"background_scales": []}, "'background_scales' must hold from 1"),
    ({"rankers": ["area", "area"]}, "'rankers' holds 'area' twice"),
    ({"images": ["astronaut", "astronaut"]}, "'images' holds 'astronaut' twice"),
    ({"images": []}, "'images' must hold from 1"),
    ({"images": "astronaut"}, "'images' must be a list"),
    ({"images": ["a\x1b[31mb"]}, "each entry of 'images' must be printable text"),
    ({"tasks": ["person"]}, "'tasks' holds the unknown name 'person'; choose from .*person-segmentation"),
    ({"codecs": ["jpg"]}, "'codecs' holds the unknown name 'jpg'; choose from .*jpeg"),
    ({"rankers": ["gpt"]}, "'rankers' holds the unknown name 'gpt'"),
    ({"objects": "grounder"}, "'objects' must be one of annotations"),
    ({"reference": "annotation"}, "'reference' must be one of pseudo, annotations; got 'annotation'"),
    ({"preview": "false"}, "'preview' must be true or false .a JSON boolean"),
    ({"preview": 0}, "'preview' must be true or false"),
    ({"preview_skips_first_layer": "yes"}, "'preview_skips_first_layer' must be true or false"),
    ({"mask_scale": 128}, "'mask_scale' must be one of 1, 2, 4, 8, 16, 32, 64"),
    ({"preview_scale": 1}, "'preview_scale' must be one of 2, 4, 8"),
    ({"preview_quality": 0}, "'preview_quality' must be a whole number from 1 to 100, got 0"),
    ({"preview_quality": True}, "'preview_quality' must be a whole number"),
    ({"max_layers": 0}, "'max_layers' must be a whole number from 1 to 1000"),
    ({"object_quality": "sharp"}, "'object_quality'"),
    ({"avif_speed": 11}, "'avif_speed'"),
    ({"avif_speed": "fast"}, "'avif_speed'"),
    ({"max_layers": "3"}, "'max_layers' must be a whole number"),
    ({"workers": 0}, "'workers' must be a whole number from 1 to 256, got 0"),
    ({"workers": -3}, "'workers' must be a whole number from 1 to 256"),
    ({"workers": 2.5}, "'workers' must be a whole number"),
    ({"workers": "2"}, "'workers' must be a whole number"),
    ({"ranking_task": ""}, "'ranking_task' must be a non-empty string or null"),
    ({"ranking_task": 7}, "'ranking_task' must be a non-empty string or null"),
    ({"scheduler": "garbage"}, "'scheduler' must be a Dask scheduler address such as tcp://127.0.0.1:8786"),
    ({"scheduler": "tcp://host:99999"}, "port from 1 to 65535"),
    ({"scheduler": "http://host:8786"}, "the protocol must be one of tcp"),
    ({"scheduler": "tcp://host:8786\nX"}, "'scheduler' must be a Dask scheduler address"),
    ({"scheduler": 8786}, "'scheduler' must be a Dask scheduler address"),
])
def test_a_bad_configuration_names_the_key_and_what_is_allowed(raw, match):
    with pytest.raises(SweepConfigError, match=match) as caught:
        SweepConfig.from_dict(raw)
    assert len(str(caught.value)) < 600


def test_the_python_constructor_checks_the_same_schema_and_takes_lists():
    with pytest.raises(SweepConfigError, match="'workers'"):
        SweepConfig(workers=0)
    config = SweepConfig(images=["astronaut"], codecs=["jpeg"])
    assert config.images == ("astronaut",) and hash(config)
    from dataclasses import replace

    with pytest.raises(SweepConfigError, match="'scheduler'"):
        replace(config, scheduler="not an address")
    assert replace(config, scheduler="tcp://127.0.0.1:8786").scheduler == "tcp://127.0.0.1:8786"
    assert SweepConfig(scheduler="inproc://192.0.2.2/1/1").scheduler.startswith("inproc://")


def test_the_error_is_a_package_error_of_both_kinds():
    assert issubclass(SweepConfigError, SdcompError)
    assert issubclass(SweepConfigError, InvalidParameterError) and issubclass(SweepConfigError, DataFileError)


@pytest.mark.parametrize("content, match", [
    ('{"workers": 1}'.encode("utf-16"), "not UTF-8 text"),
    (b'{"workers": 1\xff}', "not UTF-8 text"),
    (b'{"workers": ' + b"1" * 5000 + b"}", "not valid JSON: Exceeds the limit"),
    (b"[" * 100_000, "nests JSON too deeply"),
    (b'{"workers": 1', "not valid JSON"),
    (b'{"workers": Infinity}', "'workers' must be a whole number"),
    (b'{"sdcomp_qualities": [NaN]}', "whole numbers from 1 to 100, got nan"),
    (b"", "not valid JSON"),
    (b" " * (1 << 20) + b"{}", "more than a sweep writes"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, content, match):
    path = tmp_path / "sweep.json"
    path.write_bytes(content)
    with pytest.raises(SweepConfigError, match=match) as caught:
        SweepConfig.from_json(path)
    assert str(path) in str(caught.value)


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf{"workers": 1}')
    assert SweepConfig.from_json(tmp_path / "bom.json").workers == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_a_device_or_a_folder_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    for path in (tmp_path / "fifo.json", "/dev/zero", tmp_path):
        with pytest.raises(SweepConfigError, match="not a regular file"):
            SweepConfig.from_json(path)
    with pytest.raises(SweepConfigError, match="not found"):
        SweepConfig.from_json(tmp_path / "none.json")


def test_duplicate_units_are_impossible():
    config = SweepConfig(images=("astronaut",), rankers=("area",), sdcomp_qualities=(10, 30), background_qualities=(10,),
                         background_scales=(1, 4), codecs=("jpeg", "webp"))
    keys = [unit.key for unit in work_units(config)]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("content, options, match", [
    (b'{"sdcomp_qualities": [10, 10, 30]}', [], "'sdcomp_qualities' holds 10 twice"),
    (b'{"workers": 0}', [], "'workers' must be a whole number from 1"),
    (b"{}", ["--scheduler", "no address"], "'scheduler' must be a Dask scheduler address"),
])
def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path, content, options, match):
    import re

    (tmp_path / "c.json").write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "sdcomp_lite.cli", "eval", str(tmp_path / "c.json"), "-o",
                             str(tmp_path / "out"), *options], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdcomp-lite eval: error: ") and re.search(match, lines[0])
    assert not (tmp_path / "out").exists(), "nothing is created before the configuration is checked"


def test_anchor_qualities_and_variants_narrow_each_anchors_grid():


    config = SweepConfig(images=("chelsea",), tasks=("person-segmentation",), rankers=("offline",), sdcomp_qualities=(10,),
                         codecs=("avif", "prefilter-avif", "jpeg"), anchor_qualities={"avif": [2, 10], "prefilter-avif": [5]},
                         anchor_variants={"prefilter-avif": ["sigma=4"]})
    planned = {(u.codec, u.variant, u.quality) for u in work_units(config)}
    assert {(c, v, q) for c, v, q in planned if c == "avif"} == {("avif", "", 2), ("avif", "", 10)}
    assert {(c, v, q) for c, v, q in planned if c == "prefilter-avif"} == {("prefilter-avif", "sigma=4", 5)}
    assert len([p for p in planned if p[0] == "jpeg"]) == 8  # not named: its own full grid
    assert SweepConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(config)))) == config  # run.json round trip


@pytest.mark.parametrize("bad", [{"anchor_qualities": {"webp": [2]}}, {"anchor_qualities": {"avif": [0]}},
                                 {"anchor_qualities": {"avif": [2, 2]}}, {"anchor_qualities": [2]},
                                 {"anchor_qualities": {"avif": 5}}, {"anchor_variants": {"avif": ["sigma=4"]}},
                                 {"anchor_variants": {"prefilter-avif": ["sigma=5"]}}])
def test_a_bad_anchor_grid_names_the_key(bad):
    with pytest.raises(SweepConfigError, match="anchor_"):
        SweepConfig(images=("chelsea",), codecs=("avif", "prefilter-avif"), **bad)


def test_region_aware_anchors_are_given_the_first_rankers_rankings():
    from sdcomp_lite.evaluation.sweep import WorkUnit, unit_rankings

    config = SweepConfig(images=("chelsea",), tasks=("person-segmentation",), rankers=("offline", "area"),
                         codecs=("avif", "prefilter-avif"))
    rankings = {("chelsea", ranker, "find every person"): ranker for ranker in ("offline", "area")}
    assert unit_rankings(WorkUnit("chelsea", "prefilter-avif", "sigma=4", 5), config, rankings) == {
        "person-segmentation": "offline"}
    assert unit_rankings(WorkUnit("chelsea", "avif", "", 5), config, rankings) == {}
    assert unit_rankings(WorkUnit("chelsea", "sdcomp-lite", "area bs=1", 5), config, rankings) == {
        "person-segmentation": "area"}


def test_the_layer_structure_keys_reach_encode_with_encodes_defaults():
    import inspect

    from sdcomp_lite.coding import encode

    defaults = inspect.signature(encode).parameters
    config = SweepConfig()
    for key in ("preview_scale", "preview_quality", "max_layers", "mask_scale", "preview", "object_quality"):
        assert getattr(config, key) == defaults[key].default, key
    assert SweepConfig.from_dict({"max_layers": 3, "preview_scale": 4, "preview_quality": 5}).max_layers == 3


def test_avif_speed_defaults_to_the_librarys_layer_coder():
    from sdcomp_lite.coding.image_coders import AvifCoder

    assert SweepConfig().avif_speed == AvifCoder().speed == 6
    assert SweepConfig.from_dict({"avif_speed": 0}).avif_speed == 0


@pytest.mark.parametrize("codecs", [3.5, True, [["avif"]], [1, 2], "avif"])
def test_per_anchor_keys_beside_a_broken_codecs_list_get_the_codecs_message(codecs):
    """Found by the configuration fuzzer: anchor_qualities was checked against codecs before codecs was valid."""
    with pytest.raises(SweepConfigError, match="'codecs'"):
        SweepConfig.from_dict({"codecs": codecs, "anchor_qualities": {"avif": [2, 5]}, "anchor_variants": {"avif": [""]}})
