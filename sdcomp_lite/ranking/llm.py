"""Rankers that ask a (multimodal) language model: the shared prompt-and-parse step, and two
ways to reach a model: transformers in this process, or an OpenAI-compatible HTTP server.

Taught in notebooks/02_lmm_ranking.ipynb and notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import torch
from PIL import Image

from sdcomp_lite.errors import BackendUnavailableError, SdcompError
from sdcomp_lite.images import to_rgb_array
from sdcomp_lite.models import load_pretrained
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


class TransformersVLMRanker:
    """A vision-language chat model through transformers (``AutoModelForImageTextToText``).

    ``model`` is a local folder or a hub id (Qwen2-VL, SmolVLM, LLaVA, ...). Decoding is greedy,
    so the same inputs give the same reply.
    """

    def __init__(self, model: str, max_new_tokens: int = 256, name: str = "transformers-vlm") -> None:
        self.name = name
        self.max_new_tokens = max_new_tokens
        self.processor, self.model = load_pretrained(model, "AutoModelForImageTextToText")

    def ask(self, image: Image.Image, prompt: str) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"{SYSTEM_PROMPT}\n\n{prompt}"}]}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = self.processor(images=[image], text=[text], return_tensors="pt")
        with torch.no_grad():
            generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0]

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        return rank_with_model(self.name, self.ask, image, objects, task)


class HTTPError(SdcompError, RuntimeError):
    """The chat-completions server could not be reached or answered with an error."""


class OpenAICompatibleRanker:
    """Any server that speaks OpenAI's chat-completions protocol (Ollama, vLLM, llama.cpp, LM Studio...).

    ``base_url`` (e.g. ``http://127.0.0.1:11434/v1``), ``model`` and ``api_key`` come from the
    arguments or from SDCOMP_LMM_BASE_URL, SDCOMP_LMM_MODEL and SDCOMP_LMM_API_KEY. The image
    travels as a PNG data URL. The key is sent as a bearer token and never printed.
    """

    name = "openai-compatible"

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 2, backoff: float = 1.0) -> None:
        self.base_url = (base_url or os.environ.get("SDCOMP_LMM_BASE_URL") or "").rstrip("/")
        self.model = model or os.environ.get("SDCOMP_LMM_MODEL") or ""
        self._api_key = api_key if api_key is not None else os.environ.get("SDCOMP_LMM_API_KEY", "")
        if not self.base_url or not self.model:
            raise BackendUnavailableError(
                "the openai-compatible ranker needs a server and a model: pass base_url= and model= or set "
                "SDCOMP_LMM_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) and SDCOMP_LMM_MODEL."
            )
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"OpenAICompatibleRanker(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    def ask(self, image: Image.Image, prompt: str) -> str:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": [{"type": "text", "text": prompt},
                                             {"type": "image_url", "image_url": {"url": data_url}}]},
            ],
        }
        response = self._post("/chat/completions", body)
        try:
            return str(response["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as error:
            raise HTTPError(f"the server's answer is not a chat completion: {json.dumps(response)[:200]}") from error

    def _post(self, path: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self.base_url + path, json.dumps(body).encode(), headers, method="POST")
        last_error = ""
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    return json.loads(answer.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                last_error = f"HTTP {error.code} {error.reason}"
                if error.code < 500 and error.code != 429:
                    break  # a client error will not go away by retrying
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            except json.JSONDecodeError:
                last_error = "the answer is not JSON"
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise HTTPError(f"{self.base_url}{path} failed after {attempt + 1} attempt(s): {last_error}")

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        return rank_with_model(self.name, self.ask, image, objects, task)


