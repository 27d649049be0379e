"""Fuzzing the bitstream decoder: mutated real files (:mod:`.cases`), decoded in guarded processes (:mod:`.runner`).

Used by ``tests/test_fuzz_bitstreams.py`` (a few thousand cases) and ``benchmarks/fuzz_bitstreams.py``
(the long run)::

    from sdcomp_lite.fuzzing import CaseMaker, DecodePool, seed_files, summarise

    maker = CaseMaker(seed_files(), seed=0)
    with DecodePool(workers=2) as pool:
        outcomes = pool.run(maker.cases(1000))
    summarise(outcomes)["outcomes"]  # {"ok": ..., "sdcomp-error": ..., "other-exception": 0, ...}
"""

from sdcomp_lite.fuzzing.cases import MUTATIONS, RAW_MUTATIONS, Case, CaseMaker, Draft, Row, seed_files, synthetic_scene
from sdcomp_lite.fuzzing.runner import BUG_OUTCOMES, OUTCOMES, DecodePool, Outcome, classify, decode_case, summarise

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
