"""Issue 17 item 1: the 128 shared COCO val2017 photographs as a dataset of samples
(``list_samples("coco-val128")``, ``load_sample("coco-val128/<COCO image id>")``)."""

import json

import numpy as np
import pytest
from PIL import Image

from sdcomp_lite.data import COCO_VAL128, list_samples, load_coco_val128, load_sample
from sdcomp_lite.errors import DataFileError


def _shared_folder():
    from sdcomp_lite.data import coco_val128_dir

    try:
        return coco_val128_dir()
    except DataFileError as error:
        pytest.skip(f"the shared coco-val128 photographs are absent: {error}")


def test_the_128_names_load_with_people_first_and_box_masks_marked():
    _shared_folder()
    names = list_samples(COCO_VAL128)
    assert len(names) == 128 and names[0] == "coco-val128/139" and len(set(names)) == 128
    sample = load_sample("coco-val128/139")
    assert sample.name == "coco-val128/139" and sample.image.shape == (426, 640, 3) and sample.image.dtype == np.uint8
    labels = [obj.label for obj in sample.objects]
    assert labels[:2] == ["person", "person"] and "person" not in labels[2:]
    assert [obj.object_id for obj in sample.objects] == list(range(1, len(labels) + 1))
    for obj in sample.objects:
        assert obj.source == "annotations" and obj.mask.shape == (426, 640) and obj.area > 0
        x0, y0, x1, y1 = obj.box
        ys, xs = np.nonzero(obj.mask)
        assert x0 - 1 <= xs.min() and xs.max() < x1 + 1 and y0 - 1 <= ys.min() and ys.max() < y1 + 1
    boxed = load_sample("coco-val128/9914")  # one of the 28 photographs annotated with boxes only
    assert "box masks" in boxed.source and boxed.objects
    assert all(obj.source == "annotations/box" and obj.area == obj.mask[obj.mask.any(1)][:, obj.mask.any(0)].size
               for obj in boxed.objects)


def test_an_unknown_id_names_the_naming():
    _shared_folder()
    with pytest.raises(DataFileError, match="coco-val128/139"):
        load_sample("coco-val128/1")
    with pytest.raises(DataFileError, match="coco-val128/139"):
        load_sample("coco-val128/000000000139")  # the id, not the file stem


@pytest.fixture
def tiny_val128(tmp_path, monkeypatch):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(tmp_path / "images" / "000000000007.jpg")
    coco = {"images": [{"id": 7, "file_name": "000000000007.jpg", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 40, 40], "segmentation": None},
                            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [50, 5, 10, 30],
                             "segmentation": [[50, 5, 60, 5, 60, 35, 50, 35]]}]}
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    monkeypatch.setenv("SDCOMP_COCO_VAL128", str(tmp_path))
    return tmp_path, coco


def test_the_folder_comes_from_the_environment_and_people_come_first(tiny_val128):
    assert list_samples(COCO_VAL128) == ["coco-val128/7"]
    sample = load_sample("coco-val128/7")
    assert [(o.object_id, o.label, o.source) for o in sample.objects] == [
        (1, "person", "annotations"), (2, "car", "annotations/box")]
    assert sample.objects[1].area == 40 * 40


def test_a_declared_size_that_is_not_the_files_is_refused(tiny_val128):
    folder, coco = tiny_val128
    coco["images"][0].update(width=640, height=480)
    (folder / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DataFileError, match="declares 640x480 but its file is 64x48"):
        load_coco_val128(7)


def test_a_missing_folder_says_which_variable_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("SDCOMP_COCO_VAL128", str(tmp_path / "nowhere"))
    with pytest.raises(DataFileError, match="SDCOMP_COCO_VAL128"):
        list_samples(COCO_VAL128)
