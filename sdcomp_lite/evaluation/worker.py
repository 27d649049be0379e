"""The functions a sweep's Dask workers run (plain functions of picklable arguments)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sdcomp_lite.data import load_sample
from sdcomp_lite.grounding.base import GroundedObject
from sdcomp_lite.types import SceneObject


def _objects(sample, config) -> list[SceneObject]:
    if config.objects == "annotations":
        return list(sample.objects)
    from sdcomp_lite.grounding import as_scene_objects, get_grounder

    return as_scene_objects(get_grounder(config.objects).ground(sample.image))


def references(image: str, config) -> tuple[dict[str, Any], dict[str, str]]:
    """Each task's reference on the original image, and the tasks skipped for lack of one."""
    from sdcomp_lite.evaluation.tasks import get_task

    sample = load_sample(image)
    found, skipped = {}, {}
    for name in config.tasks:
        if name == "instance-segmentation" and config.reference == "annotations":
            reference = [GroundedObject(o.label, o.box, o.mask, 1.0, "annotations") for o in sample.objects]
        else:
            reference = get_task(name).run(sample.image)
        if reference is None or (isinstance(reference, list) and not reference):
            skipped[name] = "the reference has nothing to find in this image (no annotation, empty pseudo ground truth)"
            continue
        found[name] = reference
    return found, skipped


def rank_objects(image: str, ranker: str, config):
    """The ranking of the image's objects by ``ranker`` for the sweep's ranking task."""
    from sdcomp_lite.ranking import get_ranker

    sample = load_sample(image)
    return get_ranker(ranker).rank(sample.image, _objects(sample, config), config.ranking_task)


def _score_rows(base: dict, image: np.ndarray, tasks: dict, task_references: dict, reference_kind: str) -> list[dict]:
    rows = []
    for name, task in tasks.items():
        if name not in task_references:
            continue
        kind = "annotations" if (name == "instance-segmentation" and reference_kind == "annotations") else "pseudo"
        for metric, value in task.score(task.run(image), task_references[name]).items():
            rows.append({**base, "task": name, "reference": kind, "metric": metric, "value": value})
    return rows


def run_unit(unit, config, reference_pair, ranking) -> list[dict]:
    """Code one image, decode it (every prefix for sdcomp-lite), run every task, score it."""
    from sdcomp_lite.coding import encode
    from sdcomp_lite.coding.codec import decode
    from sdcomp_lite.evaluation.codecs import get_reference_codec
    from sdcomp_lite.evaluation.tasks import get_task

    task_references, _ = reference_pair
    sample = load_sample(unit.image)
    pixels = sample.image.shape[0] * sample.image.shape[1]
    tasks = {name: get_task(name) for name in config.tasks if name in task_references}
    rows = []
    if unit.codec == "sdcomp-lite":
        objects = ranking.apply(_objects(sample, config))
        background = max(1, unit.quality - config.background_drop)
        encoded = encode(sample.image, objects, quality=unit.quality, background_quality=background)
        for layers in range(1, len(encoded.layers) + 1):
            size = encoded.prefix_bytes(layers)
            decoded = decode(encoded.data, layers=layers).image
            base = {"image": unit.image, "codec": unit.codec, "variant": unit.variant, "quality": unit.quality,
                    "layers": layers, "bytes": size, "bpp": 8 * size / pixels}
            rows += _score_rows(base, decoded, tasks, task_references, config.reference)
    else:
        data, decoded = get_reference_codec(unit.codec).round_trip(sample.image, unit.quality)
        base = {"image": unit.image, "codec": unit.codec, "variant": "", "quality": unit.quality, "layers": 0,
                "bytes": len(data), "bpp": 8 * len(data) / pixels}
        rows += _score_rows(base, np.ascontiguousarray(decoded), tasks, task_references, config.reference)
    return rows
