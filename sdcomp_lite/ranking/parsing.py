"""A forgiving parser for rankers' replies: accept what can be used, repair what can be repaired,
and say exactly what it did."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sdcomp_lite.ranking.base import RankingError, scores_from_order

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ParsedReply:
    order: tuple[int, ...]
    scores: dict[int, float]
    reasons: dict[int, str]
    repairs: tuple[str, ...]


def _json_candidates(reply: str) -> list[str]:
    candidates = [block.strip() for block in _FENCE.findall(reply)]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = reply.find(opener), reply.rfind(closer)
        if 0 <= start < end:
            candidates.append(reply[start : end + 1])
    candidates.append(reply.strip())
    return candidates


def _load(reply: str):
    for candidate in _json_candidates(reply):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    return None


def _entries(data) -> list:
    if isinstance(data, dict):
        for key in ("ranking", "ranked", "order", "objects", "ids", "result"):
            if key in data:
                return _entries(data[key])
        return []
    return list(data) if isinstance(data, list) else []


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*[#\[(]?\s*(\d+)\s*[\])]?\s*", value)
        return int(match.group(1)) if match else None
    return None


def parse_ranking_reply(reply: str, object_ids: list[int], fallback_order: list[int] | None = None) -> ParsedReply:
    """Parse a reply such as ``{"ranking": [{"id": 3, "score": 0.9, "reason": "..."}, ...]}``.

    Also accepted: a bare list of ids or of such entries, JSON inside a code fence or surrounded by
    prose, ids as strings (``"3"``, ``"#3"``, ``"[3]"``). Unknown and repeated ids are dropped;
    objects the reply left out are appended in ``fallback_order`` (default: the given order);
    missing or malformed scores are replaced by evenly spaced ones. Every fix is listed in
    ``repairs``. Raises :class:`RankingError` when no known id can be found.
    """
    known = list(object_ids)
    fallback = [i for i in (fallback_order or known) if i in set(known)]
    data = _load(reply)
    if data is None:
        raise RankingError(f"the reply holds no JSON; it starts: {reply[:160]!r}")
    order, scores, reasons, repairs = [], {}, {}, []
    for entry in _entries(data):
        raw_id = entry.get("id", entry.get("object_id")) if isinstance(entry, dict) else entry
        object_id = _as_id(raw_id)
        if object_id is None or object_id not in known:
            repairs.append(f"dropped unknown id {raw_id!r}")
            continue
        if object_id in order:
            repairs.append(f"dropped repeated id {object_id}")
            continue
        order.append(object_id)
        if isinstance(entry, dict):
            score = entry.get("score", entry.get("importance"))
            if isinstance(score, (int, float)) and not isinstance(score, bool):
                scores[object_id] = min(max(float(score), 0.0), 1.0)
            if isinstance(entry.get("reason"), str):
                reasons[object_id] = entry["reason"].strip()
    if not order:
        raise RankingError(f"the reply names none of the objects {known}; it starts: {reply[:160]!r}")
    missing = [i for i in fallback if i not in order]
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
