import numpy as np
import pytest

from sdcomp_lite import encode, inspect, load_sample
from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError
from sdcomp_lite.ranking import build_prompt, get_ranker, kendall_tau, mark_objects
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
    with pytest.raises(UnknownBackendError, match="offline"):
        get_ranker("gpt")
    monkeypatch.delenv("SDCOMP_LMM_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailableError, match="SDCOMP_LMM_BASE_URL"):
        get_ranker("openai-compatible")
