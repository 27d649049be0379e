"""How often each offline ranker puts an expected object first, on data/ranking_cases.json.

Writes benchmarks/results/ranking.md. Run from the repository root: python benchmarks/ranking.py
"""

from __future__ import annotations

import time
from pathlib import Path

from sdcomp_lite.ranking import get_ranker
from sdcomp_lite.ranking.cases import load_ranking_cases, run_cases, top1_accuracy

RESULTS = Path(__file__).resolve().parent / "results"
RANKERS = ("offline", "area", "detector-score", "annotation-order", "random")


def main() -> None:
    cases = load_ranking_cases()
    lines = ["# Rankers on the hand-written cases", "",
             f"{len(cases)} cases (data/ranking_cases.json); objects are the annotated ones; 'top-1' = the first "
             "object is one of the expected ones. No LMM runs offline: 'offline' is the embedding ranker.", "",
             "| ranker | top-1 | s / case |", "| --- | --- | --- |"]
    details = {}
    for name in RANKERS:
        ranker = get_ranker(name)
        start = time.perf_counter()
        results = run_cases(ranker, cases)
        seconds = (time.perf_counter() - start) / len(cases)
        right = sum(r.top_is_expected for r in results)
        lines.append(f"| {name} | {top1_accuracy(results):.2f} ({right}/{len(cases)}) | {seconds:.3f} |")
        details[name] = results
    lines += ["", "## Offline ranker, case by case", "",
              "| image | task | first | expected | ok |", "| --- | --- | --- | --- | --- |"]
    for r in details["offline"]:
        lines.append(f"| {r.case.image} | {r.case.task} | {r.ranked_labels[0]} | {', '.join(r.case.expected_top)} | "
                     f"{'yes' if r.top_is_expected else 'no'} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ranking.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
