"""What every machine task offers, and where its reference comes from.

A task runs on an image (``run``), scores a prediction against a reference (``score``) and says
where that reference comes from (``reference``): the sample's annotations, when the task can use
them and the sweep asks for them, or else the task's own prediction on the original image
(*pseudo ground truth*). The :class:`Reference` carries its ``kind`` into every results row, so
the sweep's worker needs no task names. :class:`PseudoReferenceTask` is the default: inherit it
for a task that has no annotations to use.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sdcomp_lite.errors import InvalidParameterError

if TYPE_CHECKING:
    from sdcomp_lite.data import Sample

REFERENCE_KINDS = ("pseudo", "annotations")  # the values of a results row's "reference" column


@dataclass(frozen=True)
class Reference:
    """A task's reference on one original image.

    Attributes:
        value: what ``score(prediction, value)`` compares with (the task's prediction type).
        kind: ``"annotations"`` (the sample's annotated objects) or ``"pseudo"`` (the task's own
            prediction on the original image).
    """

    value: Any
    kind: str

    @property
    def empty(self) -> bool:
        """True when there is nothing to score against (None, or an empty list of objects)."""
        return self.value is None or (isinstance(self.value, (list, tuple)) and not self.value)


class Task(Protocol):
    """A machine task: predictions on images, a reference per original image, and a score."""

    name: str
    metric: str  # the headline metric, a key of score()'s result; higher is better
    prompt: str  # what a ranker is told this task needs, e.g. "find every person"

    def run(self, image: np.ndarray) -> Any: ...

    def reference(self, sample: Sample, wanted: str = "pseudo") -> Reference: ...

    def score(self, prediction: Any, reference: Any) -> dict[str, float]: ...


class PseudoReferenceTask:
    """The default reference: the task's own prediction on the original image, whatever is wanted."""

    def reference(self, sample: Sample, wanted: str = "pseudo") -> Reference:
        """``Reference(self.run(sample.image), "pseudo")`` (the subclass's ``run``), whatever ``wanted`` says."""
        wants_annotations(wanted)
        return Reference(self.run(sample.image), "pseudo")


def wants_annotations(wanted: str) -> bool:
    """True for ``"annotations"``, False for ``"pseudo"``; anything else raises InvalidParameterError."""
    if wanted not in REFERENCE_KINDS:
        raise InvalidParameterError(f"unknown reference {wanted!r}; choose one of: {', '.join(REFERENCE_KINDS)}")
    return wanted == "annotations"
