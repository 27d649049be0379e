"""Every exercise's check passes on the solution printed in its notebook, run as pasted (the Solution
block's code in a namespace holding only the notebook's imports), fails on a wrong answer with a
hint, stays quiet on the placeholder, and the notebook's block shows the library's solution verbatim."""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
from pathlib import Path

import pytest

from sdcomp_lite import exercises as ex
from sdcomp_lite.coding import encode
from sdcomp_lite.data import load_sample
from sdcomp_lite.evaluation.tasks import get_task
from sdcomp_lite.ranking.baselines import AreaRanker

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def context():
    from sdcomp_lite.grounding import get_grounder
    from sdcomp_lite.ranking import get_ranker

    astronaut, coffee = load_sample("astronaut"), load_sample("coffee")
    by_label = {o.label: o for o in astronaut.objects}
    cup = next(o for o in coffee.objects if o.label == "cup")
    found = get_grounder("offline").ground(astronaut.image)  # 02's objects: found by the detector, not annotated
    return {"astronaut": astronaut, "coffee": coffee, "cup": cup, "person": by_label["person"], "found": found,
            "face": by_label["face"], "ranker": get_ranker("offline"), "ids": [o.object_id for o in astronaut.objects]}


def _nothing(*args, **kwargs):
    return None


_QUICKSTART = {"person": 0.9, "helmet": 0.8, "face": 0.7, "space shuttle model": 0.4, "flag": 0.1}  # importances by hand


def _first_layer_only(encoded, label):  # a wrong bytes_until: stops at the first of two objects with one label
    rows = [layer.index for layer in encoded.layers if layer.label == label]
    return encoded.prefix_bytes(min(rows) + 1) if rows else None


def _astronaut(c):  # (image, objects) of notebooks 00 and 04
    return c["astronaut"].image, list(c["astronaut"].objects)


# 05's sweep rows, made by hand: the random ranking needs exactly twice the offline ranking's rate
_SWEEP_ROWS = [{"image": "astronaut", "codec": "sdcomp-lite", "variant": f"{ranker} bq=2 bs=4", "quality": q, "layers": n,
                "bytes": 0, "bpp": k * 0.01 * q * n, "task": "person-segmentation", "reference": "pseudo",
                "metric": "miou", "value": 0.5 + 0.1 * q + 0.05 * n}
               for ranker, k in (("offline", 1), ("random", 2)) for q in (1, 2, 3) for n in (1, 2)]


# 07's exercise 2: name -> (bpp, MSE on pixels in [0, 1])
_CHECKPOINTS = {"a": (0.232, 302.6 / 255**2), "b": (0.345, 277.5 / 255**2), "c": (0.404, 291.9 / 255**2)}


# name -> (check with the solution s, check with a wrong answer, check with the placeholder); each takes the context,
# the first also the solution: the function the notebook's Solution block defines, run as pasted (_pasted_solution)
CASES = {
    "box_iou": (
        lambda c, s: ex.check_box_iou(s),
        lambda c: ex.check_box_iou(lambda a, b: (min(a[2], b[2]) - max(a[0], b[0]) + 1) / 100),  # off by one
        lambda c: ex.check_box_iou(_nothing),
    ),
    "grabcut_box": (
        lambda c, s: ex.check_grabcut_box(s(c["cup"].box), c["coffee"].image, c["cup"].mask),
        lambda c: ex.check_grabcut_box(c["cup"].box, c["coffee"].image, c["cup"].mask),  # the tight box: 0.672
        lambda c: ex.check_grabcut_box(None, c["coffee"].image, c["cup"].mask),
    ),
    "face_pixels": (
        lambda c, s: ex.check_face_pixels(s(c["person"].mask, c["face"].mask),
                                       c["astronaut"].image, c["person"], c["face"]),
        lambda c: ex.check_face_pixels((c["face"].area, c["face"].area), c["astronaut"].image, c["person"], c["face"]),
        lambda c: ex.check_face_pixels(None, c["astronaut"].image, c["person"], c["face"]),
    ),
    "task_puts_first": (
        lambda c, s: [ex.check_task_puts_first(s(label), label, c["ranker"], c["astronaut"].image, c["found"])
                      for label in ("chair", "face")],
        lambda c: ex.check_task_puts_first("Is the astronaut smiling?", "face", c["ranker"], c["astronaut"].image, c["found"]),
        lambda c: ex.check_task_puts_first(None, "face", c["ranker"], c["astronaut"].image, c["found"]),
    ),
    "importance": (
        lambda c, s: ex.check_importance(s, c["ranker"], c["astronaut"].image, c["astronaut"].objects),
        lambda c: ex.check_importance(lambda s, z, m, general=False: 0.6 * s + 0.25 * z + 0.15 * m,  # no renormalising
                                      c["ranker"], c["astronaut"].image, c["astronaut"].objects),
        lambda c: ex.check_importance(_nothing, c["ranker"], c["astronaut"].image, c["astronaut"].objects),
    ),
    "kendall_tau": (
        lambda c, s: ex.check_kendall_tau(s),
        lambda c: ex.check_kendall_tau(lambda a, b: sum(x == y for x, y in zip(a, b)) / len(a)),
        lambda c: ex.check_kendall_tau(_nothing),
    ),
    "clean_reply": (
        lambda c, s: ex.check_clean_reply(s(c["ids"], 4), c["ids"], 4),
        lambda c: ex.check_clean_reply('{"ranking": [{"id": 4, "score": 1}, {"id": 1, "score": 0.5}]}', c["ids"], 4),
        lambda c: ex.check_clean_reply(None, c["ids"], 4),
    ),
    "rans_push": (
        lambda c, s: ex.check_rans_push(s),
        lambda c: ex.check_rans_push(lambda x, f, cum: (x // f) * 2**16 + cum),  # forgets x % f
        lambda c: ex.check_rans_push(_nothing),
    ),
    "laplace_gap": (
        lambda c, s: ex.check_laplace_gap(s(ex.laplace_symbols())),
        lambda c: ex.check_laplace_gap(0.0),
        lambda c: ex.check_laplace_gap(None),
    ),
    "noise_mask_bytes": (
        lambda c, s: ex.check_noise_mask_bytes(s(ex.noise_mask())),
        lambda c: ex.check_noise_mask_bytes(100 * 100),  # one byte per pixel
        lambda c: ex.check_noise_mask_bytes(None),
    ),
    "pareto_front": (
        lambda c, s: ex.check_pareto_front(s),
        lambda c: ex.check_pareto_front(lambda points: sorted(points)),  # keeps dominated points
        lambda c: ex.check_pareto_front(_nothing),
    ),
    "bytes_until": (
        lambda c, s: ex.check_bytes_until(s),
        lambda c: ex.check_bytes_until(_first_layer_only),
        lambda c: ex.check_bytes_until(_nothing),
    ),
    "budget_quality": (
        lambda c, s: ex.check_budget_quality(s(*_astronaut(c), ex.BUDGET_BYTES), *_astronaut(c)),
        lambda c: ex.check_budget_quality(100, *_astronaut(c)),
        lambda c: ex.check_budget_quality(None, *_astronaut(c)),
    ),
    "face_bytes": (
        lambda c, s: ex.check_face_bytes(s(*_astronaut(c), c["ranker"], get_task("face-detection")),
                                      *_astronaut(c), c["ranker"], get_task("face-detection")),
        lambda c: ex.check_face_bytes(1000, *_astronaut(c), c["ranker"], get_task("face-detection")),
        lambda c: ex.check_face_bytes(None, *_astronaut(c), c["ranker"], get_task("face-detection")),
    ),
    "layers_in_prefix": (
        lambda c, s: ex.check_layers_in_prefix(s, encode(*_astronaut(c), quality=30)),
        lambda c: ex.check_layers_in_prefix(lambda e, n: sum(e.prefix_bytes(k) < n for k in range(1, len(e.layers) + 1)),
                                            encode(*_astronaut(c), quality=30)),  # off by one at a layer's end
        lambda c: ex.check_layers_in_prefix(_nothing, encode(*_astronaut(c), quality=30)),
    ),
    "segmentation_order": (
        lambda c, s: ex.check_segmentation_order(s(), *_astronaut(c), get_task("person-segmentation")),
        lambda c: ex.check_segmentation_order(dict(_QUICKSTART, helmet=0.0), *_astronaut(c),  # the helmet last
                                              get_task("person-segmentation")),
        lambda c: ex.check_segmentation_order(None, *_astronaut(c), get_task("person-segmentation")),
    ),
    "keyword_ranker": (
        lambda c, s: ex.check_keyword_ranker(s(), c["coffee"].image, c["coffee"].objects),
        lambda c: ex.check_keyword_ranker(AreaRanker(), c["coffee"].image, c["coffee"].objects),  # ignores the task
        lambda c: ex.check_keyword_ranker(type("Blank", (), {"name": "blank", "rank": _nothing})(), c["coffee"].image,
                                          c["coffee"].objects),
    ),
    "bd_rate_by_hand": (
        lambda c, s: ex.check_bd_rate_by_hand(s),
        lambda c: ex.check_bd_rate_by_hand(  # the ratio of mean rates: right for twice the rate, wrong elsewhere
            lambda a, t: 100 * (sum(r for r, _ in t) / len(t) / (sum(r for r, _ in a) / len(a)) - 1)),
        lambda c: ex.check_bd_rate_by_hand(_nothing),
    ),
    "ranking_bd_rate": (
        lambda c, s: ex.check_ranking_bd_rate(s(_SWEEP_ROWS), _SWEEP_ROWS),
        lambda c: ex.check_ranking_bd_rate(-50.0, _SWEEP_ROWS),  # anchor and test swapped: random costs +100%
        lambda c: ex.check_ranking_bd_rate(None, _SWEEP_ROWS),
    ),
    "cheapest_setting": (
        lambda c, s: ex.check_cheapest_setting(s(_SWEEP_ROWS, 0.8), _SWEEP_ROWS, 0.8),
        lambda c: ex.check_cheapest_setting((3, 2), _SWEEP_ROWS, 0.8),  # all layers: reaches 0.9, but dearer
        lambda c: ex.check_cheapest_setting(None, _SWEEP_ROWS, 0.8),
    ),
    "bits_per_pixel": (
        lambda c, s: ex.check_bits_per_pixel(s),
        lambda c: ex.check_bits_per_pixel(  # divides by the channels too
            lambda likelihoods, shape: ex.solution_bits_per_pixel(likelihoods, shape) / 3),
        lambda c: ex.check_bits_per_pixel(_nothing),
    ),
    "best_checkpoint": (
        lambda c, s: ex.check_best_checkpoint(s, _CHECKPOINTS),
        lambda c: ex.check_best_checkpoint(  # forgets the 255**2
            lambda points, lmbda: min(points, key=lambda n: points[n][0] + lmbda * points[n][1]), _CHECKPOINTS),
        lambda c: ex.check_best_checkpoint(_nothing, _CHECKPOINTS),
    ),
}


def test_every_exercise_has_a_case_a_check_a_solution_and_a_notebook():
    checks = {n[len("check_"):] for n in dir(ex) if n.startswith("check_")}
    solutions = {n[len("solution_"):] for n in dir(ex) if n.startswith("solution_")}
    assert checks == solutions == set(CASES) == set(ex.EXERCISE_NOTEBOOKS)


def _solution_blocks(notebook: str) -> list[str]:
    return re.findall(r"<details><summary>Solution</summary>(.*?)</details>", _markdown(notebook), re.DOTALL)


def _notebook_imports(notebook: str) -> str:
    """Every top-level import statement of the notebook's code cells, in order (IPython magics dropped)."""
    lines = []
    for source, _ in _code_cells(notebook):
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(lines)


def _pasted_solution(name: str):
    """``solution_<name>`` as a student who pastes the notebook's Solution block gets it: the block's Python
    code run in a namespace holding only what the notebook's own import lines import."""
    notebook = ex.EXERCISE_NOTEBOOKS[name]
    defined = (f"solution_{name}", "Solution" + "".join(word.title() for word in name.split("_")))  # a function or a class
    codes = [code for block in _solution_blocks(notebook) for code in re.findall(r"```python\n(.*?)```", block, re.DOTALL)
             if re.search(rf"^(def|class) ({'|'.join(defined)})\b", code, re.MULTILINE)]
    assert len(codes) == 1, f"{notebook}: want one Solution block defining one of {defined}, found {len(codes)}"
    namespace: dict = {"__name__": f"pasted_{name}"}
    exec(compile(_notebook_imports(notebook), f"{notebook} imports", "exec"), namespace)  # noqa: S102
    exec(compile(codes[0], f"{notebook} solution_{name}", "exec"), namespace)  # noqa: S102
    return next(namespace[n] for n in defined if n in namespace)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_passes_on_the_solution_as_pasted_from_the_notebook(name, context, capsys):
    CASES[name][0](context, _pasted_solution(name))
    assert "Correct:" in capsys.readouterr().out


def test_a_pasted_solution_runs_with_the_notebooks_imports_only(monkeypatch):
    """The harness is not lenient: a Solution block that uses a module the notebook never imports fails."""
    pasted = _pasted_solution("clean_reply")
    assert json.loads(pasted([1, 2, 3], 2))["ranking"][0]["id"] == 2
    block = "```python\ndef solution_clean_reply(object_ids, first):\n    return json.dumps({})\n```"
    monkeypatch.setattr(sys.modules[__name__], "_solution_blocks", lambda notebook: [block])
    with pytest.raises(NameError, match="json"):
        _pasted_solution("clean_reply")([1], 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_fails_on_a_wrong_answer_with_a_hint(name, context, capsys):
    with pytest.raises(ex.NotYet) as failure:
        CASES[name][1](context)
    assert isinstance(failure.value, AssertionError) and len(str(failure.value)) > 20
    assert "Correct:" not in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CASES))
def test_placeholder_is_not_attempted_and_reveals_nothing(name, context, capsys):
    CASES[name][2](context)
    out = capsys.readouterr().out
    assert out.startswith("Not attempted yet:") and out.count("\n") == 1


def _markdown(notebook: str) -> str:
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _code_cells(notebook: str) -> list[tuple[str, str]]:
    """(source, text output) of every code cell."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    out = []
    for cell in cells:
        if cell["cell_type"] == "code":
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
            out.append(("".join(cell["source"]), text))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_solution_block_shows_the_solution_source(name):
    notebook = ex.EXERCISE_NOTEBOOKS[name]
    source = inspect.getsource(getattr(ex, f"solution_{name}")).strip()
    assert any(source in block for block in _solution_blocks(notebook)), \
        f"{notebook}: no Solution block holds solution_{name} verbatim"


@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_calls_the_check_and_commits_no_answer(name):
    notebook = ex.EXERCISE_NOTEBOOKS[name]
    calls = [(src, out) for src, out in _code_cells(notebook) if f"check_{name}(" in src]
    assert calls, f"{notebook} never calls check_{name}"
    for src, out in calls:
        assert f"solution_{name}" not in src, "the check cell must not use the solution"
        assert "Correct:" not in out and "Not attempted yet:" in out, f"{notebook}: committed output of check_{name}"
