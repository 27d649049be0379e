"""Reproducible rate sweeps: every codec x quality (x layer prefix) x task, run through Dask.

A sweep writes into one folder:
  run.json      the exact configuration, package versions, what was skipped and why
  results.csv   one tidy row per (image, codec, variant, quality, layers, task, metric)
  units.csv     one line per finished work unit: its key and how many rows it wrote
  .lock         held (fcntl.flock) by the sweep that runs: a second sweep on the folder stops at once
It resumes: work units already done are not run again, so an interrupted sweep continues where
it stopped. Tables and plots come from :mod:`sdcomp_lite.evaluation.report`.

The configuration is checked against its schema before any work (:meth:`SweepConfig.schema_error`:
known keys, types, ranges, registered names, no repeated entries, so no two work units share a
key), and the folder's files are read only when they are regular files of bounded size
(:data:`MAX_BYTES`): a FIFO or /dev/zero in their place is refused at once.

When a unit counts as done (the resume rule): a unit's rows are appended to results.csv and
flushed, and only then its line ``image,codec,variant,quality,rows`` is appended to units.csv.
On resume a unit is done only when units.csv lists it and results.csv holds exactly that many
valid rows for it, none of them twice (the same layers, task, reference and metric). A line is
trusted only when it ends in a newline (an interrupted write leaves a torn last line without
one), decodes as UTF-8 without NUL bytes and parses: the right number of columns, a key of this
sweep's work units, whole numbers for quality, layers and bytes, a finite bpp, a known task and
reference, and a value that is a number (NaN for an undefined score). Every other line is
dropped, and with it every row of a unit that is not done; those units run again (the repair is
reported as a warning). The counts make the rule independent of the order in which the two
files reach the disk. A damaged run.json is refused, never guessed at:
:class:`~sdcomp_lite.errors.SweepStateError`, with what to do. A sweep returns only when every
planned unit is done by this rule. Whole-file rewrites (the repair, the final sort, run.json) go
to a temporary file in the same folder and then ``os.replace``, so a failed write (a full disk,
Ctrl-C) leaves the previous file intact.

Taught in notebooks/05_task_evaluation.ipynb (section 2).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import platform
import stat
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sdcomp_lite.errors import BackendUnavailableError, DataFileError, InvalidParameterError, SweepStateError

FORMAT_VERSION = 2  # 2: units.csv records the finished units
COLUMNS = ("image", "codec", "variant", "quality", "layers", "bytes", "bpp", "task", "reference", "metric", "value")
UNIT_COLUMNS = ("image", "codec", "variant", "quality", "rows")
REFERENCES = ("pseudo", "annotations")
SCALES = (1, 2, 4, 8)  # background and mask scales: sdcomp_lite.coding.container.SCALES
MAX_LIST = 1000  # entries of one list in a configuration
MAX_WORKERS = 256
DASK_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
# The largest file a sweep folder may hold, in bytes: a configuration, run.json, units.csv and
# results.csv (the default sweep writes 1.9 kB, 13 kB and 410 kB); anything larger is refused, not read.
MAX_BYTES = {"config": 1 << 20, "run.json": 16 << 20, "units.csv": 64 << 20, "results.csv": 256 << 20}
LOCK_FILE = ".lock"


class SweepConfigError(InvalidParameterError, DataFileError):
    """A sweep configuration (a JSON file, run.json's ``config`` or ``SweepConfig(...)``) breaks its
    schema: an unknown key, a wrong type, a value out of range or not allowed, a repeated entry."""


class SweepBusyError(SweepStateError):
    """Another sweep holds the folder's lock (two sweeps writing one folder would lose results)."""


@dataclass(frozen=True)
class SweepConfig:
    """What to run. Every field has a default that runs offline in a few minutes on 2 cores;
    ``benchmarks/sweep_default.json`` adds a grid of background qualities and scales.

    ``reference``: ``"pseudo"`` scores every task against its own prediction on the original
    image; ``"annotations"`` scores instance segmentation against data/ annotations instead.
    ``objects``: where the codec's layers (and roi-hevc's boxes) come from, ``"annotations"`` or a
    grounder name.
    ``rankers``: each orders the objects for each task with that task's ranking prompt ("find
    every person"); ``ranking_task``, when set, is one prompt for every task instead.
    ``sdcomp_qualities`` x ``background_qualities`` x ``background_scales``: sdcomp-lite's grid.
    The background layer is coded at a background quality (only those <= the objects' quality; an
    empty tuple codes it at the objects' quality) and at 1 / scale of the resolution. ``mask_scale``
    and ``preview`` go to :func:`~sdcomp_lite.coding.encode` unchanged.
    ``codecs``: the anchors (see ``REFERENCE_CODECS.available()``), each over its own qualities.
    ``scheduler``: a Dask scheduler address; None starts a local cluster of ``workers`` processes.
    """

    images: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")
    tasks: tuple[str, ...] = ("instance-segmentation", "person-segmentation", "face-detection")
    reference: str = "pseudo"
    objects: str = "annotations"
    rankers: tuple[str, ...] = ("offline", "area")
    ranking_task: str | None = None
    sdcomp_qualities: tuple[int, ...] = (10, 30, 50)
    background_qualities: tuple[int, ...] = ()
    background_scales: tuple[int, ...] = (1,)
    mask_scale: int = 8
    preview: bool = True
    codecs: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "roi-hevc")
    scheduler: str | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        """Check every field against the schema (see :meth:`schema_errors`); lists become tuples."""
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        problem = self.schema_error()
        if problem:
            raise SweepConfigError(f"sweep configuration: {problem}")

    def schema_error(self) -> str:
        """The first field that breaks the schema, said in words ("" when all is well): names from
        the registries (tasks, rankers, codecs, a grounder or "annotations" for ``objects``), whole
        qualities 1-100, scales in (1, 2, 4, 8), each list without repeats and at most 1000 long,
        JSON booleans, ``workers`` from 1 to 256, a Dask address such as tcp://host:8786."""
        from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS
        from sdcomp_lite.evaluation.tasks import TASKS
        from sdcomp_lite.grounding.registry import GROUNDERS
        from sdcomp_lite.ranking.registry import RANKERS

        allowed = {"tasks": TASKS, "rankers": RANKERS, "codecs": REFERENCE_CODECS}
        checks = [_names(self.images, "images", minimum=1)]
        checks += [_names(getattr(self, key), key, registry, minimum=int(key == "tasks")) for key, registry in allowed.items()]
        checks += [_whole_list(self.sdcomp_qualities, "sdcomp_qualities", range(1, 101)),
                   _whole_list(self.background_qualities, "background_qualities", range(1, 101)),
                   _whole_list(self.background_scales, "background_scales", SCALES, minimum=1),
                   _one_of(self.reference, "reference", REFERENCES),
                   _one_of(self.objects, "objects", tuple(dict.fromkeys(("annotations", *GROUNDERS.names()))), GROUNDERS),
                   _one_of(self.mask_scale, "mask_scale", SCALES),
                   _text(self.ranking_task, "'ranking_task'", 2000, optional=True),
                   _scheduler(self.scheduler)]
        if not isinstance(self.preview, bool):
            checks.append(f"'preview' must be true or false (a JSON boolean, not a string or a number), got "
                          f"{_shown(self.preview)}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or not 1 <= self.workers <= MAX_WORKERS:
            checks.append(f"'workers' must be a whole number from 1 to {MAX_WORKERS}, got {_shown(self.workers)}")
        return next((problem for problem in checks if problem), "")

    def ranking_prompt(self, task: str) -> str:
        """What the rankers are told for ``task``: its registered prompt, or ``ranking_task`` if set."""
        from sdcomp_lite.evaluation.tasks import task_class

        return self.ranking_task or task_class(task).prompt

    @classmethod
    def from_json(cls, path: str | Path) -> SweepConfig:
        """Read a UTF-8 JSON object whose keys are field names (all optional), checked against the
        schema; a regular file of at most 1 MiB. Raises :class:`SweepConfigError` naming the key."""
        path = Path(path)
        data = read_regular_file(path, MAX_BYTES["config"], "sweep configuration", SweepConfigError)
        if data is None:
            raise SweepConfigError(f"sweep configuration not found: {path}")
        try:
            raw = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise SweepConfigError(f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8 JSON.") from None
        except RecursionError:
            raise SweepConfigError(f"{path} nests JSON too deeply; a sweep configuration is one flat object.") from None
        except ValueError as error:  # JSONDecodeError, or an integer of over 4300 digits
            raise SweepConfigError(f"{path} is not valid JSON: {_one_line(error)}") from None
        try:
            return cls.from_dict(raw)
        except SweepConfigError as error:
            raise SweepConfigError(f"{path}: {error}") from None

    @classmethod
    def from_dict(cls, raw: dict) -> SweepConfig:
        """From a JSON object of field names (a configuration file, run.json's ``config``), checked
        against the schema: :class:`SweepConfigError` for an unknown key or a bad value."""
        known = [f.name for f in fields(cls)]
        if not isinstance(raw, dict):
            raise SweepConfigError(f"sweep configuration: a JSON object of {{key: value}}, not a "
                                   f"{_json_type(raw)}; its keys: {', '.join(known)}.")
        unknown = sorted(str(k)[:40] for k in raw if k not in known)
        if unknown:
            raise SweepConfigError(f"sweep configuration: unknown keys {unknown[:5]}; known keys: {', '.join(known)}.")
        return cls(**raw)


_LIST_FIELDS = ("images", "tasks", "rankers", "sdcomp_qualities", "background_qualities", "background_scales", "codecs")


def _json_type(value) -> str:
    kinds = {dict: "object", list: "list", tuple: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _shown(value) -> str:
    """A short description of a configuration value (never a huge repr)."""
    if isinstance(value, (list, tuple, dict)):
        return f"a JSON {_json_type(value)} of {len(value)}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:37] + "...")
    return f"{value!r} (a JSON {_json_type(value)})"


def _list(value, key: str, minimum: int) -> str:
    if not isinstance(value, tuple):
        return f"'{key}' must be a list, got {_shown(value)}"
    if not minimum <= len(value) <= MAX_LIST:
        return f"'{key}' must hold from {minimum} to {MAX_LIST} entries, got {len(value)}"
    seen: set = set()
    for item in value:
        if isinstance(item, (str, int)) and item in seen:
            return f"'{key}' holds {item!r} twice; give each entry once"
        seen.add(item) if isinstance(item, (str, int)) else None
    return ""


def _text(value, label: str, limit: int, optional: bool = False) -> str:
    if optional and value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        return f"{label} must be a non-empty string{' or null' if optional else ''}, got {_shown(value)}"
    if len(value) > limit or not value.isprintable():
        return f"{label} must be printable text of at most {limit} characters, got {_shown(value)}"
    return ""


def _names(value, key: str, registry=None, minimum: int = 0) -> str:
    problem = _list(value, key, minimum)
    for item in () if problem else value:
        problem = _text(item, f"each entry of '{key}'", 200)
        if not problem and registry is not None and item not in registry:
            problem = f"'{key}' holds the unknown name {item!r}; choose from {', '.join(registry.names())}"
        if problem:
            return problem
    return problem


def _whole_list(value, key: str, allowed, minimum: int = 0) -> str:
    problem = _list(value, key, minimum)
    for item in () if problem else value:
        if isinstance(item, bool) or not isinstance(item, int) or item not in allowed:
            return f"'{key}' must hold whole numbers {_range_words(allowed)}, got {_shown(item)}"
    return problem


def _range_words(allowed) -> str:
    return f"from {allowed.start} to {allowed.stop - 1}" if isinstance(allowed, range) else f"in {tuple(allowed)}"


def _one_of(value, key: str, allowed: tuple, registry=None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (
            value not in allowed and (registry is None or value not in registry)):
        return f"'{key}' must be one of {', '.join(map(str, allowed))}; got {_shown(value)}"
    return ""


def _scheduler(address) -> str:
    """A Dask scheduler address: ``protocol://host:port`` (inproc:// addresses have no port) or ``host:port``."""
    if address is None:
        return ""
    wrong = "'scheduler' must be a Dask scheduler address such as tcp://127.0.0.1:8786 (or null for a local cluster)"
    if _text(address, "'scheduler'", 300) or " " in address:
        return f"{wrong}, got {_shown(address)}"
    protocol, separator, rest = address.rpartition("://")
    if separator and protocol not in DASK_PROTOCOLS:
        return f"{wrong}; the protocol must be one of {', '.join(DASK_PROTOCOLS)}, got {protocol[:20]!r}"
    if protocol == "inproc":
        return "" if rest else f"{wrong}, got {_shown(address)}"
    host, colon, port = rest.rpartition(":")
    if not (colon and host.strip("[]") and port.isascii() and port.isdigit() and 0 < int(port[:6]) < 65536):
        return f"{wrong}: a host, a colon and a port from 1 to 65535; got {_shown(address)}"
    return ""


@dataclass(frozen=True)
class WorkUnit:
    """One image coded by one codec (and ranking) at one quality; all its prefixes and tasks."""

    image: str
    codec: str
    variant: str
    quality: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.image, self.codec, self.variant, self.quality)


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
    names = ("sdcomp-lite", "torch", "compressai", "numpy", "pillow", "imagecodecs", "mediapipe", "opencv-contrib-python",
             "transformers", "sentence-transformers", "pycocotools", "scipy", "dask", "distributed")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _prepare_folder(folder: Path, config: SweepConfig) -> SweepState:
    """Create the folder, or check that it holds a resumable sweep of the same configuration.

    Keeps the rows of finished units only (see the module docstring); when anything had to be
    dropped, results.csv and units.csv are rewritten without it. Raises :class:`SweepStateError`
    (and changes nothing) for another configuration, another format or a damaged run.json.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweepStateError(f"cannot create the output folder {folder}: {error}. Choose another folder.") from error
    state = SweepState()
    previous = _read_run_file(folder / "run.json", config)
    done, repairs, rewrite, has_data = _read_finished_units(folder, config)
    if previous is None and has_data:
        raise SweepStateError(
            f"{folder} holds results but no run.json, so the configuration that made them is unknown; nothing was "
            "changed. Choose a new output folder, or delete this folder to start again here."
        )
    if previous is not None:
        state.skipped = dict(previous.get("skipped", {}))
    if rewrite:  # a new folder, or something had to be dropped
        _write_tables(folder, done)
    state.repairs = repairs
    state.done = set(done)
    return state


def _read_run_file(path: Path, config: SweepConfig) -> dict | None:
    """run.json's content, checked against this release and ``config``; None if there is none."""
    data = _read_bytes(path)
    if data is None:
        return None
    damaged = (f"{path} is damaged ({{}}); nothing was changed. Choose a new output folder, or delete this folder "
               "to start again here.")
    try:
        run = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SweepStateError(damaged.format(f"not UTF-8 JSON: {_one_line(error)}")) from None
    if not isinstance(run, dict):
        raise SweepStateError(damaged.format(f"a JSON {type(run).__name__}, not an object"))
    version = run.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise SweepStateError(
            f"{path.parent} holds a sweep of format {_one_line(version)}; this release writes format {FORMAT_VERSION}. "
            "Nothing was changed: choose a new output folder (the old results stay readable with the release that "
            "wrote them)."
        )
    skipped = run.get("skipped", {})
    if not isinstance(run.get("config"), dict):
        raise SweepStateError(damaged.format("'config' is not an object"))
    if not isinstance(skipped, dict) or not all(isinstance(v, str) for v in skipped.values()):
        raise SweepStateError(damaged.format("'skipped' is not an object of strings"))
    if run["config"] != json.loads(json.dumps(asdict(config))):
        raise SweepStateError(
            f"{path.parent} holds a sweep with a different configuration; nothing was changed. Use a new output "
            "folder, or the same configuration to resume."
        )
    return run


def _read_finished_units(folder: Path, config: SweepConfig) -> tuple[dict, list[str], bool, bool]:
    """The rows of every finished unit (by unit key); the repairs made (one sentence each);
    whether results.csv and units.csv must be rewritten; whether they hold any line at all."""
    units, tasks = {u.key for u in work_units(config)}, frozenset(config.tasks)
    results = _read_table(folder / "results.csv", COLUMNS)
    finished = _read_table(folder / "units.csv", UNIT_COLUMNS)
    expected: dict = {}
    rows: dict = {}
    dropped = {"results.csv": 0, "units.csv": 0}
    for entry in (_unit_entry(row, units) for row in (finished[0] if finished else ())):
        if entry is None:
            dropped["units.csv"] += 1
        else:  # the same unit twice with different counts: not trusted
            expected[entry[0]] = entry[1] if expected.get(entry[0], entry[1]) == entry[1] else -1
    for row in results[0] if results else ():
        key = _result_key(row, units, tasks)
        if key is None:
            dropped["results.csv"] += 1
        else:
            rows.setdefault(key, []).append(row)
    repairs = [f"{name}: dropped {n} invalid line(s)" for name, n in dropped.items() if n]
    repairs += [f"{name}: dropped a torn last line (an interrupted write)"
                for name, table in (("results.csv", results), ("units.csv", finished)) if table and table[1]]
    done = {key: rows.get(key, []) for key, count in expected.items() if _complete(rows.get(key, []), count)}
    again = sorted((set(rows) | set(expected)) - set(done))
    if again:
        more = " ..." if len(again) > 3 else ""
        repairs.append(f"{len(again)} unfinished or damaged work unit(s) will run again: {again[:3]}{more}")
    has_data = bool(rows or expected or repairs)
    return done, repairs, bool(repairs or results is None or finished is None), has_data


def _complete(rows: list[list[str]], count: int) -> bool:
    """Whether a unit's rows are all there: as many as units.csv says, and no row twice (a unit
    writes one row per layers, task, reference and metric; a repeated line is not a missing one)."""
    return len(rows) == count and len({(r[4], r[7], r[8], r[9]) for r in rows}) == count


def _read_table(path: Path, columns: tuple[str, ...]) -> tuple[list[list[str] | None], bool] | None:
    """The data lines of a CSV file as lists of fields (None for a line that cannot be trusted)
    and whether a torn last line was dropped; None if the file does not exist, is empty or holds
    only part of the header (the caller writes it afresh)."""
    data = _read_bytes(path)
    if not data:
        return None
    *complete, torn = data.split(b"\n")  # a line is trusted only when it ends in a newline
    header = ",".join(columns).encode()
    if not complete and header.startswith(torn.rstrip(b"\r")):
        return None
    if not complete or _fields(complete[0]) != list(columns):
        raise SweepStateError(
            f"{path} does not start with the header {header.decode()!r}; nothing was changed. It was not written by "
            "this release: choose a new output folder."
        )
    return [_fields(line) for line in complete[1:]], bool(torn)


def _fields(line: bytes) -> list[str] | None:
    """One CSV line's fields; None unless it is UTF-8 without NUL bytes and parses as one record."""
    try:
        text = line.decode("utf-8")
        if "\x00" in text:
            return None
        return next(csv.reader([text.removesuffix("\r")], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None


def _result_key(row: list[str] | None, units: set, tasks: frozenset) -> tuple | None:
    """The work unit of a valid results.csv row of this sweep; None for anything else."""
    if row is None or len(row) != len(COLUMNS):
        return None
    image, codec, variant, quality, layers, size, bpp, task, reference, metric, value = row
    key = (image, codec, variant, _whole(quality, signed=True))
    if key not in units or task not in tasks or reference not in REFERENCES or not metric:
        return None
    count, rate, score = _whole(layers), _number(bpp), _number(value)
    if count is None or (count == 0) == (codec == "sdcomp-lite") or _whole(size) is None:
        return None
    if rate is None or not math.isfinite(rate) or rate < 0 or score is None or math.isinf(score):
        return None  # a score may be NaN (undefined), never infinite
    return key


def _unit_entry(row: list[str] | None, units: set) -> tuple[tuple, int] | None:
    """(unit key, number of rows) of a valid units.csv line of this sweep; None for anything else."""
    if row is None or len(row) != len(UNIT_COLUMNS):
        return None
    key, count = (row[0], row[1], row[2], _whole(row[3], signed=True)), _whole(row[4])
    return (key, count) if key in units and count is not None else None


def _whole(text: str, signed: bool = False) -> int | None:
    digits = text[1:] if signed and text.startswith("-") else text
    return int(text) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _cell(value) -> str:
    """A value as results.csv writes it: floats in full (repr), whole numbers without a point."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


def _csv_text(rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def _write_tables(folder: Path, done: dict) -> None:
    """Rewrite results.csv (in a fixed row order, so equal sweeps give identical files) and
    units.csv from the finished units ``done`` (unit key -> its rows as lists of fields)."""
    from sdcomp_lite.evaluation.report import row_order

    rows = sorted((row for unit in done.values() for row in unit), key=lambda r: row_order(dict(zip(COLUMNS, r))))
    _replace(folder / "results.csv", _csv_text([COLUMNS, *rows]))
    _replace(folder / "units.csv", _csv_text([UNIT_COLUMNS, *[(*key, len(done[key])) for key in sorted(done)]]))


def _sort_results(folder: Path, config: SweepConfig) -> None:
    """Rewrite results.csv and units.csv in a fixed order, keeping the finished units only."""
    done, _, _, _ = _read_finished_units(folder, config)
    _write_tables(folder, done)


def _write_run_file(folder: Path, config: SweepConfig, state: SweepState) -> None:
    run = {"format_version": FORMAT_VERSION, "config": asdict(config), "versions": package_versions(),
           "python": platform.python_version(), "machine": platform.machine(), "skipped": state.skipped}
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
            f"cannot write {path}: {_one_line(error)}. The previous file is unchanged; free some space (or fix the "
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
        raise error_class(f"cannot read the {what} {path}: {_one_line(error)}. Check it, or choose a new output "
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
        raise error_class(f"cannot read the {what} {path}: {_one_line(error)}. Check it, or choose a new output "
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
        raise SweepStateError(f"cannot create the output folder {folder} or its lock file: {_one_line(error)}. Choose "
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


def _one_line(value, limit: int = 120) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _append_unit(results, finished, key: tuple, rows: list[dict]) -> None:
    """Append one unit's rows to results.csv, then (only then) its line to units.csv."""
    try:
        results.write(_csv_text([[row[c] for c in COLUMNS] for row in rows]))
        results.flush()
        finished.write(_csv_text([(*key, len(rows))]))
        finished.flush()
    except OSError as error:
        raise SweepStateError(
            f"cannot write the results: {_one_line(error)}. The finished units are kept; free some space and run the "
            "same command again to resume."
        ) from error


def _check_in_place(*files: tuple[Path, object]) -> None:
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


def _open_for_appending(path: Path):
    """``path`` opened for appending text; a regular file only (never blocks on a FIFO)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as error:
        raise SweepStateError(f"cannot open {path}: {_one_line(error)}. Check the folder's permissions.") from error
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise SweepStateError(f"{path} is not a regular file (a FIFO or a device?); choose a new output folder.")
    return os.fdopen(descriptor, "a", newline="", encoding="utf-8")


def variant_name(name: str, **settings: object) -> str:
    """A results.csv variant: a curve family's name, then ``key=value`` settings (``offline bq=10 bs=4``)."""
    return " ".join([name, *(f"{key}={value}" for key, value in settings.items())]).strip()


def parse_variant(variant: str) -> tuple[str, dict[str, str]]:
    """The family name and the settings of a variant written by :func:`variant_name`."""
    words = variant.split()
    settings = dict(word.split("=", 1) for word in words if "=" in word)
    return " ".join(word for word in words if "=" not in word), settings


def sdcomp_variants(config: SweepConfig, quality: int) -> list[str]:
    """sdcomp-lite's variants at ``quality``: ranker, background quality (``bq``) and scale (``bs``)."""
    backgrounds = [b for b in config.background_qualities if b <= quality] if config.background_qualities else [None]
    return [variant_name(ranker, **({} if b is None else {"bq": b}), bs=scale)
            for ranker in config.rankers for b in backgrounds for scale in config.background_scales]


def work_units(config: SweepConfig) -> list[WorkUnit]:
    """Every (image, codec, variant, quality) of the sweep, in a fixed order."""
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    units = []
    for image in config.images:
        units += [WorkUnit(image, "sdcomp-lite", variant, q)
                  for q in config.sdcomp_qualities for variant in sdcomp_variants(config, q)]
        for name in config.codecs:
            codec = get_reference_codec(name, check=False)  # planning needs no ffmpeg; run_sweep checks
            units += [WorkUnit(image, name, variant, q) for variant in codec.variants for q in codec.qualities]
    return units


def ranking_jobs(config: SweepConfig) -> list[tuple[str, str, str]]:
    """Every (image, ranker, prompt) a sweep ranks once: one prompt per task, shared where equal."""
    prompts = dict.fromkeys(config.ranking_prompt(task) for task in config.tasks)
    return [(image, ranker, prompt) for image in config.images for ranker in config.rankers for prompt in prompts]


def unit_rankings(unit: WorkUnit, config: SweepConfig, rankings: dict) -> dict:
    """The rankings (or their futures) an sdcomp-lite unit codes with, by task; {} for an anchor."""
    if unit.codec != "sdcomp-lite":
        return {}
    ranker, _ = parse_variant(unit.variant)
    return {task: rankings[(unit.image, ranker, config.ranking_prompt(task))] for task in config.tasks}


def run_sweep(config: SweepConfig, folder: str | Path, progress: bool = True) -> Path:
    """Run (or resume) the sweep into ``folder``; returns the path of results.csv.

    The folder is locked for the whole run (:func:`folder_lock`): a second sweep on it raises
    :class:`SweepBusyError`. An interruption (Ctrl-C, a crash, a full disk) loses at most the units
    still running: run the same call again to resume. ``KeyboardInterrupt`` propagates after the
    Dask client is closed. The sweep returns only when every planned unit's rows are in results.csv
    (else :class:`~sdcomp_lite.errors.SweepStateError`, saying to run it again).
    """
    folder = Path(folder)
    _read_run_file(folder / "run.json", config)  # another configuration or format: refused first, nothing touched
    planned = work_units(config)
    if len({unit.key for unit in planned}) != len(planned):
        raise SweepConfigError("sweep configuration: two work units have the same image, codec, variant and quality; "
                               "give each list entry once.")
    _check_codecs(config)
    with folder_lock(folder):
        state = _prepare_folder(folder, config)
        if state.repairs:
            warnings.warn(f"{folder}: repaired before resuming: " + "; ".join(state.repairs), stacklevel=2)
        _write_run_file(folder, config, state)
        units = [u for u in planned if u.key not in state.done]
        if units:
            _run_units(config, folder, units, state, progress)
        missing = len(planned) - len(_read_finished_units(folder, config)[0])
        if missing:
            raise SweepStateError(f"{folder}: {missing} of {len(planned)} work units have no complete rows in "
                                  "results.csv. Run the same command again to run them.")
    return folder / "results.csv"


def _check_codecs(config: SweepConfig) -> None:
    """Fail before any work if a codec is missing (e.g. ffmpeg for hevc)."""
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    for name in config.codecs:
        codec = get_reference_codec(name)
        codec.round_trip(np.zeros((16, 16, 3), np.uint8), codec.qualities[0])


def _connect(config: SweepConfig):
    """(Dask client, local cluster or None): the scheduler at ``config.scheduler``, else a local cluster."""
    from dask.distributed import Client, LocalCluster

    if config.scheduler is None:
        cluster = LocalCluster(
            n_workers=config.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.ERROR,  # a loaded machine makes the nanny log restarts that are not errors
        )
        return Client(cluster), cluster
    try:
        return Client(config.scheduler), None
    except (OSError, TimeoutError, ValueError) as error:
        raise BackendUnavailableError(f"cannot reach the Dask scheduler at {config.scheduler!r}: {_one_line(error)}. "
                                      "Start it, or leave out the scheduler to use a local cluster.") from None


def _run_units(config: SweepConfig, folder: Path, units: list[WorkUnit], state: SweepState, progress: bool) -> None:
    """Run ``units`` on Dask, appending each unit's rows as it finishes; then sort the tables."""
    from dask.distributed import as_completed
    from distributed import KilledWorker

    from sdcomp_lite.evaluation import worker

    client, cluster = _connect(config)
    try:
        references = {image: client.submit(worker.references, image, config, pure=False) for image in config.images}
        rankings = {job: client.submit(worker.rank_objects, *job, config, pure=False) for job in ranking_jobs(config)}
        futures = {
            client.submit(worker.run_unit, unit, config, references[unit.image],
                          unit_rankings(unit, config, rankings), pure=False): unit
            for unit in units
        }
        with _open_for_appending(folder / "results.csv") as results, _open_for_appending(folder / "units.csv") as finished:
            for future in tqdm(as_completed(futures), total=len(futures), desc="sweep", disable=not progress):
                _check_in_place((folder / "results.csv", results), (folder / "units.csv", finished))
                try:
                    rows = future.result()
                except KilledWorker:
                    raise SweepStateError(
                        f"the Dask workers died running {futures[future].key} (out of memory?); the finished units are "
                        "kept. Run the same command again, with fewer workers if it happens again.") from None
                _append_unit(results, finished, futures[future].key, rows)
        _sort_results(folder, config)
        for image, future in references.items():
            _, skipped = future.result()
            state.skipped.update({f"{image}/{task}": why for task, why in skipped.items()})
        _write_run_file(folder, config, state)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
