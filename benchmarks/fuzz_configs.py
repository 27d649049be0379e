"""Fuzzing sweep configurations and sweep folders: structure-aware mutations of valid inputs.

Two surfaces:
- configurations: a valid JSON configuration (the shipped ones and a tiny one) with one to three
  mutations (a key's value of another type or out of range, a list emptied, repeated, grown to a
  million entries or given a wrong entry, keys dropped, misspelt or added, the top level replaced,
  deep nesting, huge numbers, bytes flipped, cut or re-encoded), read by
  ``SweepConfig.from_json``. An accepted configuration must plan unique work units and survive the
  round trip through run.json.
- sweep folders: a finished folder (written the way run_sweep writes it, without Dask) whose
  results.csv, units.csv or run.json is mutated (lines cut, dropped, repeated, swapped, counts
  edited, bytes flipped, a FIFO or /dev/zero in place of a file) or rebuilt from two unlocked
  writers appending interleaved and crashing; then resumed with ``_prepare_folder``. A *lost row*
  is a unit counted as done whose rows in results.csv are not exactly the clean run's rows: one
  missing, one too many, or one whose text differs (a metric renamed, a number changed to another
  valid number); units.csv's per-unit checksums are what catches the last kinds.

Outcomes: ``ok``, ``sdcomp-error`` (as promised), ``other-exception`` (a traceback: a bug),
``hang`` (over 5 s: a bug), ``lost-rows`` (a bug). Writes benchmarks/results/fuzz_inputs_configs.{md,json}.

Run from the repository root:  nice -n 10 python benchmarks/fuzz_configs.py --cases 3000 --seed 1
A case is rebuilt with ConfigCases(seed).case(index) or FolderCases(seed).case(index).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HANG_SECONDS = 5.0
TINY = {"images": ["astronaut"], "tasks": ["person-segmentation"], "rankers": ["area"], "sdcomp_qualities": [10, 40],
        "codecs": ["jpeg"], "workers": 1}
ODD_VALUES = (None, True, False, 0, -1, 1, 2**31, 10**300, 1.5, float("inf"), float("nan"), "", "x", "10",
              "annotation", "tcp://h:1", [], [None], [[1]], [1, 1], {}, {"a": 1}, "\x1b[31m", "a" * 5000)


def _valid_configs() -> list[dict]:
    """The shipped configurations (sweep_coco128_people brings the layer-structure and per-anchor keys) and a tiny one."""
    names = ("sweep_default", "sweep_heldout", "sweep_coco128_people")
    return [json.loads((HERE / f"{name}.json").read_text()) for name in names] + [dict(TINY)]


def _deep(depth: int):
    return json.loads("[" * depth + "]" * depth) if depth < 900 else None


def _mutate_config(rng: random.Random, config: dict) -> tuple[str, object]:
    """One structure-aware mutation; returns its kind and the new value (a dict, or bytes for byte-level kinds)."""
    keys = list(config) or ["workers"]
    key = rng.choice(keys)
    kind = rng.choice(("value", "value", "list", "key", "top", "deep", "number", "bytes"))
    config = dict(config)
    if kind == "value":
        config[key] = rng.choice(ODD_VALUES)
    elif kind == "list":
        lists = [k for k, v in config.items() if isinstance(v, list)] or ["images"]
        key = rng.choice(lists)
        items = list(config[key]) if isinstance(config.get(key), list) and config[key] else [1]
        choice = rng.randrange(6)
        config[key] = ([] if choice == 0 else items + items[:1] if choice == 1 else items[:1] * 300_000 if choice == 2
                       else items + [rng.choice(ODD_VALUES)] if choice == 3 else list(range(-5, 200)) if choice == 4
                       else [rng.randrange(-10, 120) for _ in range(rng.randrange(1, 8))])
    elif kind == "key":
        choice = rng.randrange(3)
        if choice == 0:
            config.pop(key, None)
        elif choice == 1:
            config[key[:-1] + "z"] = config.pop(key, 1)
        else:
            config[rng.choice(("extra", "qualities", "", "\x00"))] = 1
    elif kind == "top":
        return kind, rng.choice(([], [config], 5, None, "config", True))
    elif kind == "deep":
        config[key] = _deep(rng.choice((10, 100, 800)))
        if config[key] is None:
            return kind, (f'{{"{key}": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    elif kind == "number":
        text = json.dumps(config).replace(": 2", ": " + "2" * rng.choice((20, 400, 5000)), 1)
        return kind, text.replace(": [2", ": [1e999", 1).encode()
    else:
        data = bytearray(json.dumps(config, allow_nan=True).encode())
        choice = rng.randrange(5)
        if choice == 0:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice == 1:
            del data[rng.randrange(len(data)) :]
        elif choice == 2:
            data = bytearray(bytes(data).decode().encode(rng.choice(("utf-16", "utf-32", "latin-1"))))
        elif choice == 3:
            data[rng.randrange(len(data)) : rng.randrange(len(data))] = b"\xff\xfe\x00"
        else:
            data = bytearray(b"\xef\xbb\xbf") + data
        return kind, bytes(data)
    return kind, config


@dataclass(frozen=True)
class Case:
    index: int
    kind: str
    data: object  # bytes for a configuration file; a function(folder) for a folder mutation


class ConfigCases:
    def __init__(self, seed: int) -> None:
        self.seed, self.valid = seed, _valid_configs()

    def case(self, index: int) -> Case:
        rng = random.Random(f"config:{self.seed}:{index}")
        value, kinds = rng.choice(self.valid), []
        for _ in range(rng.randrange(1, 4)):
            kind, value = _mutate_config(rng, value if isinstance(value, dict) else {"images": value})
            kinds.append(kind)
            if isinstance(value, bytes):
                break
        data = value if isinstance(value, bytes) else json.dumps(value, allow_nan=True).encode()
        return Case(index, kinds[0], data)


def run_config_case(case: Case, folder: Path) -> tuple[str, str]:
    from sdcomp_lite.errors import SdcompError
    from sdcomp_lite.evaluation.sweep import SweepConfig, work_units

    path = folder / "config.json"
    path.write_bytes(case.data)
    try:
        config = SweepConfig.from_json(path)
    except SdcompError as error:
        message = str(error)
        if "\n" in message or len(message) > 1500:
            return "other-exception", f"a message of {len(message)} characters over {message.count(chr(10)) + 1} lines"
        return "sdcomp-error", type(error).__name__
    keys = [unit.key for unit in work_units(config)]
    if len(keys) != len(set(keys)):
        return "lost-rows", "an accepted configuration plans two work units with one key"
    if SweepConfig.from_dict(json.loads(json.dumps(config.__dict__))) != config:
        return "other-exception", "the configuration does not survive run.json"
    return "ok", ""


# -- sweep folders --------------------------------------------------------------------------------

def _fake_rows(unit) -> list[dict]:
    """Rows as worker.run_unit returns them: 1-3 per unit, depending on the unit."""
    count = 1 + (unit.quality + len(unit.variant)) % 3
    layers = range(1, count + 1) if unit.ours else [0] * count
    return [{"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality, "layers": n,
             "bytes": 1000 + k, "bpp": 8 * (1000 + k) / 512**2, "task": "person-segmentation", "reference": "pseudo",
             "metric": f"m{k}", "value": 0.9999999999999999 - k / 7} for k, n in enumerate(layers)]


def _folder_config():
    from sdcomp_lite.evaluation.sweep import SweepConfig

    return SweepConfig(images=("astronaut",), tasks=("person-segmentation",), rankers=("area",),
                       sdcomp_qualities=(10, 40), codecs=("jpeg",), workers=1)


def build_folder(folder: Path, config, writers: list[list] | None = None, rng: random.Random | None = None) -> None:
    """A finished sweep folder (sorted, as run_sweep leaves it); or, with ``writers``, the files two
    unlocked writers leave when they append the units in their lists interleaved, the last write torn."""
    from sdcomp_lite.evaluation import results as schema
    from sdcomp_lite.evaluation import store, sweep

    state = sweep._prepare_folder(folder, config)
    sweep._write_run_file(folder, config, state)
    if writers is None:
        with open(folder / "results.csv", "a", newline="") as results, open(folder / "units.csv", "a", newline="") as units:
            for unit in sweep.work_units(config):
                store.append_unit(results, units, unit.key, _fake_rows(unit))
        sweep._sort_results(folder, config)
        return
    writes = []  # (writer, file, text): each writer's rows, line by line, then its unit line
    for number, plan in enumerate(writers):
        for unit in plan:
            values = [[row[c] for c in schema.COLUMNS] for row in _fake_rows(unit)]
            writes += [(number, "results.csv", schema.csv_text([row])) for row in values]
            writes.append((number, "units.csv", schema.csv_text([(*unit.key, len(values), schema.unit_checksum(values))])))
    queues = [[w for w in writes if w[0] == n] for n in range(len(writers))]
    order = []
    while any(queues):
        order.append(rng.choice([q for q in queues if q]).pop(0))
    order = order[: rng.randrange(len(order) + 1)]  # both crash here
    for position, (_, name, text) in enumerate(order):
        if position == len(order) - 1 and rng.random() < 0.5:
            text = text[: rng.randrange(len(text))]  # the last write torn
        with open(folder / name, "a", newline="") as handle:
            handle.write(text)


def _edit_lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 3:
        return data + b"x"
    spot = rng.randrange(1, len(lines) - 1)
    choice = rng.randrange(8)
    if choice == 0:
        del lines[spot]
    elif choice == 1:
        lines.insert(spot, lines[spot])
    elif choice == 2:
        other = rng.randrange(1, len(lines) - 1)
        lines[spot], lines[other] = lines[other], lines[spot]
    elif choice == 3:
        return data[: rng.randrange(len(data))]
    elif choice == 4:
        line = bytearray(lines[spot] or b"x")
        line[rng.randrange(len(line))] = rng.randrange(256)
        lines[spot] = bytes(line)
    elif choice == 5:  # the last field or the one before: units.csv's checksum or count, results.csv's value or metric
        fields = lines[spot].removesuffix(b"\r").split(b",")
        where = rng.choice((-1, -2)) if len(fields) > 1 else -1
        fields[where] = rng.choice((b"0", b"1", b"2", b"3", b"99", b"-1", b"1e3", b"x", b"1" * 30))
        lines[spot] = b",".join(fields) + b"\r"
    elif choice == 6:
        lines[spot] = lines[spot].replace(b"\r", b"")
    else:
        lines.insert(spot, bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 80))) + b"\r")
    return b"\n".join(lines)


class FolderCases:
    KINDS = ("results.csv", "units.csv", "both", "run.json", "special", "two-writers")

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def case(self, index: int) -> Case:
        rng = random.Random(f"folder:{self.seed}:{index}")
        kind = self.KINDS[index % len(self.KINDS)]

        def mutate(folder: Path, config) -> None:
            if kind == "two-writers":
                from sdcomp_lite.evaluation.sweep import work_units

                units = work_units(config)
                build_folder(folder, config, [rng.sample(units, rng.randrange(len(units) + 1)) for _ in range(2)], rng)
                return
            build_folder(folder, config)
            if kind == "special":
                path = folder / rng.choice(("results.csv", "units.csv", "run.json"))
                path.unlink()
                choice = rng.randrange(3)
                os.mkfifo(path) if choice == 0 else path.symlink_to("/dev/zero") if choice == 1 else path.mkdir()
                return
            names = {"both": ("results.csv", "units.csv")}.get(kind, (kind,))
            for name in names:
                for _ in range(rng.randrange(1, 4)):
                    (folder / name).write_bytes(_edit_lines(rng, (folder / name).read_bytes()))

        return Case(index, kind, mutate)


def run_folder_case(case: Case, folder: Path, clean: dict) -> tuple[str, str]:
    """Mutate a fresh folder, resume it, and check that every unit counted as done has exactly its clean rows."""
    import csv

    from sdcomp_lite.errors import SdcompError
    from sdcomp_lite.evaluation import sweep

    config = _folder_config()
    case.data(folder, config)
    try:
        state = sweep._prepare_folder(folder, config)
    except SdcompError as error:
        return "sdcomp-error", type(error).__name__
    with open(folder / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    kept: dict = {}
    for row in rows:
        kept.setdefault((row[0], row[1], row[2], int(row[3])), []).append(row)
    for key in state.done:
        identities = sorted(_identity(row) for row in kept.get(key, []))
        if identities != sorted(_identity(row) for row in clean[key]):
            return "lost-rows", f"unit {key} counted as done with rows {identities} for {len(clean[key])} clean rows"
        if sorted(kept.get(key, [])) != clean[key]:
            return "lost-rows", f"unit {key} counted as done with a value that is not the clean run's (changed values)"
    if set(kept) - set(state.done):
        return "lost-rows", "rows of a unit that is not done were kept"
    return "ok", f"{len(state.done)} done"


def _identity(row: list[str]) -> tuple:
    """What a row is about: its unit, layers, task, reference and metric (not its numbers)."""
    return (*row[:5], *row[7:10])


def _clean_rows() -> dict:
    import csv

    from sdcomp_lite.evaluation import sweep

    with tempfile.TemporaryDirectory() as scratch:
        build_folder(Path(scratch) / "f", _folder_config())
        with open(Path(scratch) / "f" / "results.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
    clean: dict = {unit.key: [] for unit in sweep.work_units(_folder_config())}
    for row in rows:
        clean[(row[0], row[1], row[2], int(row[3]))].append(row)
    return {key: sorted(value) for key, value in clean.items()}


@dataclass(frozen=True)
class Outcome:
    surface: str
    index: int
    kind: str
    outcome: str
    detail: str
    seconds: float


def run_cases(surface: str, count: int, seed: int, on_case: Callable[[], None] | None = None) -> list[Outcome]:
    """``count`` cases of ``surface`` ("configs" or "folders"), each in a fresh scratch folder."""
    maker = ConfigCases(seed) if surface == "configs" else FolderCases(seed)
    clean = _clean_rows() if surface == "folders" else {}
    if surface == "configs":  # the registries load on the first check: not part of any case's time
        from sdcomp_lite.evaluation.sweep import SweepConfig

        SweepConfig()
    outcomes = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(count):
            folder = Path(scratch) / str(index)
            folder.mkdir()
            case = maker.case(index)
            started = time.monotonic()
            try:
                if surface == "configs":
                    outcome, detail = run_config_case(case, folder)
                else:
                    outcome, detail = run_folder_case(case, folder / "sweep", clean)
            except Exception as error:  # noqa: BLE001 - counting them is the point
                outcome, detail = "other-exception", f"{type(error).__name__}: {str(error)[:200]}"
            seconds = time.monotonic() - started
            if seconds > HANG_SECONDS:
                outcome, detail = "hang", f"{seconds:.1f} s"
            outcomes.append(Outcome(surface, index, case.kind, outcome, detail, seconds))
            shutil.rmtree(folder, ignore_errors=True)
            if on_case:
                on_case()
    return outcomes


NAMES = ("ok", "sdcomp-error", "other-exception", "hang", "lost-rows")


def summarise(outcomes: list[Outcome]) -> dict:
    kinds = sorted({o.kind for o in outcomes})
    errors: dict[str, int] = {}
    for o in outcomes:
        if o.outcome == "sdcomp-error":
            errors[o.detail] = errors.get(o.detail, 0) + 1
    changed = sum(o.outcome == "lost-rows" and "changed values" in o.detail for o in outcomes)
    return {"cases": len(outcomes), "changed_values": changed,
            "outcomes": {n: sum(o.outcome == n for o in outcomes) for n in NAMES},
            "by_kind": {k: {n: sum(o.outcome == n and o.kind == k for o in outcomes) for n in NAMES} for k in kinds},
            "errors": errors, "slowest_seconds": round(max((o.seconds for o in outcomes), default=0.0), 3),
            "bugs": [{"index": o.index, "kind": o.kind, "outcome": o.outcome, "detail": o.detail} for o in outcomes
                     if o.outcome in ("other-exception", "hang", "lost-rows")]}


def markdown(report: dict) -> str:
    lines = ["# Fuzzing sweep configurations and sweep folders", "",
             f"Seed {report['seed']}, {report['machine']}, {report['date']}. Made by `benchmarks/fuzz_configs.py`. "
             "Each case runs in this process (a signal would have ended the run: 0 signals); a case over "
             f"{HANG_SECONDS:g} s counts as a hang.", ""]
    for surface, title in (("configs", "Configurations (SweepConfig.from_json)"),
                           ("folders", "Sweep folders (resume: _prepare_folder)")):
        summary = report[surface]
        counts = summary["outcomes"]
        lines += [f"## {title}", "",
                  f"{summary['cases']} cases in {summary['seconds']} s (slowest {summary['slowest_seconds']} s): "
                  f"**{counts['other-exception']} tracebacks, {counts['hang']} hangs, {counts['lost-rows']} lost rows, "
                  "0 signals**.", "",
                  *(["A lost row: a unit kept as done whose rows are not exactly the clean run's (a row missing or "
                     "repeated, a metric renamed, a number changed to another valid number); "
                     f"{summary['changed_values']} of the lost rows are changed values. units.csv records a checksum "
                     "of each unit's rows, so edits of both files that agree are caught and the unit runs again.", ""]
                    if surface == "folders" else []),
                  "| mutation | " + " | ".join(NAMES) + " |", "| --- |" + " ---: |" * len(NAMES)]
        lines += [f"| {kind} | " + " | ".join(str(row[n]) for n in NAMES) + " |" for kind, row in summary["by_kind"].items()]
        lines += ["| **all** | " + " | ".join(f"**{counts[n]}**" for n in NAMES) + " |", "",
                  "Errors raised: " + ", ".join(f"{name} {count}" for name, count in sorted(summary["errors"].items()))
                  + ".", ""]
        lines += [f"- bug: case {b['index']} ({b['kind']}): {b['outcome']}: {b['detail']}" for b in summary["bugs"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per surface")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = {"seed": args.seed, "date": date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    for surface in ("configs", "folders"):
        started = time.monotonic()
        report[surface] = summarise(run_cases(surface, args.cases, args.seed))
        report[surface]["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz_inputs_configs.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "fuzz_inputs_configs.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
