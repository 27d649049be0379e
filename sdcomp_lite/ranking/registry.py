"""Rankers by name: :data:`RANKERS`, one registry line per backend.

Add a ranker: write a class with ``name`` and ``rank(image, objects, task) -> Ranking``, then one
line here, e.g. ``RANKERS.add("mine", "what it prefers", lazy("mypackage.mymodule", "MyRanker"))``.
Factories import their module only when called, so listing the names loads no model.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

from sdcomp_lite.ranking.base import Ranker
from sdcomp_lite.registry import Registry, lazy

_HERE = "sdcomp_lite.ranking"
RANKERS: Registry[Ranker] = Registry("ranker")
for _name, _description, _module, _class in (
    ("offline", "task-label similarity (packaged MiniLM) + size and centre priors; no LMM (default)",
     "embedding", "EmbeddingRanker"),
    ("transformers-vlm", "a vision-language chat model via transformers (model= local folder or hub id)",
     "llm", "TransformersVLMRanker"),
    ("openai-compatible", "any chat-completions server: Ollama, vLLM, llama.cpp, LM Studio (base_url=, model=)",
     "llm", "OpenAICompatibleRanker"),
    ("area", "baseline: largest object first", "baselines", "AreaRanker"),
    ("detector-score", "baseline: most confident detection first", "baselines", "DetectorScoreRanker"),
    ("random", "baseline: seeded random order (seed=)", "baselines", "RandomRanker"),
    ("annotation-order", "baseline: the order the objects were annotated in", "baselines", "AnnotationOrderRanker"),
):
    RANKERS.add(_name, _description, lazy(f"{_HERE}.{_module}", _class))


def available_rankers() -> dict[str, str]:
    """Every ranker name with a one-line description."""
    return RANKERS.available()


def get_ranker(name: str, **options) -> Ranker:
    """The ranker called ``name``; ``options`` go to its constructor.

    Unknown names raise :class:`~sdcomp_lite.errors.UnknownBackendError` listing the choices.
    """
    return RANKERS.get(name, **options)
