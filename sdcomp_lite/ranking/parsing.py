"""A forgiving parser for rankers' replies: accept what can be used, repair what can be repaired,
and say exactly what it did.

The reply is untrusted text (a model wrote it), so parsing is bounded: at most
:data:`MAX_REPLY_CHARS` characters are read (a longer reply is cut, with a repair note), code
fences are found with ``str.find`` (no regular expression that could backtrack), nesting too deep
for ``json`` is treated as no JSON, and ids must be whole numbers in ``[0, 2**32)``. Whatever the
input, the parser either returns a :class:`ParsedReply` or raises :class:`RankingError`.

Taught in notebooks/02_lmm_ranking.ipynb (a messy reply and its repairs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from sdcomp_lite.ranking.base import RankingError, scores_from_order

MAX_REPLY_CHARS = 65_536  # a ranking of hundreds of objects with reasons fits easily
MAX_ID = 2**32 - 1  # object ids are u32 in the bitstream
_LIST_KEYS = ("ranking", "ranked", "order", "objects", "ids", "result")
_FENCE = "```"


@dataclass(frozen=True)
class ParsedReply:
    order: tuple[int, ...]
    scores: dict[int, float]
    reasons: dict[int, str]
    repairs: tuple[str, ...]


def _json_candidates(reply: str) -> list[str]:
    """Texts that may hold the JSON, most likely first: the whole reply, each fenced block (an
    unclosed fence runs to the end), then from the first ``{`` or ``[`` to the last matching closer."""
    candidates = [reply.strip()]
    position = reply.find(_FENCE)
    while position >= 0:
        end = reply.find(_FENCE, position + 3)
        block = reply[position + 3 : end if end >= 0 else len(reply)].lstrip()
        candidates.append((block[4:] if block[:4].lower() == "json" else block).strip())
        position = reply.find(_FENCE, end + 3) if end >= 0 else -1
    spans = sorted((reply.find(opener), opener, closer) for opener, closer in (("{", "}"), ("[", "]")))
    for start, _, closer in spans:  # the outermost structure first: [{"id": 7}] is a list, not its entry
        end = reply.rfind(closer)
        if 0 <= start < end:
            candidates.append(reply[start : end + 1])
    return candidates


def _load(reply: str) -> tuple[bool, list]:
    """Whether any candidate is JSON, and the entries of the first one that holds a list of them."""
    found = False
    for candidate in _json_candidates(reply):
        try:
            data = json.loads(candidate)
        except (ValueError, RecursionError):  # JSONDecodeError, an integer of over 4300 digits, deep nesting
            continue
        found = True
        entries = _entries(data)
        if entries:
            return True, entries
    return found, []


def _entries(data) -> list:
    """The list of entries: the value itself, or under one of a few keys (a few levels deep at most);
    a lone ``{"id": ...}`` object is a list of one."""
    for _ in range(4):
        if not isinstance(data, dict):
            break
        key = next((k for k in _LIST_KEYS if k in data), None)
        if key is None:
            return [data] if ("id" in data or "object_id" in data) else []
        data = data[key]
    return list(data) if isinstance(data, list) else []


def _as_id(value) -> int | None:
    """A whole number in [0, MAX_ID] from an int, a whole float or a string such as "3", "#3" or "[3]"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            return None
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        text = text[1:].strip() if text[:1] in ("#", "[", "(") else text
        text = text[:-1].strip() if text[-1:] in ("]", ")") else text
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            return None
        value = int(text)
    if isinstance(value, int) and 0 <= value <= MAX_ID:
        return value
    return None


def _show(value) -> str:
    """A short, safe description of a JSON value for a repair note (never a huge or deep repr)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return "<a JSON object>" if isinstance(value, dict) else "<a JSON array>"


def _score(value) -> float | None:
    """A score clipped to [0, 1]; None unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):  # may have thousands of digits: compare, never convert first
        return 1.0 if value > 1 else 0.0 if value < 0 else float(value)
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else None


def parse_ranking_reply(reply: str, object_ids: list[int], fallback_order: list[int] | None = None) -> ParsedReply:
    """Parse a reply such as ``{"ranking": [{"id": 3, "score": 0.9, "reason": "..."}, ...]}``.

    Also accepted: a bare list of ids or of such entries (one entry is enough), JSON inside a code
    fence or surrounded by prose, ids as strings (``"3"``, ``"#3"``, ``"[3]"``) or whole floats
    (``3.0``). Unknown, repeated and non-whole ids (``1.5``) are dropped; objects the reply left out
    are appended in ``fallback_order`` (default: the given order); missing or malformed scores are
    replaced by evenly spaced ones; a reply over :data:`MAX_REPLY_CHARS` characters is cut. Every
    fix is listed in ``repairs``. Raises :class:`RankingError` when no known id can be found.
    """
    if not isinstance(reply, str):
        raise RankingError(f"the reply must be text (str), got {type(reply).__name__}")
    known = list(object_ids)
    known_set = set(known)
    fallback = [i for i in (fallback_order or known) if i in known_set]
    repairs: list[str] = []
    if len(reply) > MAX_REPLY_CHARS:
        repairs.append(f"cut the reply from {len(reply)} to its first {MAX_REPLY_CHARS} characters")
        reply = reply[:MAX_REPLY_CHARS]
    found, entries = _load(reply)
    if not found:
        raise RankingError(f"the reply holds no JSON; it starts: {reply[:160]!r}")
    order: list[int] = []
    scores: dict[int, float] = {}
    reasons: dict[int, str] = {}
    seen: set[int] = set()
    for entry in entries:
        raw_id = entry.get("id", entry.get("object_id")) if isinstance(entry, dict) else entry
        object_id = _as_id(raw_id)
        if isinstance(raw_id, float) and object_id is None:
            repairs.append(f"dropped id {_show(raw_id)}: not a whole number")
            continue
        if object_id is None or object_id not in known_set:
            repairs.append(f"dropped unknown id {_show(raw_id)}")
            continue
        if object_id in seen:
            repairs.append(f"dropped repeated id {object_id}")
            continue
        order.append(object_id)
        seen.add(object_id)
        if isinstance(entry, dict):
            score = _score(entry.get("score", entry.get("importance")))
            if score is not None:
                scores[object_id] = score
            if isinstance(entry.get("reason"), str):
                reasons[object_id] = entry["reason"].strip()
    if not order:
        raise RankingError(f"the reply names none of the objects {known}; it starts: {reply[:160]!r}")
    missing = [i for i in fallback if i not in seen]
    if missing:
        repairs.append(f"appended unranked ids {missing} in fallback order")
        order += missing
    return ParsedReply(tuple(order), _monotone_scores(order, scores, repairs), reasons, tuple(repairs))


def _monotone_scores(order: list[int], given: dict[int, float], repairs: list[str]) -> dict[int, float]:
    """Scores that never increase along the order; evenly spaced where the reply gave none or
    gave scores that contradict its own order."""
    values = [given.get(i) for i in order]
    usable = all(v is not None for v in values) and all(a >= b for a, b in zip(values, values[1:]))
    if usable:
        return dict(zip(order, values))
    if given:
        repairs.append("replaced scores that were missing or out of order by evenly spaced ones")
    return scores_from_order(order)
