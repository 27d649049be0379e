"""Short runs of the image and annotation fuzzers (issue 20: images and annotation files, as well as bitstreams).

Each case runs in a guarded worker process (tests/fuzzing's DecodePool: 1 GiB above baseline, 5 CPU
seconds), so a crash, a hang or a memory blow-up is an outcome, not a dead test run. The long runs
are benchmarks/fuzz_images.py and benchmarks/fuzz_annotations.py (results in benchmarks/results/).
"""

import sys
from pathlib import Path

import pytest
from fuzzing import BUG_OUTCOMES, DecodePool, summarise

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fuzz_annotations  # noqa: E402
import fuzz_images  # noqa: E402

CI_CASES = 200


def _bugs(outcomes) -> list[str]:
    return [f"{r.case.index} {r.case.kind} of {r.case.seed_file}: {r.outcome} {r.detail}\n{r.trace}"
            for r in outcomes if r.outcome in BUG_OUTCOMES]


def test_image_cases_are_deterministic_and_cover_every_seed_and_mutation():
    maker = fuzz_images.ImageCaseMaker(fuzz_images.seed_images(), seed=0)
    assert maker.case(7) == fuzz_images.ImageCaseMaker(fuzz_images.seed_images(), seed=0).case(7)
    cases = list(maker.cases(CI_CASES))
    assert {c.kind for c in cases} == set(fuzz_images.MUTATIONS)
    assert {c.seed_file for c in cases} == set(fuzz_images.seed_images())


def test_annotation_cases_are_deterministic_and_cover_every_api_and_mutation():
    maker = fuzz_annotations.AnnotationCaseMaker(seed=0)
    assert maker.case(7) == fuzz_annotations.AnnotationCaseMaker(seed=0).case(7)
    cases = list(maker.cases(CI_CASES))
    assert {c.kind for c in cases} == set(fuzz_annotations.MUTATIONS)
    assert {c.mode for c in cases} == {"objects", "load_coco", "coco7"}


@pytest.mark.parametrize("module, maker", [
    (fuzz_images, lambda: fuzz_images.ImageCaseMaker(fuzz_images.seed_images(), seed=0)),
    (fuzz_annotations, lambda: fuzz_annotations.AnnotationCaseMaker(seed=0)),
], ids=["images", "annotations"])
def test_a_short_fuzzing_run_finds_no_signal_hang_memory_blow_up_or_traceback(module, maker):
    decoder = module.load_case if module is fuzz_images else module.check_case
    with DecodePool(workers=2, decoder=decoder) as pool:
        outcomes = pool.run(maker().cases(CI_CASES))
    summary = summarise(outcomes)
    assert summary["cases"] == CI_CASES and summary["outcomes"]["ok"] > 0 and summary["outcomes"]["sdcomp-error"] > 0
    assert not _bugs(outcomes), "\n".join(_bugs(outcomes))


def test_the_pool_would_report_a_reader_bug():
    """The fuzzers can fail: a reader that raises a stray exception is counted as a bug."""
    with DecodePool(workers=1, decoder=_broken_reader) as pool:
        (outcome,) = pool.run(fuzz_annotations.AnnotationCaseMaker(seed=0).cases(1))
    assert outcome.outcome == "other-exception" and outcome.detail == "ZeroDivisionError"


def _broken_reader(data: bytes, mode: str) -> None:
    raise ZeroDivisionError(len(data))
