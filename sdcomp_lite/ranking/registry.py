"""Rankers by name: :data:`RANKERS`, one registry line per backend.

Add a ranker: write a class with ``name`` and ``rank(image, objects, task) -> Ranking``, then one
line here, e.g. ``RANKERS.add("mine", "what it prefers", _lazy("mymodule", "MyRanker"))``.
Factories import their module only when called, so listing the names loads no model.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from sdcomp_lite.ranking.base import Ranker
from sdcomp_lite.registry import Registry


def _lazy(module: str, attribute: str) -> Callable[..., Ranker]:
    """A factory that imports ``sdcomp_lite.ranking.<module>`` only when a ranker is built."""
    return lambda **options: getattr(import_module(f"sdcomp_lite.ranking.{module}"), attribute)(**options)


RANKERS: Registry[Ranker] = Registry("ranker")
RANKERS.add("offline", "task-label similarity (packaged MiniLM) + size and centre priors; no LMM (default)",
            _lazy("embedding", "EmbeddingRanker"))
RANKERS.add("transformers-vlm", "a vision-language chat model via transformers (model= local folder or hub id)",
            _lazy("llm", "TransformersVLMRanker"))
RANKERS.add("openai-compatible", "any chat-completions server: Ollama, vLLM, llama.cpp, LM Studio (base_url=, model=)",
            _lazy("llm", "OpenAICompatibleRanker"))
RANKERS.add("area", "baseline: largest object first", _lazy("baselines", "AreaRanker"))
RANKERS.add("detector-score", "baseline: most confident detection first", _lazy("baselines", "DetectorScoreRanker"))
RANKERS.add("random", "baseline: seeded random order (seed=)", _lazy("baselines", "RandomRanker"))
RANKERS.add("annotation-order", "baseline: the order the objects were annotated in", _lazy("baselines", "AnnotationOrderRanker"))


def available_rankers() -> dict[str, str]:
    """Every ranker name with a one-line description."""
    return RANKERS.available()


def get_ranker(name: str, **options) -> Ranker:
    """The ranker called ``name``; ``options`` go to its constructor.

    Unknown names raise :class:`~sdcomp_lite.errors.UnknownBackendError` listing the choices.
    """
    return RANKERS.get(name, **options)
