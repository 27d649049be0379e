import os

import numpy as np
import pytest

from sdcomp_lite import encode, inspect, load_sample
from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError
from sdcomp_lite.ranking import RANKERS, RankingError, available_rankers, build_prompt, get_ranker, kendall_tau, mark_objects
from sdcomp_lite.ranking.base import Ranking
from sdcomp_lite.types import SceneObject


@pytest.fixture(scope="module")
def offline():
    return get_ranker("offline")


@pytest.fixture(scope="module")
def astronaut():
    sample = load_sample("astronaut")
    return sample.image, list(sample.objects)


def _top(ranking, objects):
    return ranking.labels(objects)[0]


def test_offline_follows_the_task(offline, astronaut):
    image, objects = astronaut
    assert _top(offline.rank(image, objects, "which country does the flag belong to?"), objects) == "flag"
    assert _top(offline.rank(image, objects, "describe the toy space shuttle"), objects) == "space shuttle model"
    general = offline.rank(image, objects, "general")
    assert _top(general, objects) == "person"
    assert general.backend == "offline-embedding" and general.reasons


def test_ranking_is_complete_deterministic_and_monotone(offline, astronaut):
    image, objects = astronaut
    first = offline.rank(image, objects, "is she smiling?")
    assert sorted(first.order) == sorted(o.object_id for o in objects)
    assert first == offline.rank(image, objects, "is she smiling?")
    values = [first.scores[i] for i in first.order]
    assert values == sorted(values, reverse=True)


def test_ranking_sets_the_layer_order(offline, astronaut):
    image, objects = astronaut
    ranking = offline.rank(image, objects, "which country does the flag belong to?")
    table = inspect(encode(image, ranking.apply(objects), quality=10).data)
    assert [layer.label for layer in table[:-1]] == ranking.labels(objects)


def test_non_english_task(offline, astronaut):
    image, objects = astronaut
    ranking = offline.rank(image, objects, "¿De qué país es la bandera?")
    assert sorted(ranking.order) == sorted(o.object_id for o in objects)


def test_empty_and_single_object(offline, astronaut):
    image, objects = astronaut
    assert offline.rank(image, [], "general").order == ()
    assert offline.rank(image, objects[:1], "general").order == (objects[0].object_id,)


def test_hundreds_of_objects_keep_the_prompt_bounded(offline):
    image = np.zeros((100, 100, 3), np.uint8)
    objects = []
    for i in range(300):
        mask = np.zeros((100, 100), bool)
        mask[(i // 10) % 100, i % 100] = True
        objects.append(SceneObject(i + 1, f"thing {i}", (i % 100, 0, i % 100 + 1, 1), mask))
    prompt = build_prompt(objects, "general", (100, 100))
    assert len(prompt) < 6000 and "240 smaller objects not listed" in prompt
    assert len(offline.rank(image, objects, "general").order) == 300
    assert mark_objects(image, objects).size == (100, 100)


@pytest.mark.parametrize("name", ["area", "detector-score", "random", "annotation-order"])
def test_baselines(name, astronaut):
    image, objects = astronaut
    ranking = get_ranker(name).rank(image, objects, "general")
    assert sorted(ranking.order) == sorted(o.object_id for o in objects)
    assert ranking == get_ranker(name).rank(image, objects, "general")


def test_area_and_random_baselines_behave(astronaut):
    image, objects = astronaut
    assert _top(get_ranker("area").rank(image, objects, "x"), objects) == "person"
    orders = {get_ranker("random", seed=s).rank(image, objects, "x").order for s in range(5)}
    assert len(orders) > 1


def test_kendall_tau():
    a = Ranking((1, 2, 3, 4), {}, "a", "t")
    assert kendall_tau(a, a) == pytest.approx(1.0)
    assert kendall_tau(a, Ranking((4, 3, 2, 1), {}, "b", "t")) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau(a, Ranking((1,), {}, "c", "t")))


def test_unknown_and_unconfigured_backends(monkeypatch):
    with pytest.raises(UnknownBackendError, match="offline, transformers-vlm, openai-compatible, area"):
        get_ranker("gpt")
    monkeypatch.delenv("SDCOMP_LMM_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailableError, match="SDCOMP_LMM_BASE_URL"):
        get_ranker("openai-compatible")


def test_every_registered_ranker_is_listed_with_a_description():
    names = ("offline", "transformers-vlm", "openai-compatible", "area", "detector-score", "random", "annotation-order")
    assert tuple(available_rankers()) == names == RANKERS.names()
    assert all(available_rankers().values())
    assert get_ranker("random", seed=3).seed == 3, "options reach the constructor"


def test_apply_sets_importance_in_ranked_order_on_copies(astronaut):
    _, objects = astronaut
    ids = [o.object_id for o in objects]
    order = tuple(reversed(ids))
    ranking = Ranking(order, {i: 0.1 * (n + 1) for n, i in enumerate(ids)}, "test", "t")
    applied = ranking.apply(objects)
    assert [o.object_id for o in applied] == list(order)
    assert [o.importance for o in applied] == [ranking.scores[i] for i in order]
    assert [o.importance for o in objects] == [o.importance for o in load_sample("astronaut").objects], "inputs unchanged"
    assert all(a.mask is next(o for o in objects if o.object_id == a.object_id).mask for a in applied)


def test_apply_never_drops_an_object(astronaut):
    _, objects = astronaut
    ids = [o.object_id for o in objects]
    partial = Ranking(tuple(ids[1:]), {i: 0.5 for i in ids[1:]}, "test", "t")
    with pytest.raises(RankingError, match=rf"object id\(s\) \[{ids[0]}\]"):
        partial.apply(objects)
    unscored = Ranking(tuple(ids), {i: 0.5 for i in ids[:-1]}, "test", "t")
    with pytest.raises(RankingError, match=str(ids[-1])):
        unscored.apply(objects)
    wider = Ranking((999, *ids), {999: 1.0, **{i: 0.5 for i in ids}}, "test", "t")
    assert [o.object_id for o in wider.apply(objects[:2])] == ids[:2], "ids not among the objects are skipped"


def test_offline_ranker_leaves_the_environment_alone(monkeypatch, astronaut):
    image, objects = astronaut
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    ranker = get_ranker("offline")  # loads the packaged MiniLM again, with no offline switch set
    assert _top(ranker.rank(image, objects, "which country does the flag belong to?"), objects) == "flag"
    assert dict(os.environ) == before
