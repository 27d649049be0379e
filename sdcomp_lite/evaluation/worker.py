"""The functions a sweep's Dask workers run (plain functions of picklable arguments).

A sweep runs many units on one photograph (every codec, quality and variant), so each worker
process keeps, per photograph, what does not change between them: the loaded sample and the
objects its codec layers come from (the offline grounder runs NanoDet, GrabCut and MediaPipe: about
a second a photograph). Both sit in bounded caches (:data:`CACHED_IMAGES` photographs, least recently
used first out) keyed by the photograph's name and the objects' backend; their arrays are made
read-only, so a stage that wrote into them would fail loudly instead of changing later units. The
models (tasks, rankers, grounders) are built once per process.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import numpy as np

from sdcomp_lite.data import Sample, load_sample
from sdcomp_lite.evaluation.task_base import Reference
from sdcomp_lite.types import SceneObject

CACHED_IMAGES = 8  # photographs whose sample and objects a worker process keeps (a few MB each)
DATA_VARIABLES = ("SDCOMP_DATA", "SDCOMP_COCO7", "SDCOMP_COCO_VAL128")  # where load_sample looks: part of the cache key


def _sample(image: str) -> Sample:
    """The sample called ``image``, loaded once per worker process (and data folders); pixels and masks read-only."""
    return _load(image, tuple(os.environ.get(name) for name in DATA_VARIABLES))


@functools.lru_cache(maxsize=CACHED_IMAGES)
def _load(image: str, folders: tuple[str | None, ...]) -> Sample:
    sample = load_sample(image)
    _freeze(sample.image, *(obj.mask for obj in sample.objects))
    return sample


def _objects(image: str, config) -> list[SceneObject]:
    """The objects the codec layers of ``image`` come from (``config.objects``), found once per photograph."""
    return list(_found_objects(image, config.objects, tuple(os.environ.get(name) for name in DATA_VARIABLES)))


@functools.lru_cache(maxsize=CACHED_IMAGES)
def _found_objects(image: str, backend: str, folders: tuple[str | None, ...]) -> tuple[SceneObject, ...]:
    """The objects of ``image`` from ``backend`` (``"annotations"`` or a grounder name), found once per
    worker process: the same tuple for every unit of the photograph, masks read-only."""
    sample = _load(image, folders)
    if backend == "annotations":
        return tuple(sample.objects)
    found = tuple(_grounder(backend).ground(sample.image))
    _freeze(*(obj.mask for obj in found))
    return found


def _freeze(*arrays: np.ndarray) -> None:
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.setflags(write=False)


@functools.cache
def _grounder(name: str):
    """Each grounder, built once per worker process (the offline one loads NanoDet and MediaPipe)."""
    from sdcomp_lite.grounding import get_grounder

    return get_grounder(name)


def references(image: str, config) -> tuple[dict[str, Reference], dict[str, str]]:
    """Each task's reference on the original image (the task decides: annotations or pseudo ground
    truth, see ``Task.reference``), and the tasks skipped for lack of one."""
    sample = _sample(image)
    found, skipped = {}, {}
    for name in config.tasks:
        reference = _task(name).reference(sample, config.reference)
        if reference.empty:
            skipped[name] = "the reference has nothing to find in this image (no annotation, empty pseudo ground truth)"
            continue
        found[name] = reference
    return found, skipped


def rank_objects(image: str, ranker: str, prompt: str, config):
    """The ranking of the image's objects by ``ranker`` for ``prompt`` (a task's ranking prompt)."""
    sample = _sample(image)
    return _ranker(ranker).rank(sample.image, _objects(image, config), prompt)


@functools.cache
def _ranker(name: str):
    """Each ranker, built once per worker process (the offline one loads a text encoder)."""
    from sdcomp_lite.ranking import get_ranker

    return get_ranker(name)


@functools.cache
def _task(name: str):
    """Each task's model, built once per worker process (MediaPipe and grounders take a while to load)."""
    from sdcomp_lite.evaluation.tasks import get_task

    return get_task(name)


@functools.cache
def _avif(speed: int):
    """sdcomp-lite's AVIF layer coder at libaom ``speed``, built once per worker process."""
    from sdcomp_lite.coding.transforms import get_transform

    return get_transform("avif", speed=speed)


def _score_rows(base: dict, image: np.ndarray, tasks: dict, task_references: dict[str, Reference]) -> list[dict]:
    rows = []
    for name, task in tasks.items():
        if name not in task_references:
            continue
        reference = task_references[name]
        for metric, value in task.score(task.run(image), reference.value).items():
            rows.append({**base, "task": name, "reference": reference.kind, "metric": metric, "value": value})
    return rows


def _prefixes(encoded) -> Iterator[tuple[int, np.ndarray]]:
    """(bytes, image) after each layer: one decode per layer (:func:`~sdcomp_lite.coding.decode_progressive`)."""
    from sdcomp_lite.coding import decode_progressive

    for layers, step in enumerate(decode_progressive(encoded.data), 1):
        yield encoded.prefix_bytes(layers), step.image


def _sdcomp_rows(unit, config, sample, tasks: dict, task_references: dict, rankings: dict) -> list[dict]:
    """Each task's objects in that task's ranking, coded once per distinct order, scored at every prefix."""
    from sdcomp_lite.coding import encode
    from sdcomp_lite.evaluation.results import parse_variant

    _, settings = parse_variant(unit.variant)
    options = {"quality": unit.quality, "background_quality": int(settings.get("bq", unit.quality)),
               "background_scale": int(settings.get("bs", 1)), "mask_scale": config.mask_scale,
               "preview": config.preview, "preview_scale": config.preview_scale,
               "preview_quality": config.preview_quality, "max_layers": config.max_layers,
               "object_quality": config.object_quality, "preview_skips_first_layer": config.preview_skips_first_layer,
               "transform": _avif(config.avif_speed)}
    objects = _objects(unit.image, config)
    pixels = sample.image.shape[0] * sample.image.shape[1]
    coded: dict[tuple, list] = {}
    rows = []
    for name, task in tasks.items():
        ordered = rankings[name].apply(objects)
        order = tuple((obj.object_id, obj.importance) for obj in ordered)
        if order not in coded:
            coded[order] = list(_prefixes(encode(sample.image, ordered, **options)))
        for layers, (size, decoded) in enumerate(coded[order], 1):
            base = {"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality,
                    "layers": layers, "bytes": size, "bpp": 8 * size / pixels}
            rows += _score_rows(base, decoded, {name: task}, task_references)
    return rows


def run_unit(unit, config, reference_pair, rankings: dict) -> list[dict]:
    """Code one image, decode it (every prefix for sdcomp-lite), run every task, score it.

    ``rankings``: for sdcomp-lite, each task's ranking of the objects (from its own prompt).
    """
    from sdcomp_lite.evaluation.codecs import get_reference_codec

    task_references, _ = reference_pair
    sample = _sample(unit.image)
    tasks = {name: _task(name) for name in config.tasks if name in task_references}
    if unit.ours:
        return _sdcomp_rows(unit, config, sample, tasks, task_references, rankings)
    codec = get_reference_codec(unit.codec)
    pixels = sample.image.shape[0] * sample.image.shape[1]
    rows = []
    groups = _region_groups(unit.image, config, tasks, rankings) if codec.uses_regions else [([], tasks)]
    for objects, group in groups:
        regions = [obj.mask if codec.region_masks else obj.box for obj in objects]
        data, decoded = codec.round_trip(sample.image, unit.quality, unit.variant, regions)
        base = {"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality, "layers": 0,
                "bytes": len(data), "bpp": 8 * len(data) / pixels}
        rows += _score_rows(base, np.ascontiguousarray(decoded), group, task_references)
    return rows


def task_objects(ordered: list[SceneObject]) -> list[SceneObject]:
    """The objects a ranking puts first for its task (``coding.layered.top_tier``: those above the largest
    drop in importance, all of them when every importance is equal). ``ordered``: ``Ranking.apply``'s output.

    A region-aware anchor (ROI-HEVC, prefilter + codec) gets these as its regions: the objects whose
    layers the task's sdcomp-lite prefix reads before the rest of the picture.
    """
    from sdcomp_lite.coding.layered import top_tier

    return top_tier(ordered)


def _region_groups(image: str, config, tasks: dict, rankings: dict) -> list[tuple[list[SceneObject], dict]]:
    """(regions, tasks) pairs for a region-aware anchor: one round trip per distinct region set, each
    task's :func:`task_objects`. Without rankings, every object of the photograph, once for all tasks."""
    objects = _objects(image, config)
    if not rankings:
        return [(objects, tasks)]
    groups: dict[tuple[int, ...], tuple[list[SceneObject], dict]] = {}
    for name, task in tasks.items():
        chosen = task_objects(rankings[name].apply(objects))
        key = tuple(obj.object_id for obj in chosen)
        groups.setdefault(key, (chosen, {}))[1][name] = task
    return list(groups.values())
