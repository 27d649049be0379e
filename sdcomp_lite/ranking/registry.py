"""Rankers by name."""

from __future__ import annotations

from sdcomp_lite.errors import UnknownBackendError
from sdcomp_lite.ranking.base import Ranker

NAMES = ("offline", "transformers-vlm", "openai-compatible", "area", "detector-score", "random", "annotation-order")


def available_rankers() -> dict[str, str]:
    """Every ranker name with a one-line description."""
    return {
        "offline": "task-label similarity (packaged MiniLM) + size and centre priors; no LMM (default)",
        "transformers-vlm": "a vision-language chat model via transformers (model= local folder or hub id)",
        "openai-compatible": "any chat-completions server: Ollama, vLLM, llama.cpp, LM Studio (base_url=, model=)",
        "area": "baseline: largest object first",
        "detector-score": "baseline: most confident detection first",
        "random": "baseline: seeded random order (seed=)",
        "annotation-order": "baseline: the order the objects were annotated in",
    }


def get_ranker(name: str, **options) -> Ranker:
    """The ranker called ``name``; ``options`` go to its constructor."""
    if name == "offline":
        from sdcomp_lite.ranking.embedding import EmbeddingRanker

        return EmbeddingRanker(**options)
    if name == "transformers-vlm":
        from sdcomp_lite.ranking.llm import TransformersVLMRanker

        return TransformersVLMRanker(**options)
    if name == "openai-compatible":
        from sdcomp_lite.ranking.llm import OpenAICompatibleRanker

        return OpenAICompatibleRanker(**options)
    from sdcomp_lite.ranking import baselines

    simple = {"area": baselines.AreaRanker, "detector-score": baselines.DetectorScoreRanker,
              "random": baselines.RandomRanker, "annotation-order": baselines.AnnotationOrderRanker}
    if name in simple:
        return simple[name](**options)
    raise UnknownBackendError(f"unknown ranker {name!r}; choose one of: {', '.join(NAMES)}")
