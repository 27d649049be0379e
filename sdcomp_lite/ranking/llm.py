"""Rankers that ask a (multimodal) language model: the shared prompt-and-parse step, and two
ways to reach a model: transformers in this process, or an OpenAI-compatible HTTP server.

The model clients live in :mod:`sdcomp_lite.lmm_client`, which the grounding stage's identifiers share:
:class:`~sdcomp_lite.lmm_client.OpenAICompatibleClient` (timeouts over each whole attempt, size caps, no
redirects, the key never printed) and :class:`~sdcomp_lite.lmm_client.TransformersVLM`. Their names
(``OpenAICompatibleClient``, ``HTTPError``, ``chat_completion``, ``image_data_url``, ``parse_chat_completion``,
``redact_url``, ...) stay importable from here.

Taught in notebooks/02_lmm_ranking.ipynb and notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from sdcomp_lite.images import to_rgb_array
from sdcomp_lite.lmm_client import (  # noqa: F401 (re-exported: the client's home before it was shared)
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_REPLY_BYTES,
    MAX_URL_CHARS,
    HTTPError,
    OpenAICompatibleClient,
    TransformersVLM,
    chat_completion,
    image_data_url,
    parse_chat_completion,
    redact_url,
)
from sdcomp_lite.ranking.base import Ranking
from sdcomp_lite.ranking.parsing import parse_ranking_reply
from sdcomp_lite.ranking.prompts import SYSTEM_PROMPT, build_prompt, mark_objects
from sdcomp_lite.types import SceneObject


def _fallback_order(objects: list[SceneObject]) -> list[int]:
    """Where a reply leaves objects out, they follow in order of decreasing area."""
    return [o.object_id for o in sorted(objects, key=lambda o: (-o.area, o.object_id))]


def rank_with_model(name: str, ask: Callable[[Image.Image, str], str], image, objects, task: str) -> Ranking:
    """Build the prompt, ask the model, parse the reply; the prompt and reply are kept."""
    pixels = to_rgb_array(image)
    if not objects:
        return Ranking((), {}, name, task)
    prompt = build_prompt(objects, task, (pixels.shape[1], pixels.shape[0]))
    reply = ask(mark_objects(pixels, objects), prompt)
    parsed = parse_ranking_reply(reply, [o.object_id for o in objects], _fallback_order(objects))
    return Ranking(parsed.order, parsed.scores, name, task, prompt, reply, parsed.reasons, parsed.repairs)


class TransformersVLMRanker(TransformersVLM):
    """A vision-language chat model through transformers (:class:`~sdcomp_lite.lmm_client.TransformersVLM`),
    asked to rank with the ranking system prompt.

    ``model`` is a local folder or a hub id (Qwen2-VL, SmolVLM, LLaVA, ...). Decoding is greedy,
    so the same inputs give the same reply. torch and transformers load when the ranker is built.
    """

    def __init__(self, model: str, max_new_tokens: int = 256, name: str = "transformers-vlm") -> None:
        super().__init__(model, max_new_tokens)
        self.name = name

    def ask(self, image: Image.Image, prompt: str, system: str | None = SYSTEM_PROMPT) -> str:
        """The model's reply to ``prompt`` about ``image``, with ``system`` (none if None) before the prompt."""
        return super().ask(image, prompt, system)

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        return rank_with_model(self.name, self.ask, image, objects, task)


class OpenAICompatibleRanker:
    """Any server that speaks OpenAI's chat-completions protocol (Ollama, vLLM, llama.cpp, LM Studio...).

    The arguments are :class:`OpenAICompatibleClient`'s (``base_url``, ``model``, ``api_key`` or
    their SDCOMP_LMM_* variables, ``timeout`` per attempt, ``retries``, ``backoff``). The image
    travels as a PNG data URL. The key is sent as a bearer token and never printed.
    """

    name = "openai-compatible"

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 2, backoff: float = 1.0) -> None:
        self.client = OpenAICompatibleClient(base_url, model, api_key, timeout, retries, backoff,
                                             purpose="the openai-compatible ranker")
        self.base_url, self.model = self.client.base_url, self.client.model

    def __repr__(self) -> str:
        return repr(self.client).replace(type(self.client).__name__, type(self).__name__, 1)

    def ask(self, image: Image.Image, prompt: str) -> str:
        """The model's reply to the ranking ``prompt`` about ``image`` (with the ranking system prompt)."""
        return self.client.ask(image, prompt, SYSTEM_PROMPT)

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        return rank_with_model(self.name, self.ask, image, objects, task)
