"""The hand-written ranking cases in ``data/ranking_cases.json`` and how often a ranker gets them.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sdcomp_lite.data import data_dir, load_sample
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.ranking.base import Ranker


@dataclass(frozen=True)
class RankingCase:
    image: str
    task: str
    expected_top: tuple[str, ...]


@dataclass(frozen=True)
class CaseResult:
    case: RankingCase
    ranked_labels: tuple[str, ...]

    @property
    def top_is_expected(self) -> bool:
        return bool(self.ranked_labels) and self.ranked_labels[0] in self.case.expected_top


def load_ranking_cases(path: str | Path | None = None) -> list[RankingCase]:
    """Read the cases (default: ``data/ranking_cases.json``)."""
    path = Path(path) if path else data_dir() / "ranking_cases.json"
    try:
        raw = json.loads(path.read_text())["cases"]
        return [RankingCase(c["image"], c["task"], tuple(c["expected_top"])) for c in raw]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise DataFileError(f"cannot read ranking cases from {path}: {error}") from error


def run_cases(ranker: Ranker, cases: list[RankingCase]) -> list[CaseResult]:
    """Rank the annotated objects of each case's image for its task."""
    results = []
    for case in cases:
        sample = load_sample(case.image)
        objects = list(sample.objects)
        ranking = ranker.rank(sample.image, objects, case.task)
        results.append(CaseResult(case, tuple(ranking.labels(objects))))
    return results


def top1_accuracy(results: list[CaseResult]) -> float:
    """Fraction of cases whose first object is one of the expected ones."""
    return sum(r.top_is_expected for r in results) / len(results) if results else float("nan")
