"""Task evaluation: reference codecs (anchors), tasks and their scores, rate sweeps, BD-rates and reports.

``run_sweep(SweepConfig(...), folder)`` codes every image with sdcomp-lite and every anchor in
``REFERENCE_CODECS``, runs every task in ``TASKS`` on each decoded image and writes one results row
per (image, codec, variant, quality, layers, task, metric) (:mod:`~sdcomp_lite.evaluation.results`);
``write_report(folder)`` turns them into BD-rates (``bd_rates``, ``all_bd_rates``) and RD figures.

The names below are imported when first used (PEP 562): importing this package loads neither
torch, Dask nor matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdcomp_lite.registry import lazy_attributes

_HOMES = {
    "COLUMNS": "sdcomp_lite.evaluation.results",
    "OURS": "sdcomp_lite.evaluation.results",
    "REFERENCE_CODECS": "sdcomp_lite.evaluation.codecs",
    "ReferenceCodec": "sdcomp_lite.evaluation.codecs",
    "SweepConfig": "sdcomp_lite.evaluation.sweep",
    "TASKS": "sdcomp_lite.evaluation.tasks",
    "WorkUnit": "sdcomp_lite.evaluation.results",
    "all_bd_rates": "sdcomp_lite.evaluation.rates",
    "bd_rate": "sdcomp_lite.evaluation.bdrate",
    "bd_rates": "sdcomp_lite.evaluation.rates",
    "fronts_figure": "sdcomp_lite.evaluation.figures",
    "get_reference_codec": "sdcomp_lite.evaluation.codecs",
    "get_task": "sdcomp_lite.evaluation.tasks",
    "load_results": "sdcomp_lite.evaluation.store",
    "rd_figure": "sdcomp_lite.evaluation.figures",
    "run_sweep": "sdcomp_lite.evaluation.sweep",
    "write_report": "sdcomp_lite.evaluation.report",
}

__all__ = [
    "COLUMNS",
    "OURS",
    "REFERENCE_CODECS",
    "ReferenceCodec",
    "SweepConfig",
    "TASKS",
    "WorkUnit",
    "all_bd_rates",
    "bd_rate",
    "bd_rates",
    "fronts_figure",
    "get_reference_codec",
    "get_task",
    "load_results",
    "rd_figure",
    "run_sweep",
    "write_report",
]

if TYPE_CHECKING:
    from sdcomp_lite.evaluation.bdrate import bd_rate
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS, ReferenceCodec, get_reference_codec
    from sdcomp_lite.evaluation.figures import fronts_figure, rd_figure
    from sdcomp_lite.evaluation.rates import all_bd_rates, bd_rates
    from sdcomp_lite.evaluation.report import write_report
    from sdcomp_lite.evaluation.results import COLUMNS, OURS, WorkUnit
    from sdcomp_lite.evaluation.store import load_results
    from sdcomp_lite.evaluation.sweep import SweepConfig, run_sweep
    from sdcomp_lite.evaluation.tasks import TASKS, get_task


__getattr__, __dir__ = lazy_attributes(__name__, _HOMES)
