"""The long fuzzing run of the bitstream decoder: outcome counts per class and per mutation kind.

Every case is a real file (tests/fuzzing: seed_files) with one structure-aware mutation and
every CRC recomputed, or raw bytes; each is decoded in a worker process limited to 1 GiB above its
baseline and 5 CPU seconds (fuzzing.DecodePool). The hand-made files of issue 11
(fuzzing.crafted) run too. Writes to benchmarks/results/:
  fuzz_bitstreams.md     counts by outcome, by error class and by mutation kind; the bugs; the crafted files
  fuzz_bitstreams.json   the same, with every bug's traceback

Run from the repository root:  nice -n 10 python benchmarks/fuzz_bitstreams.py --cases 10000 --seed 1
(about 5 minutes on 2 busy cores). A bug is rebuilt with CaseMaker(seed_files(), seed).case(index).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fuzzing cases are test tools, not the package
from fuzzing import BUG_OUTCOMES, OUTCOMES, Case, CaseMaker, DecodePool, seed_files, summarise  # noqa: E402
from fuzzing.crafted import CRAFTED  # noqa: E402
from fuzzing.runner import bug_lines, fuzz_arguments  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run(cases: int, seed: int, workers: int, timeout: float, memory_mib: int) -> dict:
    """Fuzz ``cases`` cases of ``seed``, then the crafted files; the summary as a plain dict."""
    seeds = seed_files()
    maker = CaseMaker(seeds, seed)
    started = time.monotonic()
    with DecodePool(workers=workers, timeout=timeout, memory_limit=memory_mib << 20) as pool:
        with tqdm(total=cases, desc="fuzz cases", unit="case") as bar:
            outcomes = pool.run(maker.cases(cases), progress=lambda _: bar.update())
        fuzz_seconds = time.monotonic() - started
        crafted_cases = [Case(k, name, "", make()) for k, (name, make) in enumerate(CRAFTED.items())]
        crafted = pool.run(crafted_cases)
        restarts = pool.restarts
    summary = summarise(outcomes)
    summary.update(
        seed=seed, workers=workers, timeout_cpu_seconds=timeout, memory_limit_mib=memory_mib,
        seconds=round(fuzz_seconds, 1), worker_restarts=restarts, seed_files={n: len(d) for n, d in seeds.items()},
        crafted=[{"name": r.case.kind, "bytes": len(r.case.data), "outcome": r.outcome, "detail": r.detail,
                  "cpu_seconds": round(r.cpu_seconds, 2), "seconds": round(r.seconds, 2)} for r in crafted],
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        date=date.today().isoformat(),
    )
    return summary


def markdown(summary: dict) -> str:
    counts = summary["outcomes"]
    lines = [
        "# Fuzzing the bitstream decoder",
        "",
        f"{summary['cases']} cases (seed {summary['seed']}, {summary['small_cases']} under 1 KB) in "
        f"{summary['seconds']} s with {summary['workers']} workers; limits per case: {summary['timeout_cpu_seconds']} "
        f"CPU s and {summary['memory_limit_mib']} MiB above the worker's baseline. {summary['worker_restarts']} "
        f"worker restarts. {summary['machine']}, {summary['date']}. Made by `benchmarks/fuzz_bitstreams.py`.",
        "",
        "## Outcomes",
        "",
        "| outcome | cases | a bug? |",
        "| --- | ---: | --- |",
        *[f"| {name} | {counts[name]} | {'yes' if name in BUG_OUTCOMES else 'no'} |" for name in OUTCOMES],
        "",
        "| outcome: detail | cases |",
        "| --- | ---: |",
        *[f"| {name} | {count} |" for name, count in summary["details"].items()],
        "",
        "## By mutation kind",
        "",
        "| kind | " + " | ".join(OUTCOMES) + " |",
        "| --- |" + " ---: |" * len(OUTCOMES),
        *[f"| {kind} | " + " | ".join(str(row.get(name, 0)) for name in OUTCOMES) + " |"
          for kind, row in summary["by_kind"].items()],
        "",
        f"Slowest case: {summary['slowest']}.",
        "",
        "## Crafted files (issue 11 and this fuzzer's findings)",
        "",
        "| file | bytes | outcome | detail | CPU s | wall s |",
        "| --- | ---: | --- | --- | ---: | ---: |",
        *[f"| {c['name']} | {c['bytes']} | {c['outcome']} | {c['detail']} | {c['cpu_seconds']} | {c['seconds']} |"
          for c in summary["crafted"]],
        "",
        "## Bugs",
        "",
    ]
    lines += bug_lines(summary["bugs"])
    return "\n".join(lines) + "\n"


def main() -> None:
    args = fuzz_arguments(__doc__.splitlines()[0], 10_000, RESULTS)
    summary = run(args.cases, args.seed, args.workers, args.timeout, args.memory_mib)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz_bitstreams.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.out / "fuzz_bitstreams.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
