"""Fuzzing the annotation readers: COCO files (``objects_from_coco_file``, what ``encode --objects`` reads,
and ``load_coco``) and coco7-style JSON lines (``load_coco7``, behind ``load_sample("coco-N")``).

Every case is a valid file with one structure-aware mutation: a value anywhere replaced by a hostile
one (wrong types, NaN, 1e308, 2**64, a 5,000-digit number, a polygon of 100,000 points or of a
zigzag across a huge image, 2,000 polygons, deep nesting), a key dropped, an entry repeated up to
70,000 times, a declared size changed, a second image of the same file name, or the text cut,
flipped or made invalid UTF-8. Each is read in a worker process limited to 1 GiB above its baseline
and 5 CPU seconds (tests/fuzzing's DecodePool). Outcomes: ok, sdcomp-error and the bugs
(other-exception, memory, signal, hang). Writes benchmarks/results/fuzz_inputs_annotations.md.

Run from the repository root:  nice -n 10 python benchmarks/fuzz_annotations.py --cases 3000 --seed 1
A case is rebuilt with AnnotationCaseMaker(seed).case(index).
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fuzzing pool is a test tool
from fuzz_images import write_page  # noqa: E402
from fuzzing import Case  # noqa: E402
from fuzzing.runner import fuzz_arguments, run_cases  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HEIGHT, WIDTH = 48, 64


def coco_seed() -> dict:
    """A valid COCO file for ``tiny.png`` (64x48): a polygon, compressed and uncompressed RLE, a box, labels."""
    return {
        "images": [{"id": 1, "file_name": "tiny.png", "width": WIDTH, "height": HEIGHT}],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 30], "importance": 0.9,
             "segmentation": [[4, 4, 24, 4, 24, 34, 4, 34]]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [30, 10, 20, 10], "label": "red car",
             "segmentation": {"size": [HEIGHT, WIDTH], "counts": [640, 10, 2422]}},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 0, 64, 48],
             "segmentation": {"size": [HEIGHT, WIDTH], "counts": "Zn0d0l00000000000000000000000000000000000000fS1"}},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [40, 30, 10, 10]},
        ],
    }


def coco7_seed() -> dict:
    return {"img_fn": "imgs/0.jpg", "png_ann_fn": "pngs/0.png", "img_id": "4495",
            "bboxes": [{"bbox": [1.5, 2.0, 20.0, 10.0], "category": "tv", "category_id": 72},
                       {"bbox": [0, 0, 64, 48], "category": "wall", "category_id": 172}]}


def _zigzag(points: int, size: int) -> list[float]:
    return [float(v) for i in range(points) for v in ((0, i) if i % 2 else (size, i))]


HOSTILE = (None, True, False, -1, 0, 1, 2**32, 2**64, -(2**63), 1.5, 1e308, -1e308, float("nan"), float("inf"), "",
           "x", "\u202e", "\ud800", [], {}, [None], [[]], [1, 2, 3], [0, 0, 5, 0], {"size": None},
           {"size": [HEIGHT, WIDTH], "counts": "!!"}, {"size": [HEIGHT, WIDTH], "counts": [1, -5, 3]},
           {"size": [HEIGHT, WIDTH], "counts": [10**9]}, {"size": [2**31, 2**31], "counts": []})
BIG = {
    "polygon-100k": lambda: [_zigzag(100_000, 4000)],
    "polygon-zigzag": lambda: [_zigzag(9_000, 60_000)],
    "polygons-2000": lambda: [[0, 0, 5, 0, 5, 5]] * 2000,
    "deep": lambda: "DEEP",
    "digits": lambda: "DIGITS",
}


class AnnotationCaseMaker:
    """Case ``index`` of fuzzing ``seed``: one mutation of the COCO seed or the coco7 seed, deterministically."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def cases(self, count: int):
        return (self.case(index) for index in range(count))

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}/{index}")
        api = rng.choice(("objects", "objects", "load_coco", "coco7"))
        document = coco7_seed() if api == "coco7" else coco_seed()
        kind = rng.choice(MUTATIONS)
        text = getattr(self, "_" + kind.replace("-", "_"))(document, rng)
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        return Case(index, kind, api, data, api)

    @staticmethod
    def _paths(value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for key, item in value.items():
                yield from AnnotationCaseMaker._paths(item, (*prefix, key))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                yield from AnnotationCaseMaker._paths(item, (*prefix, position))

    @staticmethod
    def _at(document, path):
        for step in path:
            document = document[step]
        return document

    def _replace_value(self, document: dict, rng: random.Random) -> str:
        path = rng.choice(list(self._paths(document))[1:])
        new = rng.choice(HOSTILE) if rng.random() < 0.7 else BIG[rng.choice(sorted(BIG))]()
        self._at(document, path[:-1])[path[-1]] = new
        text = json.dumps(document, allow_nan=True, ensure_ascii=False)
        return text.replace('"DEEP"', "[" * 100_000 + "]" * 100_000).replace('"DIGITS"', "9" * 5000)

    def _drop_key(self, document: dict, rng: random.Random) -> str:
        path = rng.choice([p for p in self._paths(document) if p and isinstance(p[-1], str)])
        del self._at(document, path[:-1])[path[-1]]
        return json.dumps(document)

    def _repeat_entry(self, document: dict, rng: random.Random) -> str:
        lists = [p for p in self._paths(document) if isinstance(self._at(document, p), list) and self._at(document, p)]
        path = rng.choice(lists)
        target = self._at(document, path)
        target.extend(copy.deepcopy(target[-1:]) * rng.choice((1, 10, 1000, 70_000)))
        return json.dumps(document)

    def _declared_size(self, document: dict, rng: random.Random) -> str:
        if "images" not in document:
            return self._replace_value(document, rng)
        document["images"][0].update(width=rng.choice((640, 0, -1, WIDTH)), height=rng.choice((480, HEIGHT, 2**40)))
        return json.dumps(document)

    def _same_name(self, document: dict, rng: random.Random) -> str:
        if "images" not in document:
            return self._drop_key(document, rng)
        other = rng.choice(("b/tiny.png", "tiny.jpg"))
        document["images"] = [{"id": 1, "file_name": "a/tiny.png"}, {"id": 2, "file_name": other}]
        return json.dumps(document)

    def _raw_bytes(self, document: dict, rng: random.Random) -> bytes:
        data = bytearray(json.dumps(document).encode())
        choice = rng.randrange(3)
        if choice == 0:
            return bytes(data[: rng.randrange(len(data))])
        if choice == 1:
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            return bytes(data)
        position = rng.randrange(len(data))
        return bytes(data[:position] + b"\xff\xfe\xc3" + data[position:])


MUTATIONS = ("replace-value", "replace-value", "replace-value", "drop-key", "repeat-entry", "declared-size", "same-name",
             "raw-bytes")


def _folder() -> Path:
    """This worker's folder with the images the seeds name (made once per process)."""
    folder = Path(tempfile.gettempdir()) / f"sdcomp-fuzz-annotations-{os.getpid()}"
    if not (folder / "0.png").is_file():
        folder.mkdir(exist_ok=True)
        Image.new("RGB", (WIDTH, HEIGHT), (90, 120, 30)).save(folder / "tiny.png")
        Image.new("RGB", (WIDTH, HEIGHT), (90, 120, 30)).save(folder / "0.jpg")
        Image.new("L", (WIDTH, HEIGHT), 71).save(folder / "0.png")
    return folder


def check_case(data: bytes, api: str) -> None:
    """What is fuzzed: ``objects_from_coco_file`` (encode --objects), ``load_coco`` or ``load_coco7``."""
    from sdcomp_lite.data import load_coco, load_coco7, objects_from_coco_file

    folder = _folder()
    if api == "coco7":
        (folder / "annotations.jsonl").write_bytes(data)
        load_coco7(folder)
        return
    (folder / "ann.json").write_bytes(data)
    if api == "load_coco":
        load_coco(folder / "ann.json")
    else:
        objects_from_coco_file(folder / "ann.json", "tiny.png", HEIGHT, WIDTH)


def run(cases: int, seed: int, workers: int, timeout: float, memory_mib: int) -> dict:
    return run_cases(AnnotationCaseMaker(seed).cases(cases), check_case, seed, workers, timeout, memory_mib)


WHAT = ("Each case is one structure-aware mutation of a valid COCO file (a polygon, compressed and uncompressed "
        "RLE, a box-only object, labels, importance) read by `objects_from_coco_file` (what `encode --objects` "
        "runs) or `load_coco`, or of a coco7 line read by `load_coco7`, in a guarded worker process "
        "(tests/fuzzing's DecodePool). The 'seed file' column of a bug names the API.")


def main() -> None:
    args = fuzz_arguments(__doc__.splitlines()[0], 3000, RESULTS)
    summary = run(args.cases, args.seed, args.workers, args.timeout, args.memory_mib)
    write_page(summary, args.out, "annotations", "Fuzzing the annotation readers", WHAT)


if __name__ == "__main__":
    main()
