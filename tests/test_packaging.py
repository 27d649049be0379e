"""pyproject.toml and environment.yml declare the same stack; the CLI and notebooks are all there."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_every_pyproject_requirement():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    listed = {_name(line.strip().lstrip("- ")) for line in (ROOT / "environment.yml").read_text().splitlines()
              if line.strip().startswith("- ") and not line.strip().startswith("- -e")}
    assert wanted - listed == set(), f"missing from environment.yml: {wanted - listed}"


def test_pins_agree():
    pyproject = (ROOT / "pyproject.toml").read_text()
    environment = (ROOT / "environment.yml").read_text()
    for pin in ("torch==2.14.1", "torchvision==0.29.1", "compressai==1.2.8", "mediapipe==0.10.14", "jax==0.4.30"):
        assert pin in pyproject and pin in environment


def test_the_notebook_sequence_is_complete():
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert names == ["00_quickstart", "01_grounding", "02_lmm_ranking", "03_structured_entropy_coding",
                     "04_progressive_decoding", "05_task_evaluation", "06_bring_your_own_models",
                     "07_learned_coding"]


def test_readme_starts_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1 : readme.index("```bash") + 3]
    assert block[0].endswith("sdcomp-lite demo")
    assert block[1] in (ROOT / ".ci" / "run").read_text()
