"""Issue 11, findings 3 and 8: COCO files made by hand or by a fuzzer give objects or a
DataFileError that names the entry and the fix; never a segfault or another exception."""

import json
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as mask_utils

from sdcomp_lite.data import load_coco, objects_from_coco_file
from sdcomp_lite.errors import DataFileError, InvalidImageError
from sdcomp_lite.images import load_image, to_uint8_array

HEIGHT, WIDTH = 10, 20


def _coco(**annotation):
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 5, 5], **annotation}
    return {"images": [{"id": 1, "file_name": "tiny.png"}], "categories": [{"id": 1, "name": "thing"}],
            "annotations": [{k: v for k, v in ann.items() if v is not DROP}]}


DROP = object()


@pytest.fixture
def folder(tmp_path):
    Image.new("RGB", (WIDTH, HEIGHT), (10, 20, 30)).save(tmp_path / "tiny.png")
    return tmp_path


def _objects(folder, coco):
    path = folder / "ann.json"
    if isinstance(coco, bytes):
        path.write_bytes(coco)
    else:
        path.write_text(coco if isinstance(coco, str) else json.dumps(coco), encoding="utf-8", errors="surrogatepass")
    return objects_from_coco_file(path, "tiny.png", HEIGHT, WIDTH)


def _refused(folder, coco, *words):
    start = time.perf_counter()
    with pytest.raises(DataFileError) as caught:
        _objects(folder, coco)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400
    for word in words:
        assert word in message
    assert time.perf_counter() - start < 2
    return message


@pytest.mark.parametrize("polygon", [
    [0, 0, float("nan"), 0, 5, 5], [0, 0, 5, float("inf"), 5, 5], [0, 0, 5, 0, 5], [0, 0, 5, 0],
    [0, 0, 5, 0, 5, "5"], [0, 0, 5, 0, 5, True], [[0, 0, 5, 0, 5, 5]], "0 0 5 0 5 5", 7, [0, 0, 5, 0, 5, 10**400],
])
def test_bad_polygons_are_refused_before_pycocotools(folder, polygon):  # NaN used to segfault it
    _refused(folder, _coco(segmentation=[polygon]), "annotation 1", "polygon 0")


def test_huge_polygon_coordinates_are_clipped_to_the_image(folder):  # 1e30 used to segfault pycocotools
    big = 1e30
    (obj,) = _objects(folder, _coco(segmentation=[[-big, -big, big, -big, big, big, -big, big]]))
    assert obj.mask.shape == (HEIGHT, WIDTH) and obj.mask.dtype == bool and obj.mask.all()
    (obj,) = _objects(folder, _coco(segmentation=[[2, 2, 7, 2, 7, 7, 2, 7]]))
    assert 16 <= obj.mask.sum() <= 36


def _random_mask(seed=0):
    return np.random.default_rng(seed).random((HEIGHT, WIDTH)) > 0.6


def test_compressed_and_uncompressed_rle_decode_like_pycocotools(folder):
    mask = _random_mask()
    compressed = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    counts_text = compressed["counts"].decode("ascii")
    (obj,) = _objects(folder, _coco(segmentation={"size": [HEIGHT, WIDTH], "counts": counts_text}))
    assert np.array_equal(obj.mask, mask)
    flat = mask.ravel(order="F")  # COCO's uncompressed form (iscrowd): run lengths, column by column, 0s first
    runs = [len(group) for group in _groups(flat)]
    if flat[0]:
        runs = [0, *runs]
    (obj,) = _objects(folder, _coco(segmentation={"size": [HEIGHT, WIDTH], "counts": runs}, iscrowd=1))
    assert np.array_equal(obj.mask, mask)
    reference = mask_utils.decode(mask_utils.frPyObjects({"size": [HEIGHT, WIDTH], "counts": runs}, HEIGHT, WIDTH))
    assert np.array_equal(obj.mask, reference.astype(bool))


def _groups(flat):
    start = 0
    for i in range(1, len(flat) + 1):
        if i == len(flat) or flat[i] != flat[start]:
            yield flat[start:i]
            start = i


@pytest.mark.parametrize("rle, words", [
    ({"size": [WIDTH, HEIGHT], "counts": [HEIGHT * WIDTH]}, ("size",)),
    ({"size": [HEIGHT, WIDTH]}, ("counts",)),
    ({"counts": [HEIGHT * WIDTH]}, ("size",)),
    ({"size": [HEIGHT, WIDTH], "counts": [HEIGHT * WIDTH - 1]}, ("counts", "exactly")),
    ({"size": [HEIGHT, WIDTH], "counts": [HEIGHT * WIDTH + 1000]}, ("counts",)),  # pycocotools would write past its buffer
    ({"size": [HEIGHT, WIDTH], "counts": [-5, HEIGHT * WIDTH + 5]}, ("non-negative",)),
    ({"size": [HEIGHT, WIDTH], "counts": [100.5, 99.5]}, ("counts",)),
    ({"size": [HEIGHT, WIDTH], "counts": "PPPPPPPPPPPPP"}, ("counts",)),  # runs far beyond the image
    ({"size": [HEIGHT, WIDTH], "counts": "0j"}, ("counts",)),  # cut inside a number
    ({"size": [HEIGHT, WIDTH], "counts": "\x00\x01~~"}, ("counts",)),  # outside the alphabet
    ({"size": [HEIGHT, WIDTH], "counts": 200}, ("counts",)),
    ({"size": [10.0, 20.0], "counts": [200]}, ("size",)),
])
def test_bad_rle_is_refused(folder, rle, words):
    _refused(folder, _coco(segmentation=rle), "annotation 1", *words)


@pytest.mark.parametrize("change, words", [
    ({"id": DROP}, ("annotation #0", "'id'")), ({"id": 1.5}, ("annotation #0",)), ({"id": True}, ("annotation #0",)),
    ({"id": -1}, ("annotation #0",)), ({"id": 2**32}, ("annotation #0",)), ({"id": "1"}, ("annotation #0",)),
    ({"image_id": DROP}, ("annotation 1", "image_id")), ({"image_id": 1.0}, ("image_id",)),
    ({"bbox": DROP}, ("annotation 1", "bbox")), ({"bbox": [1, 2, 3]}, ("bbox",)), ({"bbox": [1, 2, 3, "4"]}, ("bbox",)),
    ({"bbox": [1, 2, float("nan"), 4]}, ("bbox",)), ({"bbox": [1, 2, -3, 4]}, ("negative",)),
    ({"bbox": [1, 2, 10**400, 4]}, ("bbox",)), ({"bbox": {"x": 1}}, ("bbox",)),
    ({"importance": "0.5"}, ("importance",)), ({"importance": float("nan")}, ("importance",)),
    ({"importance": 1e39}, ("importance",)), ({"importance": 10**400}, ("importance",)),
    ({"importance": True}, ("importance",)), ({"importance": None}, ("importance",)),
    ({"label": 5}, ("label", "string")), ({"label": ["cat"]}, ("label",)), ({"label": "a\ud800b"}, ("label", "surrogate")),
    ({"category_id": DROP}, ("label", "category_id")), ({"category_id": 1.5}, ("category_id",)),
    ({"segmentation": "polygon"}, ("segmentation",)), ({"segmentation": 3}, ("segmentation",)),
])
def test_malformed_annotations_are_refused_naming_the_annotation_and_the_fix(folder, change, words):
    _refused(folder, _coco(**change), *words)


@pytest.mark.parametrize("coco, words", [
    ({}, ("images",)), ({"images": {}}, ("images",)), ({"images": [1]}, ("images",)),
    ({"images": [{"id": 1}]}, ("image #0", "file_name")), ({"images": [{"id": 1, "file_name": 7}]}, ("file_name",)),
    ({"images": [{"file_name": "tiny.png"}]}, ("'tiny.png'", "'id'")),
    ({"images": [{"file_name": "tiny.png", "id": 1.5}]}, ("'id'",)),
    ({"images": [{"file_name": "tiny.png", "id": 1}], "annotations": {}}, ("annotations",)),
    ({"images": [{"file_name": "tiny.png", "id": 1}], "annotations": [[1, 2]]}, ("annotations",)),
    ({"images": [{"file_name": "tiny.png", "id": 1}], "categories": [{"id": 1, "name": 5}]}, ("category #0",)),
    ({"images": [{"file_name": "tiny.png", "id": 1}], "categories": [{"name": "x"}]}, ("category #0",)),
    ([], ("COCO",)), ("[" * 100_000, ("not valid JSON",)), ("[" + "1" * 5000 + "]", ("not valid JSON",)),
    (b"{\"images\": [\xff]}", ("UTF-8",)), ("{\"images\": [\x00]}", ("JSON",)),
])
def test_malformed_files_are_refused(folder, coco, words):
    _refused(folder, coco, *words)


def test_duplicate_annotation_ids_are_refused(folder):
    coco = _coco()
    coco["annotations"] *= 2
    _refused(folder, coco, "used twice")


def test_valid_annotations_still_load(folder):
    coco = _coco(label="left eye", importance=0.25)
    coco["annotations"].append({"id": 2, "image_id": 1, "category_id": 1, "bbox": [15, -5, 10, 100]})  # clipped
    coco["annotations"].append({"id": 3, "image_id": 2, "bbox": "ignored: another image"})
    first, second = _objects(folder, coco)
    assert first.label == "left eye" and first.importance == 0.25 and first.mask.sum() == 25
    assert second.label == "thing" and second.box == (15.0, 0.0, 20.0, 10.0) and second.mask.sum() == 50
    # wholly outside the image it is refused (issue 20 finding 6): see test_an_object_outside_the_image_is_refused...


def _png_header(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


@pytest.mark.parametrize("content, words", [
    (_png_header(20000, 20000) + b"\x00\x00\x00\x00IEND\xaeB`\x82", ("too large",)),  # DecompressionBombError
    (_png_header(70000, 2) + b"\x00\x00\x00\x00IEND\xaeB`\x82", ("65535",)),
    (_png_header(20, 10) + b"\x00\x00\x00\x05IDATxxxxx\x00\x00\x00\x00", ("cannot read",)),
    (b"not an image at all", ("cannot read",)),
])
def test_unreadable_or_huge_images_are_invalid_image_errors(folder, content, words):
    (folder / "bad.png").write_bytes(content)
    start = time.perf_counter()
    for call in (lambda: load_image(folder / "bad.png"), lambda: to_uint8_array(folder / "bad.png")):
        with pytest.raises(InvalidImageError) as caught:
            call()
        assert all(word in str(caught.value) for word in words)
    assert time.perf_counter() - start < 2
    coco = _coco()
    coco["images"][0]["file_name"] = "bad.png"
    (folder / "ann.json").write_text(json.dumps(coco))
    with pytest.raises(InvalidImageError):
        load_coco(folder / "ann.json")


def test_a_missing_image_file_is_a_data_file_error(folder):
    coco = _coco()
    coco["images"][0]["file_name"] = "missing.png"
    (folder / "ann.json").write_text(json.dumps(coco))
    with pytest.raises(DataFileError, match="not found"):
        load_coco(folder / "ann.json")


# Hypothesis: random JSON, and valid files with one value anywhere replaced by random JSON.
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) \
    | st.sampled_from([1, 2, 0, -1, 2**32, 1.5, "tiny.png", [2, 2, 5, 5], [HEIGHT, WIDTH], "0j", 10**300])
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(
        st.sampled_from(["images", "annotations", "categories", "id", "image_id", "file_name", "bbox", "segmentation",
                         "size", "counts", "label", "importance", "category_id", "name"]), inner, max_size=5),
    max_leaves=25,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


VALID = _coco(segmentation=[[2, 2, 7, 2, 7, 7, 2, 7]], importance=0.5, label="x")
VALID["annotations"].append({"id": 2, "image_id": 1, "bbox": [0, 0, 20, 10], "category_id": 1,
                             "segmentation": {"size": [HEIGHT, WIDTH], "counts": [50, 100, 50]}})
PATHS = list(_paths(VALID))
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _objects_or_data_file_error(folder, coco):
    try:
        objects = _objects(folder, coco)
    except DataFileError as error:
        assert "\n" not in str(error)
        return
    for obj in objects:
        assert obj.mask.shape == (HEIGHT, WIDTH) and obj.mask.dtype == bool
        assert isinstance(obj.label, str) and isinstance(obj.object_id, int) and np.isfinite(obj.importance)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coco-fuzz")
    Image.new("RGB", (WIDTH, HEIGHT)).save(folder / "tiny.png")
    return folder


@FUZZ
@given(st.sampled_from(PATHS), json_values)
def test_a_valid_file_with_any_value_replaced_gives_objects_or_a_data_file_error(fuzz_folder, path, new):
    _objects_or_data_file_error(fuzz_folder, _replace(VALID, path, new))


@FUZZ
@given(json_values)
def test_random_json_gives_objects_or_a_data_file_error(fuzz_folder, coco):
    _objects_or_data_file_error(fuzz_folder, coco)


@FUZZ
@given(st.sampled_from(PATHS), json_values)
def test_load_coco_gives_samples_or_a_package_error(fuzz_folder, path, new):
    (fuzz_folder / "load.json").write_text(json.dumps(_replace(VALID, path, new)))
    try:
        samples = load_coco(fuzz_folder / "load.json")
    except (DataFileError, InvalidImageError):
        return
    assert all(s.image.shape[:2] == (HEIGHT, WIDTH) for s in samples.values())


# Issue 20, finding 2: annotation files that made pycocotools allocate gigabytes or crash, and every
# object's full-size mask built before the object count was checked. Bounds come first, in Python.
def _coco_file(folder, coco, name="ann.json"):
    path = folder / name
    path.write_text(json.dumps(coco))
    return path


def _polygon_coco(polygons, count=1):
    anns = [{"id": n, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "segmentation": polygons}
            for n in range(1, count + 1)]
    return {"images": [{"id": 1, "file_name": "tiny.png"}], "categories": [{"id": 1, "name": "thing"}],
            "annotations": anns}


def _zigzag(points, width, height):
    return [float(v) for i in range(points) for v in ((0 if i % 2 else width), height * i / points)]


def test_a_100000_point_polygon_is_refused_in_a_subprocess_without_a_crash(folder):
    import subprocess
    import sys

    path = _coco_file(folder, _polygon_coco([_zigzag(100_000, 4000, 3000)]))
    script = ("import sys; from sdcomp_lite.data import objects_from_coco_file; from sdcomp_lite.errors import DataFileError\n"
              "try: objects_from_coco_file(sys.argv[1], 'tiny.png', 3000, 4000)\n"
              "except DataFileError as error: print('refused:', error)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # a segfault would be -11
    assert "refused:" in done.stdout and "100000 points (at most 10000)" in done.stdout and "simplify" in done.stdout


@pytest.mark.parametrize("polygons, count, height, width, words", [
    ([[0, 0, 5, 0, 5, 5]] * 1001, 1, HEIGHT, WIDTH, ("1001 polygons in one object", "at most 1000")),
    ([_zigzag(2_500, 1000, 1000)], 1, 1000, 1000, ("outline is over 2000000 pixels",)),
    ([[0, 0, 5, 0, 5, 5]], 400, 20_000, 20_000, ("400 objects of a 20000x20000 image need", "GiB of masks")),
])
def test_polygon_and_object_bounds_are_checked_before_any_mask(folder, polygons, count, height, width, words):
    start = time.perf_counter()
    with pytest.raises(DataFileError) as caught:
        objects_from_coco_file(_coco_file(folder, _polygon_coco(polygons, count)), "tiny.png", height, width)
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert time.perf_counter() - start < 5  # 400 masks of 20000x20000 would be 160 GB


def test_more_objects_than_the_container_holds_are_refused_before_their_masks(folder):
    from sdcomp_lite.types import MAX_OBJECTS

    path = _coco_file(folder, _polygon_coco([], MAX_OBJECTS + 1))
    with pytest.raises(DataFileError, match=f"{MAX_OBJECTS + 1} annotations for one image"):
        objects_from_coco_file(path, "tiny.png", 1, 1)


def test_polygons_at_the_bounds_still_rasterise(folder):
    polygon = _zigzag(3_000, 640, 480)  # 3000 points, an outline of 1.9 million pixels
    (obj,) = objects_from_coco_file(_coco_file(folder, _polygon_coco([polygon])), "tiny.png", 480, 640)
    assert obj.mask.shape == (480, 640) and obj.mask.any()


# Issue 20, finding 6: a declared size that is not the image's, and two images with one file name.
def test_a_declared_size_that_is_not_the_images_is_refused(folder):
    coco = _coco()
    coco["images"][0].update(width=640, height=480)
    with pytest.raises(DataFileError, match="declares 640x480 but its file is 20x10"):
        objects_from_coco_file(_coco_file(folder, coco), "tiny.png", HEIGHT, WIDTH)
    with pytest.raises(DataFileError, match="declares 640x480"):
        load_coco(folder / "ann.json")
    coco["images"][0].update(width=WIDTH, height=HEIGHT)
    assert len(objects_from_coco_file(_coco_file(folder, coco), "tiny.png", HEIGHT, WIDTH)) == 1


def test_two_images_with_one_file_name_are_refused_unless_the_base_name_decides(folder):
    coco = _coco()
    coco["images"] = [{"id": 1, "file_name": "a/tiny.png"}, {"id": 2, "file_name": "b/tiny.png"}]
    path = _coco_file(folder, coco)
    with pytest.raises(DataFileError, match="2 images are called 'tiny'"):
        objects_from_coco_file(path, "tiny.png", HEIGHT, WIDTH)
    with pytest.raises(DataFileError, match="2 images are called 'tiny'"):
        load_coco(path)
    coco["images"] = [{"id": 1, "file_name": "tiny.png"}, {"id": 2, "file_name": "tiny.jpg"}]
    assert len(objects_from_coco_file(_coco_file(folder, coco), "tiny.png", HEIGHT, WIDTH)) == 1  # the exact name
    assert objects_from_coco_file(_coco_file(folder, coco), "tiny.jpg", HEIGHT, WIDTH) == []


def test_the_cli_refuses_a_wrong_declared_size_in_one_line(folder, capsys):
    from sdcomp_lite.cli import main

    coco = _coco()
    coco["images"][0].update(width=640, height=480)
    status = main(["encode", str(folder / "tiny.png"), "--objects", str(_coco_file(folder, coco)),
                   "-o", str(folder / "x.sdc")])
    err = capsys.readouterr().err.strip()
    assert status != 0 and len(err.splitlines()) == 1 and "Traceback" not in err and "declares 640x480" in err, err
    assert not (folder / "x.sdc").exists()


# Issue 20, finding 10: coco7-style files (load_sample("coco-N")) with a bad line.
@pytest.fixture
def coco7_folder(tmp_path, monkeypatch):
    Image.new("RGB", (WIDTH, HEIGHT), (1, 2, 3)).save(tmp_path / "0.jpg")
    Image.new("L", (WIDTH, HEIGHT), 71).save(tmp_path / "0.png")
    monkeypatch.setenv("SDCOMP_COCO7", str(tmp_path))
    return tmp_path


GOOD_LINE = {"img_fn": "imgs/0.jpg", "img_id": "4495", "bboxes": [{"bbox": [1, 1, 5, 5], "category": "tv", "category_id": 72}]}


@pytest.mark.parametrize("line, words", [
    ("{not json", ("line 2", "not valid JSON")),
    ("[1, 2]", ("line 2", "must be a JSON object")),
    (json.dumps({k: v for k, v in GOOD_LINE.items() if k != "bboxes"}), ("line 2", "needs 'bboxes'")),
    (json.dumps({**GOOD_LINE, "bboxes": [{"bbox": [1, 1, 5], "category": "tv", "category_id": 72}]}),
     ("line 2, bboxes[0]", "four finite numbers")),
    (json.dumps({**GOOD_LINE, "bboxes": [{"bbox": [1, 1, 5, 5], "category": "tv", "category_id": "72"}]}),
     ("line 2, bboxes[0]", "'category_id'")),
    (json.dumps({**GOOD_LINE, "bboxes": [{"bbox": [1, 1, 5, 5], "category": 7, "category_id": 72}]}),
     ("line 2, bboxes[0]", "'category'")),
    (json.dumps({**GOOD_LINE, "img_id": None}), ("line 2", "'img_id'")),
    ('{"img_fn": "imgs/0.jpg", "img_id": "1", "bboxes": [{"bbox": [1e999, 1, 5, 5], "category": "tv", "category_id": 1}]}',
     ("line 2, bboxes[0]", "finite")),
])
def test_a_bad_coco7_line_names_the_line_and_the_fix(coco7_folder, line, words):
    from sdcomp_lite.data import load_sample

    (coco7_folder / "annotations.jsonl").write_text(json.dumps(GOOD_LINE) + "\n" + line + "\n")
    with pytest.raises(DataFileError) as caught:
        load_sample("coco-4495")
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_a_good_coco7_file_still_loads_and_bytes_that_are_not_utf8_are_refused(coco7_folder):
    from sdcomp_lite.data import load_sample

    (coco7_folder / "annotations.jsonl").write_text(json.dumps(GOOD_LINE) + "\n")
    (obj,) = load_sample("coco-4495").objects
    assert obj.label == "tv" and obj.box == (1, 1, 6, 6) and obj.mask.sum() == 25
    (coco7_folder / "annotations.jsonl").write_bytes(b"\xff\xfe" + json.dumps(GOOD_LINE).encode())
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_sample("coco-4495")


def test_an_object_outside_the_image_is_refused_not_coded_as_an_empty_layer(folder):
    coco = _coco(bbox=[400, 300, 50, 40], segmentation=[[400, 300, 450, 300, 450, 340]])  # drawn on a 640x480 copy
    with pytest.raises(DataFileError, match="lies outside the 20x10 image"):
        objects_from_coco_file(_coco_file(folder, coco), "tiny.png", HEIGHT, WIDTH)
    (obj,) = objects_from_coco_file(_coco_file(folder, _coco(bbox=[15, 5, 50, 40])), "tiny.png", HEIGHT, WIDTH)
    assert obj.box == (15, 5, 20, 10) and obj.area == 25  # partly inside: clipped, as before
