"""Reproducible rate sweeps: every codec x quality (x layer prefix) x task, run through Dask.

A sweep writes into one folder:
  run.json      the exact configuration, package versions, what was skipped and why
  results.csv   one tidy row per (image, codec, variant, quality, layers, task, metric)
It resumes: work units already in results.csv are not run again, so an interrupted sweep
continues where it stopped. Tables and plots come from :mod:`sdcomp_lite.evaluation.report`.
"""

from __future__ import annotations

import csv
import json
import platform
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sdcomp_lite.errors import DataFileError, SdcompError

FORMAT_VERSION = 1
COLUMNS = ("image", "codec", "variant", "quality", "layers", "bytes", "bpp", "task", "reference", "metric", "value")


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
    empty tuple codes it at the objects' quality) and at 1 / scale of the resolution.
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
    codecs: tuple[str, ...] = ("jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "roi-hevc")
    scheduler: str | None = None
    workers: int = 2

    def ranking_prompt(self, task: str) -> str:
        """What the rankers are told for ``task``: its registered prompt, or ``ranking_task`` if set."""
        from sdcomp_lite.evaluation.tasks import task_class

        return self.ranking_task or task_class(task).prompt

    @classmethod
    def from_json(cls, path: str | Path) -> SweepConfig:
        """Read a JSON object whose keys are field names (all optional)."""
        path = Path(path)
        if not path.is_file():
            raise DataFileError(f"sweep configuration not found: {path}")
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataFileError(f"{path} is not valid JSON: {error}") from error
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise DataFileError(f"{path}: unknown keys {sorted(unknown)}; known keys: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


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
    """What a sweep folder already holds."""

    done: set = field(default_factory=set)
    skipped: dict = field(default_factory=dict)


def package_versions() -> dict[str, str]:
    names = ("sdcomp-lite", "torch", "compressai", "numpy", "pillow", "imagecodecs", "mediapipe", "opencv-contrib-python",
             "transformers", "sentence-transformers", "pycocotools", "bjontegaard", "dask", "distributed")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _prepare_folder(folder: Path, config: SweepConfig) -> SweepState:
    """Create the folder, or check that it holds a resumable sweep of the same configuration."""
    folder.mkdir(parents=True, exist_ok=True)
    run_file, results = folder / "run.json", folder / "results.csv"
    state = SweepState()
    if run_file.is_file():
        previous = json.loads(run_file.read_text())
        if previous.get("format_version") != FORMAT_VERSION:
            raise SdcompError(
                f"{folder} holds a sweep of format {previous.get('format_version')!r}; this release writes format "
                f"{FORMAT_VERSION}. Nothing was changed: choose a new output folder (the old results stay readable "
                "with the release that wrote them)."
            )
        if previous.get("config") != json.loads(json.dumps(asdict(config))):
            raise SdcompError(
                f"{folder} holds a sweep with a different configuration; nothing was changed. Use a new output "
                "folder, or the same configuration to resume."
            )
        state.skipped = previous.get("skipped", {})
    if results.is_file():
        with open(results, newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise SdcompError(f"{results} has columns {reader.fieldnames}, expected {list(COLUMNS)}; nothing was changed.")
            state.done = {(r["image"], r["codec"], r["variant"], int(r["quality"])) for r in reader}
    else:
        with open(results, "w", newline="") as handle:
            csv.writer(handle).writerow(COLUMNS)
    return state


def _write_run_file(folder: Path, config: SweepConfig, state: SweepState) -> None:
    run = {"format_version": FORMAT_VERSION, "config": asdict(config), "versions": package_versions(),
           "python": platform.python_version(), "machine": platform.machine(), "skipped": state.skipped}
    (folder / "run.json").write_text(json.dumps(run, indent=1) + "\n")


def _sort_results(path: Path) -> None:
    """Rewrite results.csv in a fixed row order, so that equal sweeps give identical files."""
    from sdcomp_lite.evaluation.report import row_order

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=row_order)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


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
            codec = get_reference_codec(name)
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
    """Run (or resume) the sweep into ``folder``; returns the path of results.csv."""
    from dask.distributed import Client, LocalCluster, as_completed

    from sdcomp_lite.evaluation import worker
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    folder = Path(folder)
    for name in config.codecs:  # fail before any work if a codec is missing (e.g. ffmpeg for hevc)
        codec = get_reference_codec(name)
        codec.round_trip(np.zeros((16, 16, 3), np.uint8), codec.qualities[0])
    state = _prepare_folder(folder, config)
    _write_run_file(folder, config, state)
    units = [u for u in work_units(config) if u.key not in state.done]
    if not units:
        return folder / "results.csv"
    cluster = None if config.scheduler else LocalCluster(
        n_workers=config.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(config.scheduler or cluster)
    try:
        references = {image: client.submit(worker.references, image, config, pure=False) for image in config.images}
        rankings = {job: client.submit(worker.rank_objects, *job, config, pure=False) for job in ranking_jobs(config)}
        futures = [
            client.submit(worker.run_unit, unit, config, references[unit.image],
                          unit_rankings(unit, config, rankings), pure=False)
            for unit in units
        ]
        with open(folder / "results.csv", "a", newline="") as handle:
            writer = csv.writer(handle)
            for future in tqdm(as_completed(futures), total=len(futures), desc="sweep", disable=not progress):
                rows = future.result()
                writer.writerows([[row[c] for c in COLUMNS] for row in rows])
                handle.flush()
        _sort_results(folder / "results.csv")
        for image, future in references.items():
            _, skipped = future.result()
            state.skipped.update({f"{image}/{task}": why for task, why in skipped.items()})
        _write_run_file(folder, config, state)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return folder / "results.csv"
