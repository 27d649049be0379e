"""The committed notebooks: executed top to bottom, with no error and nothing on stderr.

nbval (run by the same pytest command) re-executes each notebook and compares its outputs with
these committed ones, so a cell that starts writing to stderr or failing is caught there too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_course_numbers_its_notebooks_from_00_without_gaps():
    numbers = [path.name[:2] for path in NOTEBOOKS]
    assert len(numbers) >= 7 and numbers == [f"{i:02d}" for i in range(len(numbers))], numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_outputs_have_no_error_and_no_stderr(path):
    cells = [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in cells]
    assert None not in counts and counts == sorted(counts), f"{path.name}: run every cell in order, top to bottom"
    for number, cell in enumerate(cells):
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{path.name}, code cell {number}: {output.get('ename')}"
            text = "".join(output.get("text", ""))[:200]
            assert output.get("name") != "stderr", f"{path.name}, code cell {number} writes to stderr: {text}"
