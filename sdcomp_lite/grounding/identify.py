"""Identification: which objects to ground. SDComp's multimodal model first names what it sees;
an open-vocabulary grounder (OWLv2, Grounding DINO) then finds those names in the image.

``identify(image) -> list[str]`` has three backends in :data:`IDENTIFIERS`:

- ``offline``: the labels the offline grounder finds (no model to bring; the detector's vocabulary);
- ``openai-compatible``: any chat-completions server (Ollama, vLLM, llama.cpp, ...) through the
  client the ranking stage also uses (:class:`sdcomp_lite.lmm_client.OpenAICompatibleClient`);
- ``transformers-vlm``: a vision-language chat model in this process
  (:class:`sdcomp_lite.lmm_client.TransformersVLM`).

The model backends send :data:`IDENTIFY_PROMPT` (after :data:`IDENTIFY_SYSTEM_PROMPT`) and read the reply with
:func:`parse_identify_reply`, which treats the reply as untrusted text (bounded work, capped
counts and lengths, every fix listed) the way :mod:`sdcomp_lite.ranking.parsing` treats rankings.
:class:`IdentifyThenGround` joins an identifier to a grounder that needs a prompt.

Not yet taught in a notebook (notebook 01 grounds with the offline detector, which needs no names).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from PIL import Image

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.grounding.base import Grounder, rgb_array
from sdcomp_lite.registry import Registry, lazy  # noqa: F401 (lazy: an identifier in its own module is one registry line)
from sdcomp_lite.types import SceneObject

IDENTIFY_SYSTEM_PROMPT = "You help an image codec decide what to look for. You name the objects you see in an image."

IDENTIFY_PROMPT = """List the distinct kinds of objects you can see in this image: people, animals, vehicles, furniture,
food, tools and other things a person could point at. Use short common names (one to three words, singular, lower
case, e.g. "dog", "sofa", "coffee cup"), each kind once, most prominent first, at most 30.

Answer with JSON only, no other text:
{"objects": ["<name>", "<name>", ...]}"""

MAX_REPLY_CHARS = 1 << 20  # 30 short names take a few hundred characters; parsing 1 MiB of JSON takes milliseconds
MAX_LABELS = 50  # more names than any grounder prompt uses well
MAX_LABEL_CHARS = 60  # "a short common name"; longer is a sentence, not a label
MAX_DEPTH = 4  # {"result": {"objects": [...]}} is as deep as a usable reply goes
MAX_FENCES = 8  # code fences looked into; a reply of 10,000 fences costs no more
_LIST_KEYS = ("objects", "labels", "names", "items", "classes", "things", "result", "results")
_NAME_KEYS = ("name", "label", "object", "class", "category")
_ARTICLES = ("a ", "an ", "the ")
_FENCE = "```"
OPEN_VOCABULARY = ("owlv2", "grounding-dino")  # grounders (and their "+sam"/"+grabcut" pipelines) that need a prompt


class IdentifyError(SdcompError, ValueError):
    """An identifier's reply named no usable object (the message shows the start of the reply)."""


@dataclass(frozen=True)
class ParsedLabels:
    """What :func:`parse_identify_reply` made of a reply: the labels, and every fix it made."""

    labels: tuple[str, ...]
    repairs: tuple[str, ...]


@dataclass(frozen=True)
class Identification:
    """The result of one identify step.

    Attributes:
        labels: object names, most prominent first, normalised (lower case, single spaces), unique.
        backend: the identifier's name, e.g. ``"offline"`` or ``"openai-compatible"``.
        prompt: the exact prompt sent (empty for the offline backend).
        reply: the raw reply received (empty for the offline backend).
        repairs: what the parser fixed in the reply (duplicates dropped, list cut, ...).
    """

    labels: tuple[str, ...]
    backend: str
    prompt: str = ""
    reply: str = ""
    repairs: tuple[str, ...] = ()


class Identifier(Protocol):
    """An identify backend: ``identify(image) -> list[str]``, and the same with its prompt and reply."""

    name: str

    def identify(self, image) -> list[str]: ...

    def identification(self, image) -> Identification: ...


# --- the parser -----------------------------------------------------------------------------------


def _json_candidates(reply: str) -> list[str]:
    """Texts that may hold the JSON, most likely first: the whole reply, the first
    :data:`MAX_FENCES` fenced blocks (an unclosed fence runs to the end), then from the first ``{``
    or ``[`` to the last matching closer (the outermost structure first)."""
    candidates = [reply.strip()]
    position = reply.find(_FENCE)
    while position >= 0 and len(candidates) <= MAX_FENCES:
        end = reply.find(_FENCE, position + 3)
        block = reply[position + 3 : end if end >= 0 else len(reply)].lstrip()
        candidates.append((block[4:] if block[:4].lower() == "json" else block).strip())
        position = reply.find(_FENCE, end + 3) if end >= 0 else -1
    for start, _, closer in sorted((reply.find(opener), opener, closer) for opener, closer in (("{", "}"), ("[", "]"))):
        end = reply.rfind(closer)
        if 0 <= start < end:
            candidates.append(reply[start : end + 1])
    return candidates


def _entries(data) -> list | None:
    """The names in a JSON value: the value itself if it is a list, else what one of
    :data:`_LIST_KEYS` holds (at most :data:`MAX_DEPTH` levels down): a list, a comma-separated
    string, or an object whose keys are the names (``{"dog": 2}``). ``{"name": "dog"}`` is a list of
    one. None if there is none of these."""
    for depth in range(MAX_DEPTH):
        if isinstance(data, list):
            return data
        if isinstance(data, str) and depth:
            return data.split(",")
        if not isinstance(data, dict):
            return None
        key = next((k for k in _LIST_KEYS if k in data), None)
        if key is None:
            if any(isinstance(data.get(k), str) for k in _NAME_KEYS):
                return [data]
            return list(data) if depth else None
        data = data[key]
    return data if isinstance(data, list) else None


def _bullet(line: str) -> str | None:
    """The name in one Markdown list line ("- dog", "* **sofa**: grey", "1. lamp", "2) cup"), else None."""
    text = line.strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    if text[:1] in ("-", "*", "\u2022"):
        text = text[1:]
    elif 0 < digits <= 3 and text[digits : digits + 1] in (".", ")"):
        text = text[digits + 1 :]
    else:
        return None
    return text.replace("*", " ").split(":")[0]


def normalise_label(text: str) -> str:
    """One label as grounders take it: control and format characters removed, separators that a
    prompt splits on (``, . ;``) made spaces, whitespace collapsed, lower case, no leading article.

    ``"  The Coffee\\tCup.\\n"`` -> ``"coffee cup"``; may return ``""``.
    """
    kept = "".join(" " if c in ",.;" or c.isspace() else c for c in text if unicodedata.category(c)[0] != "C" or c.isspace())
    label = " ".join(kept.split()).lower().strip(" \"'`:!?()[]{}*_")
    for article in _ARTICLES:
        if label.startswith(article):
            label = label[len(article) :]
    return label


def _clean(entries: Iterable, repairs: list[str]) -> list[str]:
    """Normalised, unique labels from JSON entries (strings, or objects with a name), with counts
    of what was dropped added to ``repairs``."""
    labels: list[str] = []
    seen: set[str] = set()
    dropped = {"not a name": 0, "empty": 0, "too long": 0, "repeated": 0, "over the limit": 0}
    for entry in entries:
        if isinstance(entry, dict):
            entry = next((entry[k] for k in _NAME_KEYS if isinstance(entry.get(k), str)), None)
        if not isinstance(entry, str):
            dropped["not a name"] += 1
            continue
        if len(entry) > 4 * MAX_LABEL_CHARS:  # checked before normalising: a 1 MB "label" costs nothing
            dropped["too long"] += 1
            continue
        label = normalise_label(entry)
        reason = ("empty" if not label else "too long" if len(label) > MAX_LABEL_CHARS else "repeated" if label in seen
                  else "over the limit" if len(labels) >= MAX_LABELS else "")
        if reason:
            dropped[reason] += 1
            continue
        labels.append(label)
        seen.add(label)
    notes = {"not a name": "entries that are not names (numbers, null, lists, ...)", "empty": "empty names",
             "too long": f"names longer than {MAX_LABEL_CHARS} characters", "repeated": "repeated names",
             "over the limit": f"names after the first {MAX_LABELS}"}
    repairs += [f"dropped {count} {notes[reason]}" for reason, count in dropped.items() if count]
    return labels


def _load_entries(reply: str) -> tuple[str, list] | None:
    """How the names were found (``"json"`` or ``"list"``) and the raw entries; None if nowhere."""
    for candidate in _json_candidates(reply):
        try:
            data = json.loads(candidate, strict=False)  # strict=False: raw tabs and newlines inside names
        except (ValueError, RecursionError):  # JSONDecodeError, a 5,000-digit integer, nesting too deep
            continue
        entries = _entries(data)
        if entries:
            return "json", entries
    bullets = [name for name in map(_bullet, reply.splitlines()) if name is not None]
    return ("list", bullets) if bullets else None


def parse_identify_reply(reply: str) -> ParsedLabels:
    """Parse a reply such as ``{"objects": ["dog", "sofa"]}`` into normalised, unique labels.

    Also accepted: a bare JSON list, the list under another key (``labels``, ``names``, ``items``,
    ...; a few levels deep at most), entries as objects (``{"name": "dog"}``), JSON in a code fence
    or surrounded by prose, and a Markdown list (``- dog``) when the reply holds no JSON. Labels are
    normalised by :func:`normalise_label`; non-strings, empty, over-long (over
    :data:`MAX_LABEL_CHARS` characters) and repeated names are dropped, and only the first
    :data:`MAX_LABELS` are kept; a reply over :data:`MAX_REPLY_CHARS` characters is cut. Every fix
    is listed in ``repairs``. Raises :class:`IdentifyError` (showing the reply's start) when no
    usable name is found.
    """
    if not isinstance(reply, str):
        raise IdentifyError(f"the reply must be text (str), got {type(reply).__name__}")
    repairs: list[str] = []
    if len(reply) > MAX_REPLY_CHARS:
        repairs.append(f"cut the reply from {len(reply)} to its first {MAX_REPLY_CHARS} characters")
        reply = reply[:MAX_REPLY_CHARS]
    found = _load_entries(reply)
    labels = _clean(found[1], repairs) if found else []
    if not labels:
        shown = " ".join(reply[:160].split())
        raise IdentifyError(
            f"the model named no usable object; it replied: {shown!r}{'...' if len(reply) > 160 else ''}. "
            'It should answer {"objects": ["dog", "sofa"]}: use a vision-language model, or give the objects '
            "(--objects) or a grounder that needs no labels."
        )
    if found[0] == "list":
        repairs.insert(0, "read the names from a Markdown list (the reply holds no JSON)")
    return ParsedLabels(tuple(labels), tuple(repairs))


# --- the backends ---------------------------------------------------------------------------------


def identify_with_model(name: str, ask, image) -> Identification:
    """Send :data:`IDENTIFY_PROMPT` with ``image`` through ``ask(pil_image, prompt) -> str``, parse the reply."""
    picture = Image.fromarray(rgb_array(image))
    reply = ask(picture, IDENTIFY_PROMPT)
    parsed = parse_identify_reply(reply)
    return Identification(parsed.labels, name, IDENTIFY_PROMPT, reply, parsed.repairs)


def labels_of(objects: Iterable[SceneObject]) -> list[str]:
    """The objects' labels, normalised, unique, in the objects' order (empty labels skipped)."""
    labels: list[str] = []
    for obj in objects:
        label = normalise_label(obj.label)
        if label and label not in labels:
            labels.append(label)
    return labels


class OfflineIdentifier:
    """The labels an offline grounder finds (default ``"offline"``: the detector's COCO names and
    MediaPipe's people and faces), unique, in the grounder's order. May be empty."""

    name = "offline"

    def __init__(self, grounder: str = "offline", **options) -> None:
        from sdcomp_lite.grounding.registry import get_grounder

        self.grounder = get_grounder(grounder, **options)

    def identification(self, image) -> Identification:
        return Identification(tuple(labels_of(self.grounder.ground(image))), self.name)

    def identify(self, image) -> list[str]:
        """Labels found in ``image`` (PIL, path or uint8 array (H, W[, C]))."""
        return list(self.identification(image).labels)


class ModelIdentifier:
    """Asks a model for the objects it sees through ``ask(pil_image, prompt) -> str`` (a client of
    :mod:`sdcomp_lite.lmm_client` with :data:`IDENTIFY_SYSTEM_PROMPT` as its system message)."""

    def __init__(self, ask: Callable[[Image.Image, str], str], name: str, client=None) -> None:
        self.ask = ask
        self.name = name
        self.client = client

    def __repr__(self) -> str:
        return f"ModelIdentifier({self.name!r}, {self.client!r})"

    def identification(self, image) -> Identification:
        return identify_with_model(self.name, self.ask, image)

    def identify(self, image) -> list[str]:
        """Labels the model names for ``image``; raises :class:`IdentifyError` if it names none."""
        return list(self.identification(image).labels)


def _openai_compatible(base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                       **options) -> ModelIdentifier:
    """The shared chat-completions client (timeouts, size caps, key handling), asked to identify."""
    from sdcomp_lite.lmm_client import OpenAICompatibleClient

    client = OpenAICompatibleClient(base_url, model, api_key, purpose="the openai-compatible identifier", **options)
    return ModelIdentifier(partial(client.ask, system=IDENTIFY_SYSTEM_PROMPT), "openai-compatible", client)


def _transformers_vlm(model: str, **options) -> ModelIdentifier:
    """A vision-language model in this process (greedy decoding), asked to identify."""
    from sdcomp_lite.lmm_client import TransformersVLM

    vlm = TransformersVLM(model, **options)
    return ModelIdentifier(partial(vlm.ask, system=IDENTIFY_SYSTEM_PROMPT), "transformers-vlm", vlm)


IDENTIFIERS: Registry[Identifier] = Registry("identifier")
IDENTIFIERS.add("offline", "the labels the offline grounder finds (grounder= another grounder name)", OfflineIdentifier)
IDENTIFIERS.add("openai-compatible", "ask a chat-completions server (base_url=, model=, or SDCOMP_LMM_* variables)",
                _openai_compatible)
IDENTIFIERS.add("transformers-vlm", "ask a vision-language model via transformers (model= local folder or hub id)",
                _transformers_vlm)


def get_identifier(name: str, **options) -> Identifier:
    """The identifier called ``name`` (``offline``, ``openai-compatible``, ``transformers-vlm``);
    ``options`` go to its constructor. Unknown names raise :class:`~sdcomp_lite.errors.UnknownBackendError`."""
    return IDENTIFIERS.get(name, **options)


# --- identify, then ground ------------------------------------------------------------------------


def needs_labels(grounder: Grounder) -> bool:
    """Whether ``grounder`` finds nothing without a prompt naming what to find: its ``needs_prompt``
    attribute if it has one, else whether its name starts with an open-vocabulary detector of
    :data:`OPEN_VOCABULARY` (``"owlv2"``, ``"grounding-dino+sam"``, ...)."""
    declared = getattr(grounder, "needs_prompt", None)
    if isinstance(declared, bool):
        return declared
    return str(getattr(grounder, "name", "")).split("+")[0] in OPEN_VOCABULARY


def labels_to_prompt(labels: Iterable[str]) -> str:
    """``["dog", "coffee cup"]`` -> ``"dog, coffee cup"``: the prompt grounders split on commas."""
    return ", ".join(normalise_label(label) for label in labels if normalise_label(label))


class IdentifyThenGround:
    """A grounder that, when given no prompt, asks ``identifier`` what is in the image and grounds those
    names: ``IdentifyThenGround(get_identifier("offline"), get_grounder("owlv2", model=folder))``.

    A prompt given to :meth:`ground` is used as it is (no identify step). When the identifier names
    nothing, nothing is grounded (an empty list). :meth:`identify_and_ground` also returns the
    identification (labels, prompt, reply).
    """

    def __init__(self, identifier: Identifier, grounder: Grounder) -> None:
        self.identifier = identifier
        self.grounder = grounder
        self.name = grounder.name

    def identify_and_ground(self, image, prompt: str | None = None) -> tuple[Identification | None, list[SceneObject]]:
        """The identification (None when ``prompt`` was given) and the grounded objects."""
        if prompt:
            return None, self.grounder.ground(image, prompt)
        found = self.identifier.identification(image)
        return found, (self.grounder.ground(image, labels_to_prompt(found.labels)) if found.labels else [])

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        """The grounder's objects for ``prompt``, or for the identified labels when no prompt is given."""
        return self.identify_and_ground(image, prompt)[1]
