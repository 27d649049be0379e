"""Issue 11, finding 6: a resumed sweep repairs or refuses, and never keeps a torn or partial unit.

Most tests build a sweep folder by hand and call the resume functions directly (no Dask); one
test runs a tiny sweep end to end, interrupted and resumed.
"""

import csv
import errno
import json

import pytest

from sdcomp_lite.errors import DataFileError, SdcompError, SweepStateError
from sdcomp_lite.evaluation import store, sweep
from sdcomp_lite.evaluation.store import append_unit
from sdcomp_lite.evaluation.sweep import SweepConfig, _prepare_folder, _write_run_file, work_units

CONFIG = SweepConfig(images=("astronaut",), tasks=("person-segmentation",), rankers=("area",),
                     sdcomp_qualities=(10, 40), codecs=("jpeg",), workers=1)
TORN_VALUE = 0.9999999999999999


def _rows(unit) -> list[dict]:
    """Two rows per unit, as worker.run_unit would return them (the last value has 16 digits)."""
    layers = (1, 2) if unit.codec == "sdcomp-lite" else (0, 0)
    metrics = ("miou", "accuracy")
    return [{"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality,
             "layers": n, "bytes": 1000 + n, "bpp": 8 * (1000 + n) / 512**2, "task": "person-segmentation",
             "reference": "pseudo", "metric": metric, "value": TORN_VALUE if metric == "accuracy" else 0.5}
            for n, metric in zip(layers, metrics)]


@pytest.fixture
def folder(tmp_path):
    """A finished sweep folder, written the way run_sweep writes one, in sorted order."""
    folder = tmp_path / "sweep"
    state = _prepare_folder(folder, CONFIG)
    assert state.done == set() and state.repairs == []
    _write_run_file(folder, CONFIG, state)
    with open(folder / "results.csv", "a", newline="") as results, open(folder / "units.csv", "a", newline="") as units:
        for unit in work_units(CONFIG):
            append_unit(results, units, unit.key, _rows(unit))
    sweep._sort_results(folder, CONFIG)
    return folder


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _data_lines(folder):
    return (folder / "results.csv").read_bytes().split(b"\n")[1:-1]


def _unit_of(line: bytes):
    image, codec, variant, quality = line.decode().split(",")[:4]
    return (image, codec, variant, int(quality))


ALL = {u.key for u in work_units(CONFIG)}


def test_a_clean_folder_resumes_every_unit_and_changes_nothing(folder):
    before = _snapshot(folder)
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL and state.repairs == []
    assert _snapshot(folder) == before
    assert len(_data_lines(folder)) == 2 * len(ALL)
    assert not list(folder.glob(".*tmp"))


def test_a_torn_last_row_is_dropped_with_its_whole_unit(folder):
    results = folder / "results.csv"
    data = results.read_bytes()
    last = data.rstrip(b"\r\n").rsplit(b"\n", 1)[1]
    assert last.endswith(repr(TORN_VALUE).encode())
    torn = data.rstrip(b"\r\n")[: -len(repr(TORN_VALUE))] + b"0.9"  # 0.9999999999999999 cut to 0.9, no newline
    results.write_bytes(torn)
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {_unit_of(last)}
    assert any("torn" in r for r in state.repairs)
    kept = results.read_bytes()
    assert kept.endswith(b"\r\n") and b",0.9\r\n" not in kept and b",0.9" + b"\n" not in kept
    assert {_unit_of(line) for line in _data_lines(folder)} == ALL - {_unit_of(last)}
    assert _unit_of(last) not in {_unit_of(line) for line in (folder / "units.csv").read_bytes().split(b"\n")[1:-1]}


def test_a_unit_with_only_some_of_its_rows_is_not_done(folder):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[3])
    (folder / "results.csv").write_bytes(b"\n".join(lines[:3] + lines[4:]))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim}
    assert victim not in {_unit_of(line) for line in _data_lines(folder)}
    assert any("will run again" in r for r in state.repairs)


def test_rows_whose_unit_was_never_marked_finished_are_dropped(folder):
    units = (folder / "units.csv").read_bytes().split(b"\n")
    victim = _unit_of(units[1])
    (folder / "units.csv").write_bytes(b"\n".join(units[:1] + units[2:]))
    assert _prepare_folder(folder, CONFIG).done == ALL - {victim}
    assert victim not in {_unit_of(line) for line in _data_lines(folder)}


def _set(line: bytes, index: int, value: bytes) -> bytes:
    fields = line.split(b",")
    fields[index] = value
    return b",".join(fields)


@pytest.mark.parametrize("damage", [
    lambda line: line.replace(b"person", b"pers\xff\xfeon"),  # not UTF-8
    lambda line: line.replace(b"pseudo", b"pseu\x00do"),  # a NUL byte
    lambda line: line.rsplit(b",", 1)[0] + b"\r",  # a column missing
    lambda line: line.replace(b"\r", b",extra\r"),  # a column too many
    lambda line: line.replace(b"person-segmentation", b"face-detection"),  # a task this sweep does not run
    lambda line: line.replace(b"pseudo", b"guess"),  # an unknown reference
    lambda line: line.rsplit(b",", 1)[0] + b",inf\r",  # an infinite score
    lambda line: line.rsplit(b",", 1)[0] + b",0.5x\r",  # not a number
    lambda line: _set(line, 5, b"1000.5"),  # bytes not a whole number
    lambda line: _set(line, 4, b"-1"),  # layers negative
    lambda line: _set(line, 6, b"nan"),  # bpp not finite
    lambda line: b'"' + line,  # an unclosed quote
], ids=["utf8", "nul", "short", "long", "task", "reference", "inf", "number", "bytes", "layers", "bpp", "quote"])
def test_an_invalid_row_is_dropped_with_its_unit(folder, damage):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[1])
    lines[1] = damage(lines[1])
    (folder / "results.csv").write_bytes(b"\n".join(lines))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim}
    assert any("invalid" in r for r in state.repairs)
    rows = list(csv.reader((folder / "results.csv").open(newline="", encoding="utf-8")))
    assert len(rows) == 1 + 2 * (len(ALL) - 1)


def test_unknown_codecs_and_qualities_are_not_part_of_the_sweep(folder):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    units = (folder / "units.csv").read_bytes().split(b"\n")
    alien = lines[1].replace(b",jpeg,", b",webp,").replace(b",sdcomp-lite,area,10,", b",sdcomp-lite,area,11,")
    (folder / "results.csv").write_bytes(b"\n".join(lines[:-1] + [alien, b""]))
    (folder / "units.csv").write_bytes(b"\n".join(units[:-1] + [b"astronaut,webp,,50,1\r", b"astronaut,jpeg,,50,x\r", b""]))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL
    assert any("results.csv: dropped 1 invalid" in r for r in state.repairs)
    assert any("units.csv: dropped 2 invalid" in r for r in state.repairs)


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe{}", b'{"format_version": 2, "config": {}\x00}', b"[1, 2]", b"[" * 100_000,
    b'{"format_version": "2"}', b'{"format_version": true}', b'{"format_version": 2, "config": []}',
    b'{"format_version": 2, "config": %s, "skipped": [1]}', b'{"format_version": 2, "config": %s, "skipped": {"a": 1}}',
])
def test_a_damaged_run_file_is_refused_with_a_one_line_message_and_nothing_changes(folder, content):
    config = json.dumps(json.loads((folder / "run.json").read_text())["config"]).encode()
    (folder / "run.json").write_bytes(content.replace(b"%s", config))
    before = _snapshot(folder)
    with pytest.raises(SweepStateError) as caught:
        _prepare_folder(folder, CONFIG)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400
    assert "new output folder" in message
    assert _snapshot(folder) == before


def test_another_configuration_or_an_old_format_is_refused(folder):
    before = _snapshot(folder)
    with pytest.raises(SweepStateError, match="different configuration"):
        _prepare_folder(folder, SweepConfig(images=("chelsea",), codecs=("jpeg",)))
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**run, "format_version": 1}))
    with pytest.raises(SweepStateError, match="format 1"):
        _prepare_folder(folder, CONFIG)
    assert {k: v for k, v in _snapshot(folder).items() if k != "run.json"} == {
        k: v for k, v in before.items() if k != "run.json"}


def test_results_without_a_run_file_or_with_a_foreign_header_are_refused(folder):
    (folder / "run.json").unlink()
    before = _snapshot(folder)
    with pytest.raises(SweepStateError, match="no run.json"):
        _prepare_folder(folder, CONFIG)
    assert _snapshot(folder) == before
    _write_run_file(folder, CONFIG, sweep.SweepState())
    (folder / "results.csv").write_bytes(b"a,b,c\r\n1,2,3\r\n")
    with pytest.raises(SweepStateError, match="header"):
        _prepare_folder(folder, CONFIG)
    assert (folder / "results.csv").read_bytes() == b"a,b,c\r\n1,2,3\r\n"


def test_an_empty_or_half_written_header_starts_afresh(tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "results.csv").write_bytes(b"image,co")
    (folder / "units.csv").write_bytes(b"")
    state = _prepare_folder(folder, CONFIG)
    assert state.done == set()
    assert (folder / "results.csv").read_text().splitlines() == [",".join(sweep.COLUMNS)]
    assert (folder / "units.csv").read_text().splitlines() == [",".join(sweep.UNIT_COLUMNS)]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failed_rewrite_leaves_the_old_file_intact(folder, monkeypatch, step):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    (folder / "results.csv").write_bytes(b"\n".join(lines[:-2] + [lines[-2][:-5]]))  # torn: a rewrite is due
    before = _snapshot(folder)
    monkeypatch.setattr(store.os, step, _disk_full)
    with pytest.raises(SweepStateError, match="No space left.*previous file is unchanged"):
        _prepare_folder(folder, CONFIG)
    with pytest.raises(SweepStateError, match="No space left"):
        sweep._sort_results(folder, CONFIG)
    with pytest.raises(SweepStateError, match="No space left"):
        _write_run_file(folder, CONFIG, sweep.SweepState())
    assert _snapshot(folder) == before  # no temporary file left either
    monkeypatch.undo()
    assert _prepare_folder(folder, CONFIG).done == ALL - {_unit_of(lines[-2])}


def test_an_interrupted_rewrite_leaves_the_old_file_intact(folder, monkeypatch):
    before = _snapshot(folder)

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        sweep._sort_results(folder, CONFIG)
    assert _snapshot(folder) == before


def test_a_failed_append_says_what_to_do(folder):
    class Full:
        def write(self, text):
            _disk_full()

    with pytest.raises(SweepStateError, match="run the same command again to resume"):
        append_unit(Full(), Full(), next(iter(ALL)), [])


def test_an_unusable_output_folder_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SweepStateError, match="cannot create the output folder"):
        _prepare_folder(tmp_path / "file" / "sweep", CONFIG)


def test_the_error_is_a_package_error():
    assert issubclass(SweepStateError, SdcompError)


@pytest.fixture(scope="module")
def scheduler():
    """One in-process Dask cluster for the three runs below (a cluster of processes starts slowly)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def tiny(scheduler):
    """A sweep of 8 small JPEG units on the shared cluster."""
    return SweepConfig(images=("astronaut",), tasks=("person-segmentation",), rankers=(), sdcomp_qualities=(),
                       codecs=("jpeg",), scheduler=scheduler)


def _after_appends(monkeypatch, count: int, action) -> list:
    """Make run_sweep call ``action()`` right after its ``count``-th append; returns the list of appends."""
    append, calls = sweep.append_unit, []

    def append_then_act(*args):
        append(*args)
        calls.append(1)
        if len(calls) == count:
            action()

    monkeypatch.setattr(sweep, "append_unit", append_then_act)
    return calls


def _interrupt():
    raise KeyboardInterrupt


def test_an_interrupted_sweep_resumes_and_repairs_end_to_end(tmp_path, monkeypatch, tiny):
    folder = tmp_path / "sweep"
    _after_appends(monkeypatch, 3, _interrupt)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(tiny, folder, progress=False)
    assert not list(folder.glob(".*tmp"))
    monkeypatch.undo()
    assert len(_prepare_folder(folder, tiny).done) == 3
    sweep.run_sweep(tiny, folder, progress=False)
    complete = _snapshot(folder)
    units = complete["units.csv"].split(b"\n")[1:-1]
    assert len(units) == len(work_units(tiny)) == 8
    assert len(_data_lines(folder)) == sum(int(u.split(b",")[4]) for u in units) > 0
    (folder / "results.csv").write_bytes(complete["results.csv"][:-20])  # the last row torn
    with pytest.warns(UserWarning, match="torn.*1 unfinished"):
        sweep.run_sweep(tiny, folder, progress=False)
    assert _snapshot(folder)["results.csv"] == complete["results.csv"]
    assert _snapshot(folder)["units.csv"] == complete["units.csv"]


def test_a_results_file_replaced_while_the_sweep_runs_stops_it_and_the_resume_completes(tmp_path, monkeypatch, tiny):
    """Another program (git stash, a sync tool) replacing results.csv mid-sweep must not lose rows silently."""
    folder = tmp_path / "sweep"

    def replace_with_a_copy():  # what git stash + stash pop does: the same bytes, a new file
        path = folder / "results.csv"
        copy = path.with_name("copy.csv")
        copy.write_bytes(path.read_bytes())
        copy.replace(path)

    calls = _after_appends(monkeypatch, 2, replace_with_a_copy)
    with pytest.raises(SweepStateError, match="replaced or deleted while the sweep ran.*resume"):
        sweep.run_sweep(tiny, folder, progress=False)
    assert len(calls) == 2
    monkeypatch.undo()
    sweep.run_sweep(tiny, folder, progress=False)
    units = (folder / "units.csv").read_bytes().split(b"\n")[1:-1]
    assert len(units) == len(work_units(tiny))
    assert len(_data_lines(folder)) == sum(int(u.split(b",")[4]) for u in units)


# -- issue 20, finding 1: one sweep per folder; findings 8: only regular files of bounded size --------


def test_a_second_sweep_on_a_locked_folder_stops_at_once_and_the_first_completes(tmp_path, monkeypatch, tiny):
    """Two sweeps on one folder (here the second starts while the first has appended one unit)."""
    folder = tmp_path / "sweep"
    refused = []

    def second_sweep():
        with pytest.raises(sweep.SweepBusyError, match=r"in use by another sweep \(process \d+\).*another output folder"):
            sweep.run_sweep(tiny, folder, progress=False)
        refused.append(True)

    _after_appends(monkeypatch, 1, second_sweep)
    sweep.run_sweep(tiny, folder, progress=False)
    assert refused == [True]
    units = (folder / "units.csv").read_bytes().split(b"\n")[1:-1]
    assert len(units) == len(work_units(tiny)) == 8
    assert len(_data_lines(folder)) == sum(int(u.split(b",")[4]) for u in units)
    monkeypatch.undo()
    with sweep.folder_lock(folder):  # released after the run
        pass


def test_a_second_eval_process_says_so_in_one_line_and_exits_non_zero(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "sweep"
    (tmp_path / "c.json").write_text(json.dumps({"images": ["astronaut"], "tasks": ["person-segmentation"],
                                                 "rankers": [], "sdcomp_qualities": [], "codecs": ["jpeg"], "workers": 1}))
    with sweep.folder_lock(folder):
        result = subprocess.run([sys.executable, "-m", "sdcomp_lite.cli", "eval", str(tmp_path / "c.json"), "-o",
                                 str(folder)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sdcomp-lite eval: error: ") and "in use by another sweep" in line
    assert sorted(p.name for p in folder.iterdir()) == [".lock"], "the refused sweep wrote nothing"


def test_a_sweep_never_reports_success_with_units_missing(tmp_path, monkeypatch, tiny):
    """Rows lost after their unit was marked done (by another program) make the run fail, not exit 0."""
    folder = tmp_path / "sweep"
    sort = sweep._sort_results

    def sort_then_lose_a_row(folder_, config):
        sort(folder_, config)
        lines = (folder_ / "results.csv").read_bytes().split(b"\n")
        (folder_ / "results.csv").write_bytes(b"\n".join(lines[:1] + lines[2:]))

    monkeypatch.setattr(sweep, "_sort_results", sort_then_lose_a_row)
    with pytest.raises(SweepStateError, match="1 of 8 work units have no complete rows.*Run the same command again"):
        sweep.run_sweep(tiny, folder, progress=False)
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="1 unfinished"):
        sweep.run_sweep(tiny, folder, progress=False)
    assert len(_prepare_folder(folder, tiny).done) == 8


def _special(path, kind: str) -> None:
    import os

    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()


@pytest.fixture
def alarm():
    """Fail a test that blocks (a FIFO opened for reading waits for a writer) instead of hanging the run."""
    import signal

    def ring(*args):
        raise TimeoutError("blocked for 20 s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", ["run.json", "units.csv", "results.csv"])
@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_a_fifo_device_or_folder_in_place_of_a_file_is_refused_at_once(folder, alarm, name, kind):
    from sdcomp_lite.evaluation.report import load_results, sweep_progress

    _special(folder / name, kind)
    with pytest.raises(SweepStateError, match="not a regular file.*nothing was read"):
        _prepare_folder(folder, CONFIG)
    if name == "results.csv":
        with pytest.raises(DataFileError, match="not a regular file"):
            load_results(folder / name)
    else:
        with pytest.raises(SweepStateError, match="not a regular file"):
            sweep_progress(folder)


def test_a_file_larger_than_a_sweep_writes_is_refused_without_reading_it(folder, monkeypatch):
    monkeypatch.setitem(sweep.MAX_BYTES, "units.csv", 100)
    with pytest.raises(SweepStateError, match=r"units.csv holds \d+ bytes, more than a sweep writes"):
        _prepare_folder(folder, CONFIG)


def test_damaged_results_are_one_clear_error_for_the_report(folder):
    from sdcomp_lite.evaluation.report import load_results

    assert len(load_results(folder / "results.csv")) == 2 * len(ALL)
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    for damaged, match in ((_set(lines[1], 5, b"x"), "line 2: a number does not parse"),
                           (b"\xff\xfe", "not a sweep's results file"), (b'"', "not a sweep's results file")):
        (folder / "results.csv").write_bytes(b"\n".join([lines[0], damaged, *lines[2:]]))
        with pytest.raises(DataFileError, match=match):
            load_results(folder / "results.csv")
    (folder / "results.csv").write_bytes(b"a,b\r\n1,2\r\n")
    with pytest.raises(DataFileError, match="lacks the columns"):
        load_results(folder / "results.csv")


def test_a_repeated_row_does_not_stand_in_for_a_missing_one(folder):
    """Found by benchmarks/fuzz_configs.py: a unit's count matched while one row was there twice."""
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[1])
    assert _unit_of(lines[2]) == victim
    lines[2] = lines[1]
    (folder / "results.csv").write_bytes(b"\n".join(lines))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim} and any("will run again" in r for r in state.repairs)


# -- checksums (issue 20 finding 1): edits of both files that agree, and numbers changed to other valid numbers --

def _unit_lines(folder, key) -> list[bytes]:
    return [line for line in _data_lines(folder) if _unit_of(line) == key]


def _recount(folder, key, rows: int) -> None:
    """Lower (or set) ``key``'s row count in units.csv, keeping its checksum: an edit that agrees with results.csv."""
    lines = (folder / "units.csv").read_bytes().split(b"\n")
    for index, line in enumerate(lines[1:-1], 1):
        if _unit_of(line) == key:
            lines[index] = _set(line, 4, str(rows).encode())
    (folder / "units.csv").write_bytes(b"\n".join(lines))


def _checksum_repairs(state) -> list[str]:
    return [r for r in state.repairs if "do not match the checksum" in r]


def test_rows_deleted_with_the_count_lowered_to_match_run_again(folder):
    """Found by benchmarks/fuzz_configs.py (H3's 7 lost rows): a row deleted and the unit's count lowered to match."""
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[1])
    (folder / "results.csv").write_bytes(b"\n".join(lines[:1] + lines[2:]))
    _recount(folder, victim, 1)
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim}
    assert len(_checksum_repairs(state)) == 1 and "1 work unit(s)" in _checksum_repairs(state)[0]
    assert _unit_lines(folder, victim) == []


def test_every_row_deleted_with_the_count_set_to_zero_runs_again(folder):
    victim = _unit_of(_data_lines(folder)[0])
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    (folder / "results.csv").write_bytes(b"\n".join([line for line in lines if not line or line == lines[0]
                                                      or _unit_of(line) != victim] + ([b""] if lines[-1] else [])))
    _recount(folder, victim, 0)
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim} and _checksum_repairs(state)


@pytest.mark.parametrize("edit", [
    lambda line: line.replace(b",miou,", b",mIoU,"),  # a metric renamed
    lambda line: line.replace(b",0.5\r", b",0.75\r"),  # a score changed to another valid score
    lambda line: _set(line, 5, b"999"),  # bytes changed to another whole number
    lambda line: line.replace(b",0.5\r", b",0.50\r"),  # the same number written otherwise: not what the sweep wrote
], ids=["metric", "value", "bytes", "spelling"])
def test_a_row_edited_to_other_valid_values_runs_again(folder, edit):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    spot = next(i for i, line in enumerate(lines) if b",miou," in line)
    victim, lines[spot] = _unit_of(lines[spot]), edit(lines[spot])
    (folder / "results.csv").write_bytes(b"\n".join(lines))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim} and _checksum_repairs(state)
    assert _unit_lines(folder, victim) == []


@pytest.mark.parametrize("checksum", [b"", b"0" * 15, b"0" * 17, b"ABCDEF0123456789", b"xyz0123456789abc"])
def test_a_malformed_checksum_is_an_invalid_line(folder, checksum):
    lines = (folder / "units.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[1])
    lines[1] = lines[1].rsplit(b",", 1)[0] + b"," + checksum + b"\r"
    (folder / "units.csv").write_bytes(b"\n".join(lines))
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim} and any("units.csv: dropped 1 invalid" in r for r in state.repairs)


def test_units_csv_records_the_checksum_of_each_units_rows(folder):
    from sdcomp_lite.evaluation.results import WorkUnit, unit_checksum
    from sdcomp_lite.evaluation.store import _fields

    units = [_fields(line) for line in (folder / "units.csv").read_bytes().split(b"\n")[1:-1]]
    assert len(units) == len(ALL)
    for image, codec, variant, quality, rows, checksum in units:
        mine = [_fields(line) for line in _unit_lines(folder, (image, codec, variant, int(quality)))]
        assert int(rows) == len(mine) and checksum == unit_checksum(mine) == unit_checksum(mine[::-1])
        unit = WorkUnit(image, codec, variant, int(quality))
        assert checksum == unit_checksum([[row[c] for c in sweep.COLUMNS] for row in _rows(unit)])  # as written


def _as_format_2(folder) -> None:
    """Turn a finished folder into one a release before checksums wrote: units.csv without the column, format 2."""
    lines = (folder / "units.csv").read_bytes().split(b"\n")
    (folder / "units.csv").write_bytes(b"\n".join([line.rsplit(b",", 1)[0] + b"\r" if line else line for line in lines]))
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**run, "format_version": 2}, indent=1) + "\n")


def test_a_folder_of_format_2_resumes_by_count_with_a_warning_and_gains_checksums(folder):
    results = (folder / "results.csv").read_bytes()
    _as_format_2(folder)
    assert (folder / "units.csv").read_bytes().startswith(b"image,codec,variant,quality,rows\r\n")
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL
    assert any("verified by their row counts only" in r and "new folder" in r for r in state.repairs)
    assert (folder / "results.csv").read_bytes() == results
    assert (folder / "units.csv").read_bytes().startswith(b"image,codec,variant,quality,rows,checksum\r\n")
    _write_run_file(folder, CONFIG, state)
    assert json.loads((folder / "run.json").read_text())["format_version"] == sweep.FORMAT_VERSION == 3
    assert _prepare_folder(folder, CONFIG).repairs == []  # upgraded: checked by checksum from now on


def test_a_folder_of_format_2_still_drops_what_its_counts_catch(folder):
    lines = (folder / "results.csv").read_bytes().split(b"\n")
    victim = _unit_of(lines[3])
    (folder / "results.csv").write_bytes(b"\n".join(lines[:3] + lines[4:]))
    _as_format_2(folder)
    state = _prepare_folder(folder, CONFIG)
    assert state.done == ALL - {victim}


def test_format_3_with_a_units_csv_of_format_2_is_refused(folder):
    _as_format_2(folder)
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**run, "format_version": 3}))
    before = _snapshot(folder)
    with pytest.raises(SweepStateError, match="does not start with the header.*choose a new output folder"):
        _prepare_folder(folder, CONFIG)
    assert _snapshot(folder) == before


@pytest.mark.parametrize("name", ["sweep_default", "sweep_heldout"])
def test_the_committed_sweeps_of_format_2_resume_whole_and_report_alike(tmp_path, name):
    """benchmarks/results' folders (format 2): every unit passes the count rule, results.csv is untouched, and
    load_results and sweep_progress read them as before."""
    import shutil
    from pathlib import Path

    from sdcomp_lite.evaluation.report import load_results, sweep_progress

    source = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / name
    if not (source / "run.json").is_file():
        pytest.skip(f"{source} is not in this checkout")
    folder = tmp_path / name
    folder.mkdir()
    for file in ("results.csv", "units.csv", "run.json"):
        shutil.copy(source / file, folder / file)
    config = SweepConfig.from_dict(json.loads((folder / "run.json").read_text())["config"])
    rows, progress = load_results(folder / "results.csv"), sweep_progress(folder)
    state = _prepare_folder(folder, config)
    assert len(state.done) == len(work_units(config)) == progress[0] == progress[1]
    assert (folder / "results.csv").read_bytes() == (source / "results.csv").read_bytes()
    assert any("verified by their row counts only" in r for r in state.repairs)
    assert load_results(folder / "results.csv") == rows and sweep_progress(folder) == progress
