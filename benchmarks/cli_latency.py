"""How long the light entry points take to answer, against ``python -c "import numpy, PIL"`` in the same run.

Each command runs in a fresh interpreter, ``--runs`` times, the commands taking turns (so a busy
machine slows all of them alike); the table gives the median wall time and its ratio to the
baseline. The ``inspect`` file is coffee.png with its annotations, coded with the defaults.
Writes benchmarks/results/cli_latency.md (and prints it).

Run from the repository root:  python benchmarks/cli_latency.py --runs 11
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def commands(sdc: Path) -> dict[str, list[str]]:
    """The timed commands, by the name the table shows (the baseline first)."""
    python = sys.executable
    return {
        'python -c "import numpy, PIL"': [python, "-c", "import numpy, PIL"],
        "sdcomp-lite --help": [python, "-m", "sdcomp_lite.cli", "--help"],
        "sdcomp-lite inspect coffee.sdc": [python, "-m", "sdcomp_lite.cli", "inspect", str(sdc)],
        "import sdcomp_lite.ranking.parsing": [python, "-c", "import sdcomp_lite.ranking.parsing"],
        "import sdcomp_lite.coding.layered (the codec, for scale)": [python, "-c", "import sdcomp_lite.coding.layered"],
    }


def sample_file(folder: Path) -> Path:
    """coffee.png and its annotated objects, coded with the default settings."""
    from sdcomp_lite import encode, load_sample

    sample = load_sample("coffee")
    path = folder / "coffee.sdc"
    path.write_bytes(encode(sample.image, list(sample.objects)).data)
    return path


def measure(runs: int) -> dict[str, list[float]]:
    """Wall seconds of every run of every command."""
    with tempfile.TemporaryDirectory() as folder:
        timed = commands(sample_file(Path(folder)))
        seconds: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(runs):
            for name, argv in timed.items():
                started = time.perf_counter()
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                seconds[name].append(time.perf_counter() - started)
    return seconds


def table(seconds: dict[str, list[float]], runs: int) -> str:
    """The Markdown report: median seconds and the ratio to the baseline (the first command)."""
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    baseline = next(iter(medians.values()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# CLI latency",
        "",
        f"{date.today().isoformat()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; median of {runs} runs each, in turns "
        "(`python benchmarks/cli_latency.py`).",
        "",
        "| command | median (s) | min (s) | x baseline |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, median in medians.items():
        lines.append(f"| `{name}` | {median:.3f} | {min(seconds[name]):.3f} | {median / baseline:.2f} |")
    lines += ["", "The last row is the anchor: before the package's names were imported lazily (commit 91f9c8e), "
              "`--help`, `inspect` and the reply parser each imported the codec, and with it torch and CompressAI "
              "(issue 19 measured 8.8 s, 7 s and 6 s on a busy 2-core machine)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs of each command (default 11)")
    args = parser.parse_args()
    report = table(measure(args.runs), args.runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli_latency.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
