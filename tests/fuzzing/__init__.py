"""Fuzzing the bitstream decoder: mutated real files (:mod:`.cases`), decoded in guarded processes (:mod:`.runner`).

Test infrastructure, not part of the installed package: it lives in ``tests/`` (on ``sys.path`` when
pytest runs; the benchmarks add ``tests/`` themselves) and uses only public names of the coder.
Used by ``tests/test_fuzz_bitstreams.py`` (a few thousand cases) and ``benchmarks/fuzz_bitstreams.py``
(the long run)::

    from fuzzing import CaseMaker, DecodePool, seed_files, summarise

    maker = CaseMaker(seed_files(), seed=0)
    with DecodePool(workers=2) as pool:
        outcomes = pool.run(maker.cases(1000))
    summarise(outcomes)["outcomes"]  # {"ok": ..., "sdcomp-error": ..., "other-exception": 0, ...}
"""

from fuzzing.cases import MUTATIONS, RAW_MUTATIONS, Case, CaseMaker, Draft, Row, seed_files, synthetic_scene
from fuzzing.runner import BUG_OUTCOMES, OUTCOMES, DecodePool, Outcome, classify, decode_case, summarise

__all__ = [
    "BUG_OUTCOMES",
    "MUTATIONS",
    "OUTCOMES",
    "RAW_MUTATIONS",
    "Case",
    "CaseMaker",
    "DecodePool",
    "Draft",
    "Outcome",
    "Row",
    "classify",
    "decode_case",
    "seed_files",
    "summarise",
    "synthetic_scene",
]
