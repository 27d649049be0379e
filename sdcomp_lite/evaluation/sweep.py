"""Reproducible rate sweeps: every codec x quality (x layer prefix) x task, run through Dask.

A sweep plans its work units from a :class:`SweepConfig` (:func:`work_units`), runs them on Dask
workers (:mod:`~sdcomp_lite.evaluation.worker`) and appends each unit's rows to its folder as the
unit finishes. The folder (run.json, results.csv, units.csv and the lock) and the rule that decides
when a unit counts as done (its count and checksum in units.csv) live in
:mod:`~sdcomp_lite.evaluation.store`; the rows' schema in :mod:`~sdcomp_lite.evaluation.results`.
It resumes: work units already done are not run again, so an interrupted sweep continues where it
stopped, and a unit whose rows were damaged or edited runs again (the repair is reported as a
warning). A sweep returns only when every planned unit is done by that rule. Tables and plots come
from :mod:`sdcomp_lite.evaluation.report`.

The configuration is checked against its schema before any work (:meth:`SweepConfig.schema_error`:
known keys, types, ranges, registered names, no repeated entries, so no two work units share a
key).

Taught in notebooks/05_task_evaluation.ipynb (section 2).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sdcomp_lite.coding.container import (
    DEFAULT_MASK_SCALE,
    DEFAULT_PREVIEW_QUALITY,
    MASK_SCALES,
    OBJECT_QUALITY_RULES,
    PREVIEW_SCALE,
    PREVIEW_SCALES,
    SCALES,
)
from sdcomp_lite.coding.transforms import AVIF_SPEED
from sdcomp_lite.errors import BackendUnavailableError, DataFileError, InvalidParameterError, SweepStateError
from sdcomp_lite.evaluation.results import COLUMNS, OURS, REFERENCES, WorkUnit, parse_variant, variant_name
from sdcomp_lite.evaluation.store import (
    FORMAT_VERSION,
    LOCK_FILE,
    MAX_BYTES,
    UNIT_COLUMNS,
    FolderPlan,
    SweepBusyError,
    SweepState,
    append_unit,
    check_in_place,
    folder_lock,
    one_line,
    open_for_appending,
    prepare_folder,
    read_finished_units,
    read_regular_file,
    read_run_file,
    sort_results,
    write_run_file,
)

# Names a sweep's users and older code import from here; they live in results and store.
__all__ = ["COLUMNS", "FORMAT_VERSION", "LOCK_FILE", "MAX_BYTES", "REFERENCES", "UNIT_COLUMNS", "SweepBusyError",
           "SweepConfig", "SweepConfigError", "SweepState", "WorkUnit", "folder_lock", "parse_variant", "plan",
           "ranking_jobs", "read_regular_file", "run_sweep", "sdcomp_variants", "unit_rankings", "variant_name",
           "work_units"]

MAX_LIST = 1000  # entries of one list in a configuration
MAX_WORKERS = 256
DASK_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
# The largest file a sweep folder may hold, in bytes: a configuration, run.json, units.csv and


class SweepConfigError(InvalidParameterError, DataFileError):
    """A sweep configuration (a JSON file, run.json's ``config`` or ``SweepConfig(...)``) breaks its
    schema: an unknown key, a wrong type, a value out of range or not allowed, a repeated entry."""


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
    empty tuple codes it at the objects' quality) and at 1 / scale of the resolution. ``mask_scale``,
    ``preview``, ``preview_scale``, ``preview_quality``, ``max_layers`` (null: no cap),
    ``object_quality`` ("flat", "by-importance", "top-tier": the objects past the task's first tier at
    the background quality) and ``preview_skips_first_layer`` (the preview fills what the first object
    layer covers instead of coding it) go to
    :func:`~sdcomp_lite.coding.encode` unchanged; their defaults are encode's.
    ``avif_speed``: libaom's speed for sdcomp-lite's AVIF layers, 0 (slowest, smallest: what the
    AVIF anchors get, imagecodecs' default) to 10; the default is the library's (6, which encodes
    more than ten times faster than 0). A comparison at equal encoder effort sets it to 0.
    ``codecs``: the anchors (see ``REFERENCE_CODECS.available()``), each over its own qualities and
    variants, unless ``anchor_qualities`` / ``anchor_variants`` (JSON objects, by codec name) narrow
    them, e.g. ``{"avif": [2, 10, 40]}`` and ``{"prefilter-avif": ["sigma=4"]}``: a 128-photograph
    sweep cannot afford every anchor's full grid.
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
    mask_scale: int = DEFAULT_MASK_SCALE
    preview: bool = True
    preview_scale: int = PREVIEW_SCALE
    preview_quality: int = DEFAULT_PREVIEW_QUALITY
    max_layers: int | None = None
    object_quality: str = "flat"
    preview_skips_first_layer: bool = False
    avif_speed: int = AVIF_SPEED
    codecs: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "roi-hevc")
    anchor_qualities: dict[str, list[int]] = field(default_factory=dict, hash=False)
    anchor_variants: dict[str, list[str]] = field(default_factory=dict, hash=False)
    scheduler: str | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        """Check every field against the schema (see :meth:`schema_errors`); lists become tuples."""
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("anchor_qualities", "anchor_variants"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        problem = self.schema_error()
        if problem:
            raise SweepConfigError(f"sweep configuration: {problem}")

    def schema_error(self) -> str:
        """The first field that breaks the schema, said in words ("" when all is well): names from
        the registries (tasks, rankers, codecs, a grounder or "annotations" for ``objects``), whole
        qualities 1-100, background scales in (1, 2, 4, 8), ``mask_scale`` in (1, 2, 4, ..., 64),
        ``preview_scale`` in (2, 4, 8), ``preview_quality`` 1-100, ``object_quality`` one of encode's rules,
        ``avif_speed`` 0-10,
        ``max_layers`` null or 1-1000, each list without repeats and at most 1000 long,
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
                   _one_of(self.mask_scale, "mask_scale", MASK_SCALES),
                   _one_of(self.preview_scale, "preview_scale", PREVIEW_SCALES),
                   _whole(self.preview_quality, "preview_quality", range(1, 101)),
                   _one_of(self.object_quality, "object_quality", OBJECT_QUALITY_RULES),
                   _whole(self.avif_speed, "avif_speed", range(0, 11)),
                   "" if self.max_layers is None else _whole(self.max_layers, "max_layers", range(1, MAX_LIST + 1)),
                   _text(self.ranking_task, "'ranking_task'", 2000, optional=True),
                   _scheduler(self.scheduler),
                   _per_anchor(self.anchor_qualities, "anchor_qualities", self.codecs,
                               lambda codec, value, key: _whole_list(value, key, range(1, 101), minimum=1)),
                   _per_anchor(self.anchor_variants, "anchor_variants", self.codecs, _known_variants)]
        for key in ("preview", "preview_skips_first_layer"):
            if not isinstance(getattr(self, key), bool):
                checks.append(f"'{key}' must be true or false (a JSON boolean, not a string or a number), got "
                              f"{_shown(getattr(self, key))}")
        checks.append(_whole(self.workers, "workers", range(1, MAX_WORKERS + 1)))
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
            raise SweepConfigError(f"{path} is not valid JSON: {one_line(error)}") from None
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
        if not _is_whole(item, allowed):
            return f"'{key}' must hold whole numbers {_range_words(allowed)}, got {_shown(item)}"
    return problem


def _is_whole(value, allowed) -> bool:
    """A JSON whole number (not a boolean, not 4.0) among ``allowed``."""
    return not isinstance(value, bool) and isinstance(value, int) and value in allowed


def _whole(value, key: str, allowed: range) -> str:
    if not _is_whole(value, allowed):
        return f"'{key}' must be a whole number {_range_words(allowed)}, got {_shown(value)}"
    return ""


def _range_words(allowed) -> str:
    return f"from {allowed.start} to {allowed.stop - 1}" if isinstance(allowed, range) else f"in {tuple(allowed)}"


def _one_of(value, key: str, allowed: tuple, registry=None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (
            value not in allowed and (registry is None or value not in registry)):
        return f"'{key}' must be one of {', '.join(map(str, allowed))}; got {_shown(value)}"
    return ""


def _per_anchor(value, key: str, codecs: tuple, check) -> str:
    """A JSON object {codec name: list}: every key one of the sweep's ``codecs``, every list passing ``check``.
    Checked only against a valid ``codecs`` (a list of names): a broken one is the 'codecs' check's to report."""
    if not isinstance(value, dict):
        return f"'{key}' must be a JSON object {{codec name: list}}, got {_shown(value)}"
    if not isinstance(codecs, tuple) or not all(isinstance(codec, str) for codec in codecs):
        return ""
    for codec, entries in value.items():
        if codec not in codecs:
            return f"'{key}' names {_shown(codec)}, which is not among 'codecs' ({', '.join(codecs)})"
        problem = check(codec, entries, f"{key}[{codec!r}]")
        if problem:
            return problem
    return ""


def _known_variants(codec: str, value, key: str) -> str:
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    variants = get_reference_codec(codec, check=False).variants
    return _names(value, key, minimum=1) or next(
        (f"'{key}' holds the unknown variant {_shown(v)}; {codec}'s variants: {', '.join(map(repr, variants))}"
         for v in value if v not in variants), "")


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


def plan(config: SweepConfig) -> FolderPlan:
    """What ``config``'s folder should hold: the configuration as run.json records it, the planned units, the tasks."""
    defaults = json.loads(json.dumps(asdict(SweepConfig(images=config.images))))
    return FolderPlan(json.loads(json.dumps(asdict(config))), frozenset(u.key for u in work_units(config)),
                      frozenset(config.tasks), {k: v for k, v in defaults.items() if k != "images"})


def _prepare_folder(folder: Path, config: SweepConfig) -> SweepState:
    """:func:`~sdcomp_lite.evaluation.store.prepare_folder` for ``config``'s plan."""
    return prepare_folder(folder, plan(config))


def _write_run_file(folder: Path, config: SweepConfig, state: SweepState) -> None:
    write_run_file(folder, plan(config), state.skipped)


def _sort_results(folder: Path, config: SweepConfig) -> None:
    sort_results(folder, plan(config))


def _read_finished_units(folder: Path, config: SweepConfig) -> tuple[dict, list[str], bool, bool]:
    return read_finished_units(folder, plan(config))


def _read_run_file(path: Path, config: SweepConfig) -> dict | None:
    return read_run_file(path, plan(config))


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
        units += [WorkUnit(image, OURS, variant, q)
                  for q in config.sdcomp_qualities for variant in sdcomp_variants(config, q)]
        for name in config.codecs:
            codec = get_reference_codec(name, check=False)  # planning needs no ffmpeg; run_sweep checks
            variants = config.anchor_variants.get(name, tuple(codec.variants))
            qualities = config.anchor_qualities.get(name, codec.qualities)
            units += [WorkUnit(image, name, variant, q) for variant in variants for q in qualities]
    return units


def ranking_jobs(config: SweepConfig) -> list[tuple[str, str, str]]:
    """Every (image, ranker, prompt) a sweep ranks once: one prompt per task, shared where equal."""
    prompts = dict.fromkeys(config.ranking_prompt(task) for task in config.tasks)
    return [(image, ranker, prompt) for image in config.images for ranker in config.rankers for prompt in prompts]


def _uses_regions(codec: str) -> bool:
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    return get_reference_codec(codec, check=False).uses_regions


def unit_rankings(unit: WorkUnit, config: SweepConfig, rankings: dict) -> dict:
    """The rankings (or their futures) an sdcomp-lite unit codes with, by task; for a region-aware
    anchor (ROI-HEVC, prefilter + codec) the first ranker's, whose first objects are its regions
    (``worker.task_objects``); {} for a plain codec."""
    if unit.ours:
        ranker, _ = parse_variant(unit.variant)
    elif _uses_regions(unit.codec):
        ranker = config.rankers[0]
    else:
        return {}
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
        raise BackendUnavailableError(f"cannot reach the Dask scheduler at {config.scheduler!r}: {one_line(error)}. "
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
        with open_for_appending(folder / "results.csv") as results, open_for_appending(folder / "units.csv") as finished:
            for future in tqdm(as_completed(futures), total=len(futures), desc="sweep", disable=not progress):
                check_in_place((folder / "results.csv", results), (folder / "units.csv", finished))
                try:
                    rows = future.result()
                except KilledWorker:
                    raise SweepStateError(
                        f"the Dask workers died running {futures[future].key} (out of memory?); the finished units are "
                        "kept. Run the same command again, with fewer workers if it happens again.") from None
                append_unit(results, finished, futures[future].key, rows)
        _sort_results(folder, config)
        for image, future in references.items():
            _, skipped = future.result()
            state.skipped.update({f"{image}/{task}": why for task, why in skipped.items()})
        _write_run_file(folder, config, state)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
