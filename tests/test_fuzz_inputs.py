"""Short runs of the input fuzzers (the long runs are benchmarks/fuzz_configs.py and
benchmarks/fuzz_llm_replies.py): every case ends in a result or a promised SdcompError, none
hangs, and no resumed sweep folder counts a unit as done without all of its rows."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("surface", ["configs", "folders"])
def test_configs_and_sweep_folders_hold_up_to_a_few_hundred_mutations(surface):
    fuzz = _load("fuzz_configs")
    summary = fuzz.summarise(fuzz.run_cases(surface, 300, seed=0))
    assert summary["bugs"] == []
    assert summary["outcomes"]["sdcomp-error"] > 50 and summary["outcomes"]["ok"] > 10
    assert set(summary["by_kind"]) == ({"value", "list", "key", "top", "deep", "number", "bytes"} if surface == "configs"
                                       else set(fuzz.FolderCases.KINDS))


def test_the_folder_check_catches_a_lost_row():
    """The fuzzer's invariant can fail: a unit whose rows were deleted is reported when units.csv is forged to
    match (count and checksum recomputed: an edit no checksum can catch), so "0 lost rows" means something."""
    import tempfile

    fuzz = _load("fuzz_configs")
    from sdcomp_lite.evaluation.results import unit_checksum
    from sdcomp_lite.evaluation.store import _fields

    def lose_a_row_everywhere(folder, config):
        fuzz.build_folder(folder, config)
        results, units = (folder / "results.csv").read_bytes().split(b"\n"), (folder / "units.csv").read_bytes()
        (folder / "results.csv").write_bytes(b"\n".join(results[:1] + results[2:]))
        key = _fields(results[1])[:4]
        rows = [_fields(line) for line in results[1:-1] if _fields(line)[:4] == key]
        prefix = ",".join(key).encode() + b","
        old, new = (f"{len(rows)},{unit_checksum(rows)}", f"{len(rows) - 1},{unit_checksum(rows[1:])}")
        assert prefix + old.encode() in units
        (folder / "units.csv").write_bytes(units.replace(prefix + old.encode(), prefix + new.encode()))

    case = fuzz.Case(0, "test", lose_a_row_everywhere)
    with tempfile.TemporaryDirectory() as scratch:
        outcome, detail = fuzz.run_folder_case(case, Path(scratch) / "sweep", fuzz._clean_rows())
    assert outcome == "lost-rows", detail


def test_the_lmm_client_holds_up_to_hostile_servers():
    fuzz = _load("fuzz_llm_replies")
    from sdcomp_lite.types import SceneObject

    image = np.zeros((32, 32, 3), np.uint8)
    objects = [SceneObject(i, f"o{i}", (0, 0, 8 * i, 8 * i), np.pad(np.ones((8 * i, 8 * i), bool), ((0, 32 - 8 * i),) * 2))
               for i in (1, 2, 3)]
    maker = fuzz.ReplyCases(0, [1, 2, 3])
    outcomes = [fuzz.run_case(maker.case(index), image, objects, timeout=1.0) for index in range(150)]
    summary = fuzz.summarise(outcomes)
    assert summary["bugs"] == []
    assert summary["outcomes"]["ok"] > 10 and summary["outcomes"]["sdcomp-error"] > 30
