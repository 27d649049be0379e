"""A sweep's folder: reading and writing run.json, results.csv and units.csv, safely.

A sweep writes into one folder:
  run.json      the exact configuration, package versions, what was skipped and why
  results.csv   one tidy row per (image, codec, variant, quality, layers, task, metric)
  units.csv     one line per finished work unit: its key, how many rows it wrote and their checksum
  .lock         held (fcntl.flock) by the sweep that runs: a second sweep on the folder stops at once
The folder's files are read only when they are regular files of bounded size (:data:`MAX_BYTES`):
a FIFO or /dev/zero in their place is refused at once. This module knows the files, not the
configuration: the sweep (:mod:`~sdcomp_lite.evaluation.sweep`) hands it a :class:`FolderPlan`.

When a unit counts as done (the resume rule): a unit's rows are appended to results.csv and
flushed, and only then its line ``image,codec,variant,quality,rows,checksum`` is appended to
units.csv, the checksum being :func:`~sdcomp_lite.evaluation.results.unit_checksum` of its rows.
On resume a unit is done only when units.csv lists it and results.csv holds exactly that many
valid rows for it, none of them twice (the same layers, task, reference and metric), whose
checksum is the one recorded. So an edit of both files that agrees (rows deleted and the count
lowered to match, a metric renamed, a number changed to another valid number) is caught, and the
unit runs again; the repair says how many units failed their checksum. A line is trusted only
when it ends in a newline (an interrupted write leaves a torn last line without one), decodes as
UTF-8 without NUL bytes and parses: the right number of columns, a key of this sweep's work units,
whole numbers for quality, layers and bytes, a finite bpp, a known task and reference, a value
that is a number (NaN for an undefined score), a checksum of 16 hex digits. Every other line is
dropped, and with it every row of a unit that is not done; those units run again (the repair is
reported as a warning). The counts and checksums make the rule independent of the order in which
the two files reach the disk. A damaged run.json is refused, never guessed at:
:class:`~sdcomp_lite.errors.SweepStateError`, with what to do. Whole-file rewrites (the repair,
the final sort, run.json) go to a temporary file in the same folder and then ``os.replace``, so a
failed write (a full disk, Ctrl-C) leaves the previous file intact.

Folders of format 2 (units.csv without the checksum column, written before checksums existed):
a resume verifies their units by the count rule only, says so in its repair warning, and upgrades
the folder (units.csv gains the checksums of the rows it kept, run.json says format 3). Whether a
value of such a folder was edited cannot be known; to be sure, run the sweep into a new folder.
Reading results (:func:`load_results`, the report) works on both formats alike.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from sdcomp_lite.errors import DataFileError, SweepStateError
from sdcomp_lite.evaluation.results import (
    CHECKSUM_DIGITS,
    COLUMNS,
    OURS,
    PACKAGE,
    REFERENCES,
    csv_text,
    row_order,
    typed_row,
    unit_checksum,
)

FORMAT_VERSION = 3  # 2: units.csv records the finished units; 3: and a checksum of each unit's rows
READABLE_FORMATS = (2, 3)  # a sweep resumes (and upgrades) a folder of format 2
UNIT_COLUMNS = ("image", "codec", "variant", "quality", "rows", "checksum")
LEGACY_UNIT_COLUMNS = UNIT_COLUMNS[:-1]  # format 2: no checksum
# The largest file a sweep folder may hold, in bytes: a configuration, run.json, units.csv and
# results.csv (the default sweep writes 1.9 kB, 13 kB and 410 kB); anything larger is refused, not read.
MAX_BYTES = {"config": 1 << 20, "run.json": 16 << 20, "units.csv": 64 << 20, "results.csv": 256 << 20}
LOCK_FILE = ".lock"
_HEX = frozenset("0123456789abcdef")


class SweepBusyError(SweepStateError):
    """Another sweep holds the folder's lock (two sweeps writing one folder would lose results)."""


@dataclass(frozen=True)
class FolderPlan:
    """What the folder should hold, from the sweep's configuration: ``config`` as run.json records it
    (JSON values), the keys of the planned work units, and the task names. ``defaults``: each
    configuration key's default (JSON values), which a run.json written before the key existed lacks."""

    config: dict
    units: frozenset
    tasks: frozenset
    defaults: dict = field(default_factory=dict)


@dataclass
class SweepState:
    """What a sweep folder already holds.

    ``done``: keys of the finished work units; ``skipped``: ``"image/task"`` to why it was
    skipped; ``repairs``: what reading the folder dropped (one sentence each; empty when clean).
    """

    done: set = field(default_factory=set)
    skipped: dict = field(default_factory=dict)
    repairs: list = field(default_factory=list)


def package_versions() -> dict[str, str]:
    """The installed version of each package a sweep's numbers depend on (run.json's ``versions``)."""
    names = (PACKAGE, "torch", "compressai", "numpy", "pillow", "imagecodecs", "mediapipe", "opencv-contrib-python",
             "transformers", "sentence-transformers", "pycocotools", "scipy", "dask", "distributed")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def prepare_folder(folder: Path, plan: FolderPlan) -> SweepState:
    """Create the folder, or check that it holds a resumable sweep of the same configuration.

    Keeps the rows of finished units only (see the module docstring); when anything had to be
    dropped (or a folder of format 2 gains its checksums), results.csv and units.csv are rewritten.
    Raises :class:`SweepStateError` (and changes nothing) for another configuration, another format
    or a damaged run.json.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweepStateError(f"cannot create the output folder {folder}: {error}. Choose another folder.") from error
    state = SweepState()
    previous = read_run_file(folder / "run.json", plan)
    legacy = previous is not None and previous["format_version"] == 2
    done, repairs, rewrite, has_data = read_finished_units(folder, plan, legacy)
    if previous is None and has_data:
        raise SweepStateError(
            f"{folder} holds results but no run.json, so the configuration that made them is unknown; nothing was "
            "changed. Choose a new output folder, or delete this folder to start again here."
        )
    if previous is not None:
        state.skipped = dict(previous.get("skipped", {}))
    if rewrite:  # a new folder, something had to be dropped, or units.csv gains its checksums
        write_tables(folder, done)
    state.repairs = repairs
    state.done = set(done)
    return state


def read_run_file(path: Path, plan: FolderPlan) -> dict | None:
    """run.json's content, checked against this release (formats 2 and 3) and ``plan``; None if there is none."""
    data = _read_bytes(path)
    if data is None:
        return None
    damaged = (f"{path} is damaged ({{}}); nothing was changed. Choose a new output folder, or delete this folder "
               "to start again here.")
    try:
        run = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SweepStateError(damaged.format(f"not UTF-8 JSON: {one_line(error)}")) from None
    if not isinstance(run, dict):
        raise SweepStateError(damaged.format(f"a JSON {type(run).__name__}, not an object"))
    version = run.get("format_version")
    if isinstance(version, bool) or version not in READABLE_FORMATS:
        raise SweepStateError(
            f"{path.parent} holds a sweep of format {one_line(version)}; this release writes format {FORMAT_VERSION} "
            "(and resumes format 2). Nothing was changed: choose a new output folder (the old results stay readable "
            "with the release that wrote them)."
        )
    skipped = run.get("skipped", {})
    if not isinstance(run.get("config"), dict):
        raise SweepStateError(damaged.format("'config' is not an object"))
    if not isinstance(skipped, dict) or not all(isinstance(v, str) for v in skipped.values()):
        raise SweepStateError(damaged.format("'skipped' is not an object of strings"))
    if {**plan.defaults, **run["config"]} != plan.config:  # a key added since the folder was written: its default
        raise SweepStateError(
            f"{path.parent} holds a sweep with a different configuration; nothing was changed. Use a new output "
            "folder, or the same configuration to resume."
        )
    return run


def read_finished_units(folder: Path, plan: FolderPlan, legacy: bool = False) -> tuple[dict, list[str], bool, bool]:
    """The rows of every finished unit (by unit key); the repairs made (one sentence each);
    whether results.csv and units.csv must be rewritten; whether they hold any line at all.

    ``legacy``: run.json says format 2, so units.csv may lack the checksum column (then units are
    verified by their counts only, the repairs say so, and the rewrite adds the checksums)."""
    results = _read_table(folder / "results.csv", (COLUMNS,))
    finished = _read_table(folder / "units.csv", (UNIT_COLUMNS, LEGACY_UNIT_COLUMNS) if legacy else (UNIT_COLUMNS,))
    unchecked = finished is not None and finished[2] == LEGACY_UNIT_COLUMNS
    expected: dict = {}
    rows: dict = {}
    dropped = {"results.csv": 0, "units.csv": 0}
    for entry in (_unit_entry(row, plan.units, unchecked) for row in (finished[0] if finished else ())):
        if entry is None:
            dropped["units.csv"] += 1
        else:  # the same unit twice with different counts or checksums: not trusted
            expected[entry[0]] = entry[1] if expected.get(entry[0], entry[1]) == entry[1] else None
    for row in results[0] if results else ():
        key = _result_key(row, plan.units, plan.tasks)
        if key is None:
            dropped["results.csv"] += 1
        else:
            rows.setdefault(key, []).append(row)
    repairs = [f"{name}: dropped {n} invalid line(s)" for name, n in dropped.items() if n]
    repairs += [f"{name}: dropped a torn last line (an interrupted write)"
                for name, table in (("results.csv", results), ("units.csv", finished)) if table and table[1]]
    counted = {key: rows.get(key, []) for key, entry in expected.items() if _complete(rows.get(key, []), entry)}
    done = {key: unit for key, unit in counted.items() if unchecked or unit_checksum(unit) == expected[key][1]}
    if len(done) < len(counted):
        repairs.append(f"{len(counted) - len(done)} work unit(s) whose rows do not match the checksum units.csv "
                       "recorded (edited after the sweep wrote them?) will run again")
    again = sorted((set(rows) | set(expected)) - set(done))
    if again:
        more = " ..." if len(again) > 3 else ""
        repairs.append(f"{len(again)} unfinished or damaged work unit(s) will run again: {again[:3]}{more}")
    if unchecked and done:
        repairs.append(f"units.csv has no checksums (a folder of format 2): its {len(done)} finished work unit(s) were "
                       "verified by their row counts only, and units.csv now records their checksums; to be sure that "
                       "no value was edited, run the sweep into a new folder")
    has_data = bool(rows or expected or repairs)
    return done, repairs, bool(repairs or results is None or finished is None or unchecked), has_data


def _complete(rows: list[list[str]], entry: tuple[int, str | None] | None) -> bool:
    """Whether a unit's rows are all there: as many as units.csv says (``entry``: count and
    checksum), and no row twice (a unit writes one row per layers, task, reference and metric; a
    repeated line is not a missing one). The checksum is compared by the caller."""
    if entry is None:
        return False
    count = entry[0]
    return len(rows) == count and len({(r[4], r[7], r[8], r[9]) for r in rows}) == count


def _read_table(path: Path, headers: tuple[tuple[str, ...], ...]) -> tuple[list[list[str] | None], bool, tuple] | None:
    """The data lines of a CSV file as lists of fields (None for a line that cannot be trusted),
    whether a torn last line was dropped, and which of ``headers`` it starts with; None if the
    file does not exist, is empty or holds only part of the first header (the caller writes it afresh)."""
    data = _read_bytes(path)
    if not data:
        return None
    *complete, torn = data.split(b"\n")  # a line is trusted only when it ends in a newline
    header = ",".join(headers[0]).encode()
    if not complete and header.startswith(torn.rstrip(b"\r")):
        return None
    found = next((columns for columns in headers if complete and _fields(complete[0]) == list(columns)), None)
    if found is None:
        raise SweepStateError(
            f"{path} does not start with the header {header.decode()!r}; nothing was changed. It was not written by "
            "this release: choose a new output folder."
        )
    return [_fields(line) for line in complete[1:]], bool(torn), found


def _fields(line: bytes) -> list[str] | None:
    """One CSV line's fields; None unless it is UTF-8 without NUL bytes and parses as one record."""
    try:
        text = line.decode("utf-8")
        if "\x00" in text:
            return None
        return next(csv.reader([text.removesuffix("\r")], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None


def _result_key(row: list[str] | None, units: frozenset, tasks: frozenset) -> tuple | None:
    """The work unit of a valid results.csv row of this sweep; None for anything else."""
    if row is None or len(row) != len(COLUMNS):
        return None
    image, codec, variant, quality, layers, size, bpp, task, reference, metric, value = row
    key = (image, codec, variant, _whole(quality, signed=True))
    if key not in units or task not in tasks or reference not in REFERENCES or not metric:
        return None
    count, rate, score = _whole(layers), _number(bpp), _number(value)
    if count is None or (count == 0) == (codec == OURS) or _whole(size) is None:
        return None
    if rate is None or not math.isfinite(rate) or rate < 0 or score is None or math.isinf(score):
        return None  # a score may be NaN (undefined), never infinite
    return key


def _unit_entry(row: list[str] | None, units: frozenset, unchecked: bool = False) -> tuple[tuple, tuple] | None:
    """(unit key, (number of rows, checksum)) of a valid units.csv line of this sweep; None for anything
    else. ``unchecked``: a units.csv of format 2, without checksums (the checksum is None)."""
    if row is None or len(row) != len(LEGACY_UNIT_COLUMNS if unchecked else UNIT_COLUMNS):
        return None
    key, count = (row[0], row[1], row[2], _whole(row[3], signed=True)), _whole(row[4])
    checksum = None if unchecked else row[5]
    if checksum is not None and (len(checksum) != CHECKSUM_DIGITS or not set(checksum) <= _HEX):
        return None
    return (key, (count, checksum)) if key in units and count is not None else None


def _whole(text: str, signed: bool = False) -> int | None:
    digits = text[1:] if signed and text.startswith("-") else text
    return int(text) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def write_tables(folder: Path, done: dict) -> None:
    """Rewrite results.csv (in a fixed row order, so equal sweeps give identical files) and
    units.csv (with each unit's count and checksum) from the finished units ``done`` (unit key ->
    its rows as lists of fields)."""
    rows = sorted((row for unit in done.values() for row in unit), key=lambda r: row_order(dict(zip(COLUMNS, r))))
    _replace(folder / "results.csv", csv_text([COLUMNS, *rows]))
    lines = [(*key, len(done[key]), unit_checksum(done[key])) for key in sorted(done)]
    _replace(folder / "units.csv", csv_text([UNIT_COLUMNS, *lines]))


def sort_results(folder: Path, plan: FolderPlan) -> None:
    """Rewrite results.csv and units.csv in a fixed order, keeping the finished units only."""
    done, _, _, _ = read_finished_units(folder, plan)
    write_tables(folder, done)


def write_run_file(folder: Path, plan: FolderPlan, skipped: dict) -> None:
    """Write run.json (format :data:`FORMAT_VERSION`): the configuration, package versions, platform, skipped tasks."""
    run = {"format_version": FORMAT_VERSION, "config": plan.config, "versions": package_versions(),
           "python": platform.python_version(), "machine": platform.machine(), "skipped": skipped}
    _replace(folder / "run.json", json.dumps(run, indent=1) + "\n")


def _replace(path: Path, text: str) -> None:
    """Write a whole file: into a temporary file in the same folder, then ``os.replace``.

    A failure (a full disk, Ctrl-C) leaves the previous file as it was and no temporary file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        _discard(temporary)
        raise SweepStateError(
            f"cannot write {path}: {one_line(error)}. The previous file is unchanged; free some space (or fix the "
            "permissions) and run the same command again."
        ) from error
    except BaseException:
        _discard(temporary)
        raise


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def read_regular_file(path: Path, limit: int, what: str, error_class: type[DataFileError] = SweepStateError) -> bytes | None:
    """The bytes of a regular file of at most ``limit`` bytes; None if it does not exist.

    Anything else raises ``error_class``: a FIFO (opened without blocking, so it never waits for a
    writer), a device such as /dev/zero, a folder, a larger file, an unreadable one.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise error_class(f"cannot read the {what} {path}: {one_line(error)}. Check it, or choose a new output "
                          "folder.") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise error_class(f"the {what} {path} is not a regular file (a folder, a FIFO or a device); nothing was "
                              "read. Replace it with a file, or choose a new output folder.")
        if info.st_size > limit:
            raise error_class(f"the {what} {path} holds {info.st_size} bytes, more than a sweep writes (at most "
                              f"{limit}); nothing was read. Check the file, or choose a new output folder.")
        chunks, size = [], 0
        while size <= limit:  # the file may grow while it is read: never past the limit
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise error_class(f"cannot read the {what} {path}: {one_line(error)}. Check it, or choose a new output "
                          "folder.") from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise error_class(f"the {what} {path} grew past {limit} bytes while it was read; is another program writing it?")
    data = b"".join(chunks)
    return data


def _read_bytes(path: Path) -> bytes | None:
    return read_regular_file(path, MAX_BYTES.get(path.name, MAX_BYTES["results.csv"]), path.name)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a sweep folder (``fcntl.flock`` on its file ``.lock``, which
    stays) for as long as the block runs; another sweep on the folder raises :class:`SweepBusyError`.

    Creates the folder. The lock goes with the process: a killed sweep leaves no stale lock.
    """
    import fcntl  # POSIX; sweeps run on Linux and macOS

    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as error:
        raise SweepStateError(f"cannot create the output folder {folder} or its lock file: {one_line(error)}. Choose "
                              "another folder.") from error
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise SweepStateError(f"{folder / LOCK_FILE} is not a regular file; delete it and run again.")
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
            who = f" (process {holder})" if holder.isdigit() else ""
            raise SweepBusyError(f"{folder} is in use by another sweep{who}; two sweeps in one folder would lose "
                                 "results. Wait for it to finish (then run again to resume), or choose another "
                                 "output folder.") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def one_line(value, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def append_unit(results, finished, key: tuple, rows: list[dict]) -> None:
    """Append one unit's rows (dicts of :data:`~sdcomp_lite.evaluation.results.COLUMNS`) to results.csv, then
    (only then) its line to units.csv: its key, its number of rows and their checksum."""
    values = [[row[c] for c in COLUMNS] for row in rows]
    try:
        results.write(csv_text(values))
        results.flush()
        finished.write(csv_text([(*key, len(rows), unit_checksum(values))]))
        finished.flush()
    except OSError as error:
        raise SweepStateError(
            f"cannot write the results: {one_line(error)}. The finished units are kept; free some space and run the "
            "same command again to resume."
        ) from error


def check_in_place(*files: tuple[Path, object]) -> None:
    """Refuse to go on appending to a file that is no longer at its path (deleted or replaced by
    another program while the sweep ran): rows written to it would be lost without a word."""
    for path, handle in files:
        try:
            opened, current = os.fstat(handle.fileno()), os.stat(path)
            moved = (opened.st_dev, opened.st_ino) != (current.st_dev, current.st_ino)
        except OSError:
            moved = True
        if moved:
            raise SweepStateError(
                f"{path} was replaced or deleted while the sweep ran (by another program: git checkout or stash, "
                "a sync tool?); the units finished since then are not in it. Run the same command again to resume: "
                "the folder is checked and repaired first, and only missing units run."
            )


def open_for_appending(path: Path):
    """``path`` opened for appending text; a regular file only (never blocks on a FIFO)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as error:
        raise SweepStateError(f"cannot open {path}: {one_line(error)}. Check the folder's permissions.") from error
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise SweepStateError(f"{path} is not a regular file (a FIFO or a device?); choose a new output folder.")
    return os.fdopen(descriptor, "a", newline="", encoding="utf-8")


def load_results(path: str | Path) -> list[dict]:
    """The rows of a results.csv, with numbers as numbers (:data:`~sdcomp_lite.evaluation.results.COLUMN_TYPES`),
    in :func:`~sdcomp_lite.evaluation.results.row_order`.

    Raises :class:`~sdcomp_lite.errors.DataFileError` for a missing file, one that is not a regular
    file of at most 256 MiB (a FIFO, /dev/zero), not UTF-8, without the sweep's columns, or with a
    row whose numbers do not parse (naming the line).
    """
    path = Path(path)
    data = read_regular_file(path, MAX_BYTES["results.csv"], "results file", DataFileError)
    if data is None:
        raise DataFileError(f"no results at {path}; run the sweep first")
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataFileError(f"{path} is not a sweep's results file ({' '.join(str(error).split())[:100]}); run the "
                            "sweep again (it repairs its folder) or choose the right file.") from None
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise DataFileError(f"{path} lacks the columns {missing}; it was not written by a sweep of this release.")
    typed = []
    for line, row in enumerate(rows, 2):
        try:
            typed.append(typed_row(row))
        except (TypeError, ValueError):
            raise DataFileError(f"{path}, line {line}: a number does not parse; run the sweep again with the same "
                                "command (a resume drops damaged rows and runs their units again).") from None
    return sorted(typed, key=row_order)
