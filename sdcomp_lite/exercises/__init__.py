"""Exercises that check themselves: one ``check_<name>`` and one ``solution_<name>`` per exercise.

The pattern every notebook follows (docs/teaching.md says more):

* The cell the student fills starts with a placeholder, ``answer = None  # your code``, or, when
  the answer is a function, a function whose body is ``return None  # your code``.
* The next cell calls ``check_<name>(answer, ...)``. A placeholder prints
  ``Not attempted yet: <the target>`` and raises nothing, so committed outputs (run under nbval)
  reveal no answer. A right answer prints ``Correct: ...``. A wrong one raises :class:`NotYet`,
  an ``AssertionError`` whose message is a hint.
* ``solution_<name>`` is the reference solution; the notebook's collapsed Solution block shows its
  source verbatim (tests/test_exercises.py runs every check on its solution, on a wrong answer,
  and compares the notebook's block with this source, so they cannot drift apart).

Targets are measured, not hoped for: each one is reached by its solution.

Taught in every notebook's *Try it* section; docs/teaching.md.
"""

# One module per notebook; every check, solution and helper is importable from here.
from sdcomp_lite.exercises._base import NotYet
from sdcomp_lite.exercises.entropy_coding import (
    check_laplace_gap,
    check_noise_mask_bytes,
    check_pareto_front,
    check_rans_push,
    laplace_symbols,
    noise_mask,
    solution_laplace_gap,
    solution_noise_mask_bytes,
    solution_pareto_front,
    solution_rans_push,
)
from sdcomp_lite.exercises.grounding import (
    GRABCUT_TARGET,
    check_box_iou,
    check_face_pixels,
    check_grabcut_box,
    solution_box_iou,
    solution_face_pixels,
    solution_grabcut_box,
)
from sdcomp_lite.exercises.learned_coding import (
    check_best_checkpoint,
    check_bits_per_pixel,
    solution_best_checkpoint,
    solution_bits_per_pixel,
)
from sdcomp_lite.exercises.own_models import (
    SolutionKeywordRanker,
    check_keyword_ranker,
    solution_keyword_ranker,
)
from sdcomp_lite.exercises.progressive_decoding import (
    FLAG_TASK,
    check_face_bytes,
    check_layers_in_prefix,
    check_segmentation_order,
    solution_face_bytes,
    solution_layers_in_prefix,
    solution_segmentation_order,
)
from sdcomp_lite.exercises.quickstart import (
    BUDGET_BYTES,
    check_budget_quality,
    check_bytes_until,
    solution_budget_quality,
    solution_bytes_until,
)
from sdcomp_lite.exercises.ranking import (
    check_clean_reply,
    check_importance,
    check_kendall_tau,
    check_task_puts_first,
    solution_clean_reply,
    solution_importance,
    solution_kendall_tau,
    solution_task_puts_first,
)
from sdcomp_lite.exercises.task_evaluation import (
    check_bd_rate_by_hand,
    check_cheapest_setting,
    check_ranking_bd_rate,
    solution_bd_rate_by_hand,
    solution_cheapest_setting,
    solution_ranking_bd_rate,
)

# Which notebook holds each exercise's check and solution block.
EXERCISE_NOTEBOOKS = {
    "bytes_until": "00_quickstart.ipynb",
    "budget_quality": "00_quickstart.ipynb",
    "box_iou": "01_grounding.ipynb",
    "grabcut_box": "01_grounding.ipynb",
    "face_pixels": "01_grounding.ipynb",
    "task_puts_first": "02_lmm_ranking.ipynb",
    "importance": "02_lmm_ranking.ipynb",
    "kendall_tau": "02_lmm_ranking.ipynb",
    "clean_reply": "02_lmm_ranking.ipynb",
    "rans_push": "03_structured_entropy_coding.ipynb",
    "laplace_gap": "03_structured_entropy_coding.ipynb",
    "noise_mask_bytes": "03_structured_entropy_coding.ipynb",
    "pareto_front": "03_structured_entropy_coding.ipynb",
    "face_bytes": "04_progressive_decoding.ipynb",
    "layers_in_prefix": "04_progressive_decoding.ipynb",
    "segmentation_order": "04_progressive_decoding.ipynb",
    "bd_rate_by_hand": "05_task_evaluation.ipynb",
    "ranking_bd_rate": "05_task_evaluation.ipynb",
    "cheapest_setting": "05_task_evaluation.ipynb",
    "keyword_ranker": "06_bring_your_own_models.ipynb",
    "bits_per_pixel": "07_learned_coding.ipynb",
    "best_checkpoint": "07_learned_coding.ipynb",
}

__all__ = [
    "solution_bits_per_pixel",
    "solution_best_checkpoint",
    "check_bits_per_pixel",
    "check_best_checkpoint",
    "BUDGET_BYTES",
    "EXERCISE_NOTEBOOKS",
    "FLAG_TASK",
    "GRABCUT_TARGET",
    "NotYet",
    "SolutionKeywordRanker",
    "check_bd_rate_by_hand",
    "check_box_iou",
    "check_budget_quality",
    "check_bytes_until",
    "check_cheapest_setting",
    "check_clean_reply",
    "check_face_bytes",
    "check_face_pixels",
    "check_grabcut_box",
    "check_importance",
    "check_kendall_tau",
    "check_keyword_ranker",
    "check_laplace_gap",
    "check_layers_in_prefix",
    "check_noise_mask_bytes",
    "check_pareto_front",
    "check_ranking_bd_rate",
    "check_rans_push",
    "check_segmentation_order",
    "check_task_puts_first",
    "laplace_symbols",
    "noise_mask",
    "solution_bd_rate_by_hand",
    "solution_box_iou",
    "solution_budget_quality",
    "solution_bytes_until",
    "solution_cheapest_setting",
    "solution_clean_reply",
    "solution_face_bytes",
    "solution_face_pixels",
    "solution_grabcut_box",
    "solution_importance",
    "solution_kendall_tau",
    "solution_keyword_ranker",
    "solution_laplace_gap",
    "solution_layers_in_prefix",
    "solution_noise_mask_bytes",
    "solution_pareto_front",
    "solution_ranking_bd_rate",
    "solution_rans_push",
    "solution_segmentation_order",
    "solution_task_puts_first",
]
