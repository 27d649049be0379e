"""The ranking upper bound of benchmarks/ranking_upper_bound.py: its ranker orders by overlap with the model's mask."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from sdcomp_lite.types import SceneObject, box_from_mask

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "ranking_upper_bound.py"


def _module():
    spec = importlib.util.spec_from_file_location("ranking_upper_bound", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _object(object_id: int, label: str, rows: slice, cols: slice) -> SceneObject:
    mask = np.zeros((40, 40), bool)
    mask[rows, cols] = True
    return SceneObject(object_id=object_id, label=label, box=box_from_mask(mask), mask=mask)


def test_objects_are_ordered_by_their_share_inside_the_task_models_mask():
    person = np.zeros((40, 40), bool)
    person[0:20, 0:20] = True
    objects = [_object(1, "flag", slice(30, 40), slice(30, 40)),  # outside: 0
               _object(2, "helmet", slice(10, 30), slice(0, 10)),  # half inside
               _object(3, "person", slice(0, 20), slice(0, 20)),  # all inside
               _object(4, "empty", slice(0, 0), slice(0, 0))]  # no pixels: share 0, no division by zero
    ranking = _module().task_model_ranking(objects, person)
    assert ranking.order == (3, 2, 1, 4)
    assert ranking.scores == {3: 1.0, 2: 0.5, 1: 0.0, 4: 0.0}
    assert [o.label for o in ranking.apply(objects)] == ["person", "helmet", "flag", "empty"]
