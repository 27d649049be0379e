"""Every exercise's check passes on its own solution, fails on a wrong answer, stays quiet on the
placeholder, and the notebook's Solution block shows the solution's source verbatim."""

from __future__ import annotations

import inspect
import json
import re
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
    from sdcomp_lite.ranking import get_ranker

    astronaut, coffee = load_sample("astronaut"), load_sample("coffee")
    by_label = {o.label: o for o in astronaut.objects}
    cup = next(o for o in coffee.objects if o.label == "cup")
    return {"astronaut": astronaut, "coffee": coffee, "cup": cup, "person": by_label["person"],
            "face": by_label["face"], "ranker": get_ranker("offline"), "ids": [o.object_id for o in astronaut.objects]}


def _nothing(*args, **kwargs):
    return None


_QUICKSTART = {"person": 0.9, "helmet": 0.8, "face": 0.7, "space shuttle model": 0.4, "flag": 0.1}  # 00's importances


def _astronaut(c):  # (image, objects) of notebooks 00 and 04
    return c["astronaut"].image, list(c["astronaut"].objects)


# 05's sweep rows, made by hand: the random ranking needs exactly twice the offline ranking's rate
_SWEEP_ROWS = [{"image": "astronaut", "codec": "sdcomp-lite", "variant": f"{ranker} bq=2 bs=4", "quality": q, "layers": n,
                "bytes": 0, "bpp": k * 0.01 * q * n, "task": "person-segmentation", "reference": "pseudo",
                "metric": "miou", "value": 0.5 + 0.1 * q + 0.05 * n}
               for ranker, k in (("offline", 1), ("random", 2)) for q in (1, 2, 3) for n in (1, 2)]


# name -> (check with the solution, check with a wrong answer, check with the placeholder); each takes the context
CASES = {
    "box_iou": (
        lambda c: ex.check_box_iou(ex.solution_box_iou),
        lambda c: ex.check_box_iou(lambda a, b: (min(a[2], b[2]) - max(a[0], b[0]) + 1) / 100),  # off by one
        lambda c: ex.check_box_iou(_nothing),
    ),
    "grabcut_box": (
        lambda c: ex.check_grabcut_box(ex.solution_grabcut_box(c["cup"].box), c["coffee"].image, c["cup"].mask),
        lambda c: ex.check_grabcut_box(c["cup"].box, c["coffee"].image, c["cup"].mask),  # the tight box: 0.672
        lambda c: ex.check_grabcut_box(None, c["coffee"].image, c["cup"].mask),
    ),
    "face_pixels": (
        lambda c: ex.check_face_pixels(ex.solution_face_pixels(c["person"].mask, c["face"].mask),
                                       c["astronaut"].image, c["person"], c["face"]),
        lambda c: ex.check_face_pixels((c["face"].area, c["face"].area), c["astronaut"].image, c["person"], c["face"]),
        lambda c: ex.check_face_pixels(None, c["astronaut"].image, c["person"], c["face"]),
    ),
    "task_puts_first": (
        lambda c: [ex.check_task_puts_first(ex.solution_task_puts_first(label), label, c["ranker"],
                                            c["astronaut"].image, c["astronaut"].objects) for label in ("helmet", "face")],
        lambda c: ex.check_task_puts_first("Is the astronaut smiling?", "face", c["ranker"],
                                           c["astronaut"].image, c["astronaut"].objects),
        lambda c: ex.check_task_puts_first(None, "face", c["ranker"], c["astronaut"].image, c["astronaut"].objects),
    ),
    "importance": (
        lambda c: ex.check_importance(ex.solution_importance, c["ranker"], c["astronaut"].image, c["astronaut"].objects),
        lambda c: ex.check_importance(lambda s, z, m, general=False: 0.6 * s + 0.25 * z + 0.15 * m,  # no renormalising
                                      c["ranker"], c["astronaut"].image, c["astronaut"].objects),
        lambda c: ex.check_importance(_nothing, c["ranker"], c["astronaut"].image, c["astronaut"].objects),
    ),
    "kendall_tau": (
        lambda c: ex.check_kendall_tau(ex.solution_kendall_tau),
        lambda c: ex.check_kendall_tau(lambda a, b: sum(x == y for x, y in zip(a, b)) / len(a)),
        lambda c: ex.check_kendall_tau(_nothing),
    ),
    "clean_reply": (
        lambda c: ex.check_clean_reply(ex.solution_clean_reply(c["ids"], 4), c["ids"], 4),
        lambda c: ex.check_clean_reply('{"ranking": [{"id": 4, "score": 1}, {"id": 1, "score": 0.5}]}', c["ids"], 4),
        lambda c: ex.check_clean_reply(None, c["ids"], 4),
    ),
    "rans_push": (
        lambda c: ex.check_rans_push(ex.solution_rans_push),
        lambda c: ex.check_rans_push(lambda x, f, cum: (x // f) * 2**16 + cum),  # forgets x % f
        lambda c: ex.check_rans_push(_nothing),
    ),
    "laplace_gap": (
        lambda c: ex.check_laplace_gap(ex.solution_laplace_gap(ex.laplace_symbols())),
        lambda c: ex.check_laplace_gap(0.0),
        lambda c: ex.check_laplace_gap(None),
    ),
    "noise_mask_bytes": (
        lambda c: ex.check_noise_mask_bytes(ex.solution_noise_mask_bytes(ex.noise_mask())),
        lambda c: ex.check_noise_mask_bytes(100 * 100),  # one byte per pixel
        lambda c: ex.check_noise_mask_bytes(None),
    ),
    "pareto_front": (
        lambda c: ex.check_pareto_front(ex.solution_pareto_front),
        lambda c: ex.check_pareto_front(lambda points: sorted(points)),  # keeps dominated points
        lambda c: ex.check_pareto_front(_nothing),
    ),
    "person_bytes": (
        lambda c: ex.check_person_bytes(ex.solution_person_bytes(*_astronaut(c), _QUICKSTART), *_astronaut(c), _QUICKSTART),
        lambda c: ex.check_person_bytes(1000, *_astronaut(c), _QUICKSTART),
        lambda c: ex.check_person_bytes(None, *_astronaut(c), _QUICKSTART),
    ),
    "budget_quality": (
        lambda c: ex.check_budget_quality(ex.solution_budget_quality(*_astronaut(c), ex.BUDGET_BYTES), *_astronaut(c)),
        lambda c: ex.check_budget_quality(100, *_astronaut(c)),
        lambda c: ex.check_budget_quality(None, *_astronaut(c)),
    ),
    "face_bytes": (
        lambda c: ex.check_face_bytes(ex.solution_face_bytes(*_astronaut(c), c["ranker"], get_task("face-detection")),
                                      *_astronaut(c), c["ranker"], get_task("face-detection")),
        lambda c: ex.check_face_bytes(1000, *_astronaut(c), c["ranker"], get_task("face-detection")),
        lambda c: ex.check_face_bytes(None, *_astronaut(c), c["ranker"], get_task("face-detection")),
    ),
    "layers_in_prefix": (
        lambda c: ex.check_layers_in_prefix(ex.solution_layers_in_prefix, encode(*_astronaut(c), quality=30)),
        lambda c: ex.check_layers_in_prefix(lambda e, n: sum(e.prefix_bytes(k) < n for k in range(1, len(e.layers) + 1)),
                                            encode(*_astronaut(c), quality=30)),  # off by one at a layer's end
        lambda c: ex.check_layers_in_prefix(_nothing, encode(*_astronaut(c), quality=30)),
    ),
    "segmentation_order": (
        lambda c: ex.check_segmentation_order(ex.solution_segmentation_order(), *_astronaut(c), get_task("person-segmentation")),
        lambda c: ex.check_segmentation_order(dict(_QUICKSTART, helmet=0.0), *_astronaut(c),  # the helmet last
                                              get_task("person-segmentation")),
        lambda c: ex.check_segmentation_order(None, *_astronaut(c), get_task("person-segmentation")),
    ),
    "keyword_ranker": (
        lambda c: ex.check_keyword_ranker(ex.solution_keyword_ranker(), c["coffee"].image, c["coffee"].objects),
        lambda c: ex.check_keyword_ranker(AreaRanker(), c["coffee"].image, c["coffee"].objects),  # ignores the task
        lambda c: ex.check_keyword_ranker(type("Blank", (), {"name": "blank", "rank": _nothing})(), c["coffee"].image,
                                          c["coffee"].objects),
    ),
    "bd_rate_by_hand": (
        lambda c: ex.check_bd_rate_by_hand(ex.solution_bd_rate_by_hand),
        lambda c: ex.check_bd_rate_by_hand(  # the ratio of mean rates: right for twice the rate, wrong elsewhere
            lambda a, t: 100 * (sum(r for r, _ in t) / len(t) / (sum(r for r, _ in a) / len(a)) - 1)),
        lambda c: ex.check_bd_rate_by_hand(_nothing),
    ),
    "ranking_bd_rate": (
        lambda c: ex.check_ranking_bd_rate(ex.solution_ranking_bd_rate(_SWEEP_ROWS), _SWEEP_ROWS),
        lambda c: ex.check_ranking_bd_rate(-50.0, _SWEEP_ROWS),  # anchor and test swapped: random costs +100%
        lambda c: ex.check_ranking_bd_rate(None, _SWEEP_ROWS),
    ),
    "cheapest_setting": (
        lambda c: ex.check_cheapest_setting(ex.solution_cheapest_setting(_SWEEP_ROWS, 0.8), _SWEEP_ROWS, 0.8),
        lambda c: ex.check_cheapest_setting((3, 2), _SWEEP_ROWS, 0.8),  # all layers: reaches 0.9, but dearer
        lambda c: ex.check_cheapest_setting(None, _SWEEP_ROWS, 0.8),
    ),
}


def test_every_exercise_has_a_case_a_check_a_solution_and_a_notebook():
    checks = {n[len("check_"):] for n in dir(ex) if n.startswith("check_")}
    solutions = {n[len("solution_"):] for n in dir(ex) if n.startswith("solution_")}
    assert checks == solutions == set(CASES) == set(ex.EXERCISE_NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_passes_on_its_solution(name, context, capsys):
    CASES[name][0](context)
    assert "Correct:" in capsys.readouterr().out


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
    blocks = re.findall(r"<details><summary>Solution</summary>(.*?)</details>", _markdown(notebook), re.DOTALL)
    assert any(source in block for block in blocks), f"{notebook}: no Solution block holds solution_{name} verbatim"


@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_calls_the_check_and_commits_no_answer(name):
    notebook = ex.EXERCISE_NOTEBOOKS[name]
    calls = [(src, out) for src, out in _code_cells(notebook) if f"check_{name}(" in src]
    assert calls, f"{notebook} never calls check_{name}"
    for src, out in calls:
        assert f"solution_{name}" not in src, "the check cell must not use the solution"
        assert "Correct:" not in out and "Not attempted yet:" in out, f"{notebook}: committed output of check_{name}"
