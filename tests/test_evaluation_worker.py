"""The sweep worker's per-process caches: a photograph is loaded and grounded once, results unchanged."""

import numpy as np
import pytest

from sdcomp_lite.evaluation import worker
from sdcomp_lite.evaluation.sweep import SweepConfig, WorkUnit
from sdcomp_lite.types import SceneObject, box_mask


class CountingGrounder:
    """Finds one box in the middle of the image and counts its calls."""

    def __init__(self):
        self.calls = 0

    def ground(self, image, prompt=None):
        self.calls += 1
        height, width = image.shape[:2]
        box = (width / 4, height / 4, 3 * width / 4, 3 * height / 4)
        return [SceneObject(1, "cat", box, box_mask(box, height, width), source="counting")]


class MeanTask:
    """A task whose score is how far a decoded image's mean is from the reference's (no model to load)."""

    name, metric = "mean", "mean"

    def run(self, image):
        return float(np.asarray(image, float).mean())

    def score(self, prediction, reference):
        return {"mean": abs(prediction - reference)}


@pytest.fixture
def grounder(monkeypatch):
    for cached in (worker._load, worker._found_objects):
        cached.cache_clear()
    counting = CountingGrounder()
    monkeypatch.setattr(worker, "_grounder", lambda name: counting)
    yield counting
    for cached in (worker._load, worker._found_objects):
        cached.cache_clear()


def test_a_photograph_is_loaded_and_grounded_once_per_process(grounder):
    config = SweepConfig(images=("chelsea",), tasks=("detection",), objects="offline", codecs=("jpeg",))
    first, second = worker._objects("chelsea", config), worker._objects("chelsea", config)
    assert grounder.calls == 1 and first == second and first is not second  # each caller gets its own list
    assert worker._sample("chelsea") is worker._sample("chelsea")
    annotated = worker._objects("chelsea", SweepConfig(images=("chelsea",), tasks=("detection",), codecs=("jpeg",)))
    assert [o.label for o in annotated] == [o.label for o in worker._sample("chelsea").objects]  # another key
    assert grounder.calls == 1
    assert worker._load.cache_info().maxsize == worker._found_objects.cache_info().maxsize == worker.CACHED_IMAGES


def test_cached_pixels_and_masks_are_read_only(grounder):
    config = SweepConfig(images=("chelsea",), tasks=("detection",), objects="offline", codecs=("jpeg",))
    sample, found = worker._sample("chelsea"), worker._objects("chelsea", config)
    with pytest.raises(ValueError, match="read-only"):
        sample.image[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        found[0].mask[0, 0] = True
    assert all(not obj.mask.flags.writeable for obj in sample.objects)


def test_a_unit_gives_the_same_rows_from_the_cache(grounder, monkeypatch):
    """prefilter-avif takes the objects' masks: the second run reads them from the cache, the rows are equal."""

    monkeypatch.setattr(worker, "_task", lambda name: MeanTask())
    config = SweepConfig(images=("chelsea",), tasks=("detection",), objects="offline", codecs=("prefilter-avif",))
    reference = {"detection": worker.Reference(float(worker._sample("chelsea").image.mean()), "pseudo")}
    unit = WorkUnit("chelsea", "prefilter-avif", "sigma=8", 25)
    first = worker.run_unit(unit, config, (reference, {}), {})
    again = worker.run_unit(unit, config, (reference, {}), {})
    assert first == again and grounder.calls == 1 and len(first) == 1 and first[0]["value"] > 0


def _objects_with(importances):
    box = (0.0, 0.0, 2.0, 2.0)
    return [SceneObject(i, f"o{i}", box, box_mask(box, 4, 4), importance=v) for i, v in enumerate(importances, 1)]


def test_task_objects_are_those_above_the_largest_importance_drop():
    ranked = _objects_with([0.9, 0.85, 0.3, 0.2])
    assert [o.object_id for o in worker.task_objects(ranked)] == [1, 2]
    assert [o.object_id for o in worker.task_objects(_objects_with([0.5, 0.5, 0.5]))] == [1, 2, 3]  # no drop: all


class FixedRanking:
    def __init__(self, importances):
        self.importances = importances

    def apply(self, objects):
        ranked = [o.with_importance(v) for o, v in zip(objects, self.importances)]
        return sorted(ranked, key=lambda o: -o.importance)


def test_region_anchors_code_once_per_distinct_region_set(monkeypatch):
    objects = _objects_with([1.0, 1.0, 1.0])
    monkeypatch.setattr(worker, "_objects", lambda image, config: objects)
    tasks = {"a": "task a", "b": "task b", "c": "task c"}
    rankings = {"a": FixedRanking([0.9, 0.1, 0.1]), "b": FixedRanking([0.8, 0.2, 0.1]),  # both: object 1 alone
                "c": FixedRanking([0.1, 0.2, 0.9])}  # object 3 alone
    groups = worker._region_groups("x", None, tasks, rankings)
    assert sorted(([o.object_id for o in regions], sorted(group)) for regions, group in groups) == [
        ([1], ["a", "b"]), ([3], ["c"])]
    assert worker._region_groups("x", None, tasks, {}) == [(objects, tasks)]  # no ranking: every object, once


def _prefix_bytes(monkeypatch, boxes, importances, variant: str, quality: int, **options) -> dict[int, int]:
    """Bytes of each prefix (by layer count) of chelsea coded by the sweep's worker for a "detection" task that reads
    every prefix: one cat per box (XYXY) ranked with ``importances``; ``options`` are the sweep configuration's."""
    objects = [SceneObject(i, "cat", box, box_mask(box, 300, 451)) for i, box in enumerate(boxes, 1)]
    monkeypatch.setattr(worker, "_objects", lambda image, config: objects)
    monkeypatch.setattr(worker, "_task", lambda name: MeanTask())
    config = SweepConfig(images=("chelsea",), tasks=("detection",), codecs=(), rankers=("offline",), **options)
    rows = worker.run_unit(WorkUnit("chelsea", "sdcomp-lite", variant, quality), config,
                           ({"detection": worker.Reference(0.0, "pseudo")}, {}), {"detection": FixedRanking(importances)})
    return {int(row["layers"]): int(row["bytes"]) for row in rows}


def test_the_configs_layer_structure_reaches_the_codec(monkeypatch):
    """preview_scale, preview_quality and max_layers from the sweep configuration shape sdcomp-lite's stream."""
    boxes = [(8.0 * i, 0.0, 8.0 * i + 8, 8.0) for i in range(1, 6)]
    layers = {key: max(_prefix_bytes(monkeypatch, boxes, [0.9, 0.8, 0.3, 0.2, 0.1], "offline", 30, **extra))
              for key, extra in (("default", {}), ("tiered", {"max_layers": 2, "preview_scale": 4, "preview_quality": 5}))}
    assert layers == {"default": 7, "tiered": 4}  # preview + 5 objects + background; preview + 2 tiers + background


def test_the_configs_object_quality_reaches_the_codec(monkeypatch):
    """object_quality="top-tier" codes the second tier at the background's quality: fewer bytes from the second
    tier on, the task's tier and everything before it unchanged."""
    boxes = [(60.0 * i, 40.0, 60.0 * i + 56, 200.0) for i in range(1, 6)]
    sizes = {rule: _prefix_bytes(monkeypatch, boxes, [0.9, 0.8, 0.3, 0.2, 0.1], "offline bq=5 bs=1", 60, max_layers=2,
                                 preview_scale=4, preview_quality=5, object_quality=rule, background_qualities=(5,))
             for rule in ("flat", "top-tier")}
    assert sizes["flat"][2] == sizes["top-tier"][2]  # the preview and the task's tier
    assert sizes["top-tier"][3] < sizes["flat"][3]  # the rest at quality 5, not 60


def test_the_configs_avif_speed_reaches_the_layer_coder(monkeypatch):
    """avif_speed=0 (the AVIF anchor's effort) codes the same layers with another libaom speed: other bytes."""
    sizes = {speed: _prefix_bytes(monkeypatch, [(60.0, 40.0, 300.0, 200.0)], [0.9], "offline", 30, avif_speed=speed)
             for speed in (6, 0)}
    assert sizes[0].keys() == sizes[6].keys() and sizes[0] != sizes[6]
