import json

import numpy as np
import pytest

from sdcomp_lite.data import list_samples, load_coco, load_sample, objects_from_coco_file
from sdcomp_lite.errors import DataFileError


def test_every_sample_loads_with_objects_inside_the_image():
    names = list_samples()
    assert names == ["astronaut", "chelsea", "coffee", "rocket"]
    for name in names:
        sample = load_sample(name)
        assert sample.image.dtype == np.uint8 and sample.image.shape[2] == 3
        assert sample.license and sample.source
        assert len(sample.objects) >= 3
        for obj in sample.objects:
            assert obj.mask.shape == sample.image.shape[:2]
            assert obj.area > 100, f"{name}/{obj.label} has an almost empty mask"
            x0, y0, x1, y1 = obj.box
            ys, xs = np.nonzero(obj.mask)
            assert x0 <= xs.min() and xs.max() < x1 + 1 and y0 <= ys.min() and ys.max() < y1 + 1
            assert obj.source == "annotations"


def test_occluded_objects_do_not_overlap_their_occluders():
    coffee = {o.label: o for o in load_sample("coffee").objects}
    assert not (coffee["saucer"].mask & coffee["cup"].mask).any()


def test_unknown_sample_and_missing_file():
    with pytest.raises(DataFileError, match="choose one of"):
        load_sample("zebra")
    with pytest.raises(DataFileError, match="not found"):
        load_coco("nowhere/annotations.json")


def test_polygon_and_box_only_annotations(tmp_path):
    from PIL import Image

    Image.new("RGB", (20, 10), (10, 20, 30)).save(tmp_path / "tiny.png")
    coco = {
        "images": [{"id": 1, "file_name": "tiny.png", "width": 20, "height": 10}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 5, 5],
             "segmentation": [[2, 2, 7, 2, 7, 7, 2, 7]]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [10, 1, 4, 3], "importance": 0.3},
        ],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    objects = objects_from_coco_file(tmp_path / "ann.json", "tiny.png", 10, 20)
    assert objects[0].mask.sum() > 16
    assert objects[1].mask.sum() == 12 and objects[1].importance == 0.3
    assert load_coco(tmp_path / "ann.json")["tiny"].objects[0].label == "thing"


def test_malformed_json(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataFileError, match="not valid JSON"):
        load_coco(tmp_path / "bad.json")
