"""docs/architecture.md runs: every example of its "Add a ..." sections is installed as the page says and
used for real on a sample photograph, its table names real entry points, and its import rule holds.

Each ```python block follows a marker ``<!-- example: <path> -->``. A path that does not exist is a new
file: it is written into a temporary folder added to its package's ``__path__``, so it is imported
under its real module name (``sdcomp_lite.grounding.centre``). A path that exists is a registry module:
the block is run in a copy of that module's namespace, so it sees exactly the names the module has
(a helper the page names but the module lacks is a NameError). Registries are restored after each test.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from sdcomp_lite.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.S)
STAGES = ("grounding", "ranking", "coding", "evaluation")

GROUNDER = ("sdcomp_lite/grounding/centre.py", "sdcomp_lite/grounding/registry.py")
RANKER = ("sdcomp_lite/ranking/label_match.py", "sdcomp_lite/ranking/registry.py")
TRANSFORM = ("sdcomp_lite/coding/pillow_jpeg.py", "sdcomp_lite/coding/transforms.py")
CODEC = ("sdcomp_lite/evaluation/jpeg444.py", "sdcomp_lite/evaluation/codecs.py")
TASK = ("sdcomp_lite/evaluation/object_count.py", "sdcomp_lite/evaluation/tasks.py")
IDENTIFIER = ("sdcomp_lite/grounding/fixed_labels.py", "sdcomp_lite/grounding/identify.py")
ALL = (GROUNDER, RANKER, TRANSFORM, CODEC, TASK, IDENTIFIER)


def page_examples(text: str | None = None) -> dict[str, str]:
    """Marker path -> the code of the block after it (a path used twice is an error)."""
    found = EXAMPLE.findall(PAGE.read_text(encoding="utf-8") if text is None else text)
    paths = [path for path, _ in found]
    assert len(paths) == len(set(paths)), f"an example path is used twice: {paths}"
    return dict(found)


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


class Installer:
    """Writes the page's example files as modules and runs its registry lines; undoes both afterwards."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, examples: dict[str, str]) -> None:
        self.monkeypatch = monkeypatch
        self.folder = folder
        self.examples = examples
        self.modules: list[str] = []

    def file(self, path: str) -> None:
        assert not (ROOT / path).exists(), f"{path} exists: the page's example would shadow a real module"
        package_name, _, stem = module_name(path).rpartition(".")
        package = importlib.import_module(package_name)
        folder = self.folder / package_name.replace(".", "_")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.py").write_text(self.examples[path], encoding="utf-8")
        self.monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
        self.modules.append(module_name(path))
        importlib.invalidate_caches()

    def registry_line(self, path: str) -> None:
        assert (ROOT / path).is_file(), f"the page registers in {path}, which does not exist"
        module = importlib.import_module(module_name(path))
        registries = [value for value in vars(module).values() if isinstance(value, Registry)]
        assert registries, f"{path} holds no Registry"
        for registry in registries:  # restored by monkeypatch after the test
            self.monkeypatch.setattr(registry, "entries", dict(registry.entries))
        exec(compile(self.examples[path], f"docs/architecture.md <{path}>", "exec"), dict(vars(module)))

    def install(self, pair: tuple[str, str]) -> None:
        self.file(pair[0])
        self.registry_line(pair[1])

    def close(self) -> None:
        for name in self.modules:
            sys.modules.pop(name, None)
            package_name, _, stem = name.rpartition(".")
            package = sys.modules.get(package_name)
            if package is not None and stem in vars(package):
                delattr(package, stem)


@pytest.fixture
def installer(monkeypatch, tmp_path):
    done = Installer(monkeypatch, tmp_path, page_examples())
    yield done
    done.close()


@pytest.fixture(scope="module")
def chelsea():
    from sdcomp_lite import load_sample

    return load_sample("chelsea")


def test_the_page_shows_every_extension_example():
    assert set(page_examples()) == {path for pair in ALL for path in pair}


def test_the_grounder_example_finds_the_centre(installer, chelsea):
    from sdcomp_lite.grounding import available_grounders, get_grounder, score_grounding
    from sdcomp_lite.types import validate_objects

    installer.install(GROUNDER)
    assert "centre" in available_grounders()
    objects = get_grounder("centre", fraction=0.3).ground(chelsea.image)
    height, width = chelsea.image.shape[:2]
    validate_objects(objects, height, width)
    (found,) = objects
    assert (found.object_id, found.label, found.source) == (1, "centre", "centre")
    assert found.box == pytest.approx((width * 0.35, height * 0.35, width * 0.65, height * 0.65))
    assert found.area == pytest.approx(0.09 * height * width, rel=0.03)
    graded = score_grounding([(objects, list(chelsea.objects))])
    assert (graded.predictions, graded.references) == (1, 3) and 0.0 <= graded.box_ap50 <= 1.0


def test_the_ranker_example_puts_named_objects_first(installer, chelsea):
    from sdcomp_lite.ranking import Ranking, get_ranker

    installer.install(RANKER)
    objects = list(chelsea.objects)
    ranking = get_ranker("label-match").rank(chelsea.image, objects, "is the right eye open?")
    assert isinstance(ranking, Ranking) and ranking.backend == "label-match"
    assert sorted(ranking.order) == sorted(obj.object_id for obj in objects)
    ranked = ranking.apply(objects)
    assert ranked[0].label == "right eye"
    assert [obj.importance for obj in ranked] == sorted((obj.importance for obj in ranked), reverse=True)


def test_the_transform_example_round_trips_through_encode_and_decode(installer, chelsea):
    from sdcomp_lite.coding import decode, decode_progressive, encode, get_transform, read_header
    from sdcomp_lite.coding.transforms import ContentTransform
    from sdcomp_lite.errors import CorruptBitstreamError
    from sdcomp_lite.metrics import psnr

    installer.install(TRANSFORM)
    coder: ContentTransform = get_transform("pillow-jpeg")
    assert coder.honours_quality is True
    objects = list(chelsea.objects)
    small = encode(chelsea.image, objects, quality=20, transform="pillow-jpeg")
    encoded = encode(chelsea.image, objects, quality=90, transform="pillow-jpeg")
    assert encoded.transform == read_header(encoded.data).transform == "pillow-jpeg"
    assert small.num_bytes < encoded.num_bytes
    decoded = decode(encoded.data)  # finds the coder by the header's name, through the registry
    assert decoded.coverage.all() and decoded.image.shape == chelsea.image.shape
    assert psnr(chelsea.image, decoded.image) > 33.0
    steps = list(decode_progressive(encoded.data))
    assert len(steps) == len(encoded.layers) and np.array_equal(steps[-1].image, decoded.image)
    region = np.zeros(chelsea.image.shape[:2], bool)
    region[10:50, 20:90] = True
    payload, bits = coder.encode_region(chelsea.image, region, 75)
    assert bits == 8 * len(payload) and payload[:2] == b"\xff\xd8"
    back = coder.decode_region(payload, region, 3, 75)
    assert psnr(chelsea.image[region], back[region]) > 30.0
    with pytest.raises(CorruptBitstreamError):
        coder.decode_region(b"not a jpeg", region, 3, 75)
    other = np.zeros_like(region)
    other[0:80, 0:80] = True  # another window than the payload's
    with pytest.raises(CorruptBitstreamError):
        coder.decode_region(payload, other, 3, 75)


def test_the_codec_example_round_trips(installer, chelsea):
    from PIL import Image, JpegImagePlugin

    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS, get_reference_codec
    from sdcomp_lite.metrics import psnr

    installer.install(CODEC)
    assert "jpeg444" in REFERENCE_CODECS.available()
    codec = get_reference_codec("jpeg444")
    assert get_reference_codec("jpeg444", check=False).qualities == codec.qualities
    sizes = []
    for quality in codec.qualities:
        data, decoded = codec.round_trip(chelsea.image, quality)
        sizes.append(len(data))
        assert decoded.shape == chelsea.image.shape and decoded.dtype == np.uint8
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert psnr(chelsea.image, decoded) > 35.0
    with Image.open(io.BytesIO(data)) as picture:
        assert JpegImagePlugin.get_sampling(picture) == 0  # 4:4:4


def test_the_task_example_runs_and_scores(installer, chelsea):
    from sdcomp_lite.coding import decode, encode
    from sdcomp_lite.errors import InvalidParameterError
    from sdcomp_lite.evaluation.tasks import get_task, task_class

    installer.install(TASK)
    assert task_class("object-count").metric == "count_agreement"
    task = get_task("object-count")
    pseudo = task.reference(chelsea, "pseudo")
    annotated = task.reference(chelsea, "annotations")
    assert pseudo.kind == "pseudo" and not pseudo.empty and pseudo.value["cat"] >= 1
    assert annotated.kind == "annotations" and annotated.value == {"cat": 1, "left eye": 1, "right eye": 1}
    assert task.score(task.run(chelsea.image), pseudo.value) == {"count_agreement": 1.0}
    assert 0.0 < task.score(pseudo.value, annotated.value)["count_agreement"] < 1.0
    assert task.score(pseudo.value.__class__(), pseudo.value.__class__()) == {"count_agreement": 1.0}
    tiny = decode(encode(chelsea.image, [], quality=1, background_scale=8, preview=False).data).image
    assert 0.0 <= task.score(task.run(tiny), pseudo.value)["count_agreement"] <= 1.0
    with pytest.raises(InvalidParameterError):
        task.reference(chelsea, "ground truth")


def test_the_identifier_example_names_what_it_was_given(installer, chelsea):
    from sdcomp_lite.grounding import get_grounder
    from sdcomp_lite.grounding.identify import IdentifyThenGround, get_identifier

    installer.install(IDENTIFIER)
    installer.install(GROUNDER)
    identifier = get_identifier("fixed", labels="Cat,  Coffee   Cup, ")
    assert identifier.identify(chelsea.image) == ["cat", "coffee cup"]
    assert identifier.identification(chelsea.image).backend == "fixed"
    found, objects = IdentifyThenGround(identifier, get_grounder("centre")).identify_and_ground(chelsea.image)
    assert found.labels == ("cat", "coffee cup") and len(objects) == 1


def test_every_example_together_through_compress(installer, chelsea):
    from sdcomp_lite.coding import decode
    from sdcomp_lite.pipeline import compress

    for pair in (GROUNDER, RANKER, TRANSFORM, IDENTIFIER):
        installer.install(pair)
    result = compress(chelsea.image, "the centre of the picture", grounder="centre", ranker="label-match",
                      identifier="fixed", identifier_options={"labels": "cat"}, transform="pillow-jpeg", quality=60)
    assert result.grounder == "centre" and result.identification.labels == ("cat",)
    assert result.ranking.backend == "label-match" and [obj.label for obj in result.objects] == ["centre"]
    assert result.encoded.transform == "pillow-jpeg"
    assert decode(result.encoded.data).coverage.all()


@pytest.mark.parametrize(("pair", "change", "error"), [
    (GROUNDER, ("sort_objects", "sort_objectz"), ImportError),  # a renamed helper in the page
    (RANKER, ('lazy(f"{_HERE}.label_match"', '_lazy("label_match"'), NameError),  # a helper the registry lacks
    (TRANSFORM, ("encode_crop", "encode_crops"), NotImplementedError),  # a misspelt method the base class needs
])
def test_a_wrong_name_in_the_page_fails(monkeypatch, tmp_path, chelsea, pair, change, error):
    """The mechanism catches what the page can get wrong: a wrong import, a missing helper, a wrong method name."""
    examples = page_examples()
    assert any(change[0] in examples[path] for path in pair)
    broken = {path: code.replace(*change) for path, code in examples.items()}
    assert broken != examples
    done = Installer(monkeypatch, tmp_path, broken)
    try:
        with pytest.raises(error):
            done.install(pair)
            from sdcomp_lite.coding import encode
            from sdcomp_lite.grounding import get_grounder

            if pair is GROUNDER:
                get_grounder("centre").ground(chelsea.image)
            elif pair is TRANSFORM:
                encode(chelsea.image, list(chelsea.objects), transform="pillow-jpeg")
    finally:
        done.close()


def _table_rows() -> list[tuple[list[str], list[str]]]:
    """The "Where each stage lives" table: (modules, entry-point names) per row."""
    section = PAGE.read_text(encoding="utf-8").split("## Where each stage lives", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`sdcomp_lite"):
            rows.append((re.findall(r"`([\w.]+)`", cells[1]), re.findall(r"`(\w+)`", cells[2])))
    return rows


def test_the_table_names_real_modules_and_entry_points():
    rows = _table_rows()
    assert len(rows) >= 20
    for modules, names in rows:
        loaded = [importlib.import_module(name) for name in modules]
        assert names, modules
        for name in names:
            assert any(hasattr(module, name) for module in loaded), f"{name} is not in {', '.join(modules)}"


def test_no_stage_imports_another_stages_private_helpers():
    """The page's import rule: across stages, only public names (no ``_underscore`` module or name)."""
    offences = []
    for stage in STAGES:
        for path in sorted((ROOT / "sdcomp_lite" / stage).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                    continue
                parts = node.module.split(".")
                if parts[0] != "sdcomp_lite" or len(parts) < 2 or parts[1] not in STAGES or parts[1] == stage:
                    continue
                private = [p for p in parts if p.startswith("_")] + [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {', '.join(private)}")
    assert not offences, "\n".join(offences)


def test_the_registries_are_restored_after_an_example(tmp_path):
    from sdcomp_lite.coding.transforms import TRANSFORMS
    from sdcomp_lite.grounding.registry import GROUNDERS

    before = (dict(GROUNDERS.entries), dict(TRANSFORMS.entries))
    with pytest.MonkeyPatch.context() as patch:
        done = Installer(patch, tmp_path, page_examples())
        done.install(GROUNDER)
        done.install(TRANSFORM)
        assert "centre" in GROUNDERS and "pillow-jpeg" in TRANSFORMS
        done.close()
    assert (GROUNDERS.entries, TRANSFORMS.entries) == before
    assert "sdcomp_lite.grounding.centre" not in sys.modules
