"""The sample photographs in ``data/`` and their COCO-format annotations."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from sdcomp_lite.errors import DataFileError
from sdcomp_lite.images import load_image, to_uint8_array
from sdcomp_lite.types import SceneObject, box_mask


@dataclass(frozen=True, eq=False)
class Sample:
    """One photograph with its annotated objects (in annotation order)."""

    name: str
    image: np.ndarray  # uint8 (H, W, 3)
    objects: tuple[SceneObject, ...]
    source: str = ""
    license: str = ""


def data_dir() -> Path:
    """The ``data/`` folder: ``$SDCOMP_DATA`` if set, else the one beside the package."""
    configured = os.environ.get("SDCOMP_DATA")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[1] / "data"
    if not (folder / "annotations.json").is_file():
        raise DataFileError(
            f"sample data not found in {folder}; run from a clone of the sdcomp-lite repository "
            "or set SDCOMP_DATA to its data/ folder."
        )
    return folder


def list_samples(folder: Path | None = None) -> list[str]:
    """Names of the sample images, e.g. ``["astronaut", "chelsea", "coffee", "rocket"]``."""
    coco = _read_json((folder or data_dir()) / "annotations.json")
    return [Path(image["file_name"]).stem for image in coco["images"]]


def load_sample(name: str, folder: Path | None = None) -> Sample:
    """Load one sample image and its objects (source ``"annotations"``, importance 1.0)."""
    folder = folder or data_dir()
    samples = load_coco(folder / "annotations.json", folder)
    if name not in samples:
        raise DataFileError(f"no sample called {name!r}; choose one of {sorted(samples)}")
    return samples[name]


def load_coco(path: str | Path, image_root: str | Path | None = None) -> dict[str, Sample]:
    """Read a COCO-format file (boxes with polygon or RLE masks) into samples keyed by file stem.

    Each annotation may carry a ``label`` (an instance name such as ``"left eye"``); otherwise
    its category name is used.
    """
    path = Path(path)
    coco = _read_json(path)
    root = Path(image_root) if image_root else path.parent
    names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    samples = {}
    for info in coco["images"]:
        image = to_uint8_array(load_image(root / info["file_name"]))
        height, width = image.shape[:2]
        objects = [
            _object(ann, names, height, width)
            for ann in coco.get("annotations", [])
            if ann["image_id"] == info["id"]
        ]
        name = Path(info["file_name"]).stem
        samples[name] = Sample(name, image, tuple(objects), info.get("source", ""), info.get("license", ""))
    return samples


def objects_from_coco_file(path: str | Path, image_name: str, height: int, width: int) -> list[SceneObject]:
    """The objects of one image (matched by file stem) in a COCO file, without loading pixels."""
    coco = _read_json(Path(path))
    names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    matches = [i for i in coco["images"] if Path(i["file_name"]).stem == Path(image_name).stem]
    if not matches:
        raise DataFileError(f"{path} has no image called {Path(image_name).stem!r}.")
    image_id = matches[0]["id"]
    return [_object(a, names, height, width) for a in coco.get("annotations", []) if a["image_id"] == image_id]


def load_coco7(folder: str | Path) -> list[Sample]:
    """The seven COCO val2017 photographs of the shared test data (``shared/data/coco7``).

    Only "thing" objects (COCO ids 1-90) are returned; each instance mask is approximated by
    its class's pixels of the COCO-Stuff label map inside its box (the map is semantic, not
    per instance).
    """
    folder = Path(folder)
    index = folder / "annotations.jsonl"
    if not index.is_file():
        raise DataFileError(f"not found: {index}")
    samples = []
    for line in index.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        stem = Path(record["img_fn"]).stem
        image = to_uint8_array(load_image(folder / f"{stem}.jpg"))
        label_map = np.asarray(load_image(folder / f"{stem}.png"))
        objects = []
        for number, item in enumerate(record["bboxes"], start=1):
            if not 1 <= item["category_id"] <= 90:
                continue
            x, y, w, h = item["bbox"]
            mask = box_mask((x, y, x + w, y + h), *label_map.shape) & (label_map == item["category_id"] - 1)
            objects.append(SceneObject(number, item["category"], (x, y, x + w, y + h), mask, 1.0, 1.0, "coco7"))
        samples.append(Sample(f"coco-{record['img_id']}", image, tuple(objects), "COCO val2017", "see COCO"))
    return samples


def _object(ann: dict, names: dict[int, str], height: int, width: int) -> SceneObject:
    segmentation = ann.get("segmentation")
    x, y, w, h = ann["bbox"]
    if isinstance(segmentation, dict):
        rle = dict(segmentation)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
        mask = mask_utils.decode(rle).astype(bool)
    elif isinstance(segmentation, list) and segmentation:
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        mask = mask_utils.decode(rle).astype(bool)
    else:  # box only: the box is the mask
        mask = box_mask((x, y, x + w, y + h), height, width)
    if mask.shape != (height, width):
        raise DataFileError(f"annotation {ann.get('id')} has a mask of shape {mask.shape}, not {(height, width)}.")
    label = ann.get("label") or names.get(ann["category_id"], str(ann["category_id"]))
    importance = float(ann.get("importance", 1.0))
    return SceneObject(int(ann["id"]), label, (x, y, x + w, y + h), mask, importance, 1.0, "annotations")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DataFileError(f"annotation file not found: {path}")
    try:
        coco = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataFileError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(coco, dict) or "images" not in coco:
        raise DataFileError(f"{path} is not a COCO file: it has no 'images' list.")
    return coco
