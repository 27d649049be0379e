"""The sample photographs in ``data/`` and their COCO-format annotations.

Taught in notebooks/00_quickstart.ipynb (section 1).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from sdcomp_lite.errors import DataFileError, InvalidObjectError
from sdcomp_lite.images import load_image, to_uint8_array
from sdcomp_lite.types import MAX_IMPORTANCE, MAX_OBJECTS, SceneObject, box_mask


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


def list_samples(folder: str | Path | None = None) -> list[str]:
    """Names of the sample images, e.g. ``["astronaut", "chelsea", "coffee", "rocket"]``.

    ``folder``: a folder with an ``annotations.json`` (default ``data/``), or the dataset name
    ``"coco-val128"`` (a string), whose names are ``"coco-val128/<COCO image id>"`` in id order,
    e.g. ``"coco-val128/139"``; each one loads with :func:`load_sample`.
    """
    if isinstance(folder, str) and folder == COCO_VAL128:
        path = coco_val128_dir() / "annotations.json"
        images, _, _ = _coco_parts(_read_json(path), path)
        return [f"{COCO_VAL128}/{image['id']}" for image in sorted(images, key=lambda image: image["id"])]
    path = (Path(folder) if folder else data_dir()) / "annotations.json"
    images, _, _ = _coco_parts(_read_json(path), path)
    return [Path(image["file_name"]).stem for image in images]


def coco7_dir() -> Path:
    """The shared COCO photographs (held out: never copied into the repository): ``$SDCOMP_COCO7``
    if set, else ``../shared/data/coco7`` beside the repository."""
    configured = os.environ.get("SDCOMP_COCO7")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data" / "coco7"
    if not (folder / "annotations.jsonl").is_file():
        raise DataFileError(f"the shared COCO photographs are not at {folder}; set SDCOMP_COCO7 to their folder.")
    return folder


COCO_VAL128 = "coco-val128"


def coco_val128_dir() -> Path:
    """The 128 shared COCO val2017 photographs (held out: never copied into the repository):
    ``$SDCOMP_COCO_VAL128`` if set, else ``../shared/data/coco-val128`` beside the repository.
    It holds ``annotations.json`` (COCO format) and ``images/``."""
    configured = os.environ.get("SDCOMP_COCO_VAL128")
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data" / COCO_VAL128
    if not (folder / "annotations.json").is_file():
        raise DataFileError(f"the shared COCO photographs {COCO_VAL128} are not at {folder}; "
                            "set SDCOMP_COCO_VAL128 to their folder.")
    return folder


def load_sample(name: str, folder: Path | None = None) -> Sample:
    """Load one sample image and its objects (source ``"annotations"``, importance 1.0).

    Names starting with ``coco-val128/`` are the 128 shared COCO val2017 photographs, named by
    their COCO image id (``"coco-val128/139"``; see :func:`load_coco_val128`); other names starting
    with ``coco-`` are the seven held-out shared COCO photographs (:func:`coco7_dir`). Benchmarks use
    both to check numbers on images outside the repository.
    """
    if folder is None and isinstance(name, str) and name.startswith(COCO_VAL128 + "/"):
        return load_coco_val128(name.removeprefix(COCO_VAL128 + "/"))
    if folder is None and isinstance(name, str) and name.startswith("coco-"):
        held_out = {sample.name: sample for sample in load_coco7(coco7_dir())}
        if name not in held_out:
            raise DataFileError(f"no shared COCO photograph called {name!r}; choose one of {sorted(held_out)}")
        return held_out[name]
    folder = folder or data_dir()
    samples = load_coco(folder / "annotations.json", folder)
    if name not in samples:
        raise DataFileError(f"no sample called {name!r}; choose one of {sorted(samples)}")
    return samples[name]


def load_coco(path: str | Path, image_root: str | Path | None = None) -> dict[str, Sample]:
    """Read a COCO-format file (boxes with polygon or RLE masks) into samples keyed by file stem.

    Each annotation may carry a ``label`` (an instance name such as ``"left eye"``); otherwise
    its category name is used. Everything is checked before use: a malformed entry raises
    :class:`DataFileError` naming it and what to fix (see :func:`objects_from_coco_file`), and so
    do two images with the same file stem (``a/x.jpg`` and ``b/x.png``: which is which?).
    """
    path = Path(path)
    coco = _read_json(path)
    root = Path(image_root) if image_root else path.parent
    images, annotations, names = _coco_parts(coco, path)
    stems = [Path(info["file_name"]).stem for info in images]
    for stem in stems:
        if stems.count(stem) > 1:
            _ambiguous(path, stem, [info for info in images if Path(info["file_name"]).stem == stem])
    samples = {}
    for info in images:
        image = to_uint8_array(load_image(root / info["file_name"]))
        height, width = image.shape[:2]
        _check_declared_size(info, height, width, path)
        objects = _objects_of_image(annotations, info["id"], names, height, width, path)
        name = Path(info["file_name"]).stem
        samples[name] = Sample(name, image, tuple(objects), info.get("source", ""), info.get("license", ""))
    return samples


def objects_from_coco_file(path: str | Path, image_name: str, height: int, width: int) -> list[SceneObject]:
    """The objects of one image (matched by file stem) in a COCO file, without loading pixels.

    Checked first, with a :class:`DataFileError` naming the entry and the fix: the file is UTF-8
    JSON with an ``images`` list; images have a ``file_name`` and an ``id``; annotations have an
    ``id`` and an ``image_id`` (whole numbers in [0, 2**32)), a ``bbox`` of four finite numbers, a
    string ``label`` or a ``category_id``, a finite ``importance``; polygons hold an even number
    (at least 6) of finite coordinates (clipped to the image); RLE masks (``counts`` compressed as
    a string, or uncompressed as a list of whole numbers) have the image's ``size`` and counts that
    cover it exactly.

    Also refused before any mask is built: an image entry whose declared ``width``/``height`` are
    not ``width`` x ``height`` (its boxes would land elsewhere); two entries matching ``image_name``
    (``a/x.jpg`` and ``b/x.jpg``; an exact base-name match wins over a stem match); more objects
    than the container holds or than :data:`MAX_MASK_BYTES` of masks; a polygon of over
    :data:`MAX_POLYGON_POINTS` points, an object of over :data:`MAX_POLYGONS` polygons or an outline
    longer than :data:`MAX_OUTLINE` pixels (pycocotools allocates per outline pixel and crashes on
    huge ones). Boxes and masks refer to the picture as displayed (EXIF orientation applied, see
    :func:`~sdcomp_lite.images.load_image`).
    """
    path = Path(path)
    images, annotations, names = _coco_parts(_read_json(path), path)
    stem = Path(image_name).stem
    matches = [i for i in images if Path(i["file_name"]).stem == stem]
    if len(matches) > 1:
        exact = [i for i in matches if Path(i["file_name"]).name == Path(image_name).name]
        matches = exact if len(exact) == 1 else _ambiguous(path, stem, matches)
    if not matches:
        raise DataFileError(f"{path} has no image called {stem!r}.")
    _check_declared_size(matches[0], height, width, path)
    return _objects_of_image(annotations, matches[0]["id"], names, height, width, path)


def _ambiguous(path: Path, stem: str, matches: list[dict]) -> list[dict]:
    names = ", ".join(repr(info["file_name"]) for info in matches[:4])
    raise DataFileError(f"{path}: {len(matches)} images are called {stem!r} ({names}); the image is matched by file "
                        "name, so give each image its own name (or keep one entry per file).")


def load_coco7(folder: str | Path) -> list[Sample]:
    """The seven COCO val2017 photographs of the shared test data (``shared/data/coco7``).

    Only "thing" objects (COCO ids 1-90) are returned; each instance mask is approximated by
    its class's pixels of the COCO-Stuff label map inside its box (the map is semantic, not
    per instance). Each line of ``annotations.jsonl`` is checked first: a malformed one raises
    :class:`DataFileError` naming the line and what to fix.
    """
    folder = Path(folder)
    index = folder / "annotations.jsonl"
    if not index.is_file():
        raise DataFileError(f"not found: {index}")
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise DataFileError(f"{index} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8.") from None
    except OSError as error:
        raise DataFileError(f"cannot read {index}: {error}") from error
    samples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            samples.append(_coco7_sample(folder, line, f"{index}, line {number}"))
    return samples


_COCO7_LINE = ('{"img_fn": "imgs/0.jpg", "img_id": "4495", "bboxes": [{"bbox": [x, y, w, h], "category": "tv", '
               '"category_id": 72}, ...]}')


def _coco7_sample(folder: Path, line: str, where: str) -> Sample:
    """One line of coco7's ``annotations.jsonl`` as a sample (checked before any pixel is read)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise DataFileError(f"{where} is not valid JSON ({str(error)[:120]}); each line is one object: {_COCO7_LINE}") from None
    if not isinstance(record, dict):
        raise DataFileError(f"{where} must be a JSON object like {_COCO7_LINE}; got {_show(record)}.")
    name, image_id, items = record.get("img_fn"), record.get("img_id"), record.get("bboxes")
    if not isinstance(name, str) or not Path(name).stem or not (isinstance(image_id, str) and image_id.isdigit()
                                                                or _whole_id(image_id) is not None):
        raise DataFileError(f"{where} needs 'img_fn' (the image's file name) and 'img_id' (its COCO id, digits), "
                            f"e.g. {_COCO7_LINE}.")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise DataFileError(f"{where} needs 'bboxes': a list of objects such as {{\"bbox\": [x, y, w, h], "
                            f"\"category\": \"tv\", \"category_id\": 72}}; got {_show(items)}.")
    checked = [_coco7_item(item, f"{where}, bboxes[{position}]") for position, item in enumerate(items)]
    stem = Path(name).stem
    image = to_uint8_array(load_image(folder / f"{stem}.jpg"))
    label_map = np.asarray(load_image(folder / f"{stem}.png"))
    if label_map.shape != image.shape[:2]:
        raise DataFileError(f"{where}: the label map {stem}.png is {label_map.shape[1]}x{label_map.shape[0]} (or not one "
                            f"channel) but {stem}.jpg is {image.shape[1]}x{image.shape[0]}; use the matching pair.")
    objects = []
    for number, (category, category_id, (x, y, w, h)) in enumerate(checked, start=1):
        if not 1 <= category_id <= 90:
            continue
        mask = box_mask((x, y, x + w, y + h), *label_map.shape) & (label_map == category_id - 1)
        objects.append(SceneObject(number, category, (x, y, x + w, y + h), mask, 1.0, 1.0, "coco7"))
    return Sample(f"coco-{image_id}", image, tuple(objects), "COCO val2017", "see COCO")


def _coco7_item(item: dict, where: str) -> tuple[str, int, tuple[float, float, float, float]]:
    """(category name, category id, (x, y, w, h)) of one checked coco7 box."""
    box = item.get("bbox")
    numbers = [_finite(v) for v in box] if isinstance(box, list) else []
    if len(numbers) != 4 or None in numbers or numbers[2] < 0 or numbers[3] < 0:
        raise DataFileError(f"{where}: 'bbox' must be [x, y, width, height], four finite numbers with width and "
                            f"height >= 0; got {_show(box)}.")
    category, category_id = item.get("category"), item.get("category_id")
    if not isinstance(category, str) or _whole_id(category_id) is None:
        raise DataFileError(f"{where}: needs 'category' (a name in quotes, e.g. \"tv\") and 'category_id' ({_ID_RULE}); "
                            f"got {_show(category)} and {_show(category_id)}.")
    x, y, w, h = numbers
    return category, category_id, (x, y, w, h)


def load_coco_val128(image_id: str | int, folder: str | Path | None = None) -> Sample:
    """One of the 128 shared COCO val2017 photographs with its annotated objects (only its own
    pixels are decoded and only its own masks are built).

    ``image_id``: the COCO image id (``139`` or ``"139"``); the sample is named ``"coco-val128/139"``.
    ``folder``: default :func:`coco_val128_dir`. Labels are COCO class names; masks come from the
    COCO polygons (source ``"annotations"``). The photographs whose annotations have no polygon
    (28 of the 128) get box masks, marked by the objects' source ``"annotations/box"`` and the
    sample's ``source``. Order: people first, then larger boxes first (ties by annotation id),
    numbered 1, 2, ... in that order; importance 1.0 (a ranker sets it).
    """
    folder = Path(folder) if folder else coco_val128_dir()
    path = folder / "annotations.json"
    images, annotations, names = _coco_parts(_read_json(path), path)
    wanted = str(image_id)
    matches = [info for info in images if str(info["id"]) == wanted]
    if not matches:
        choices = sorted(info["id"] for info in images)
        raise DataFileError(f"no photograph {COCO_VAL128}/{wanted} in {path}; use a COCO image id such as "
                            f"{COCO_VAL128}/{choices[0] if choices else 139} (list_samples({COCO_VAL128!r}) lists all).")
    info = matches[0]
    image = to_uint8_array(load_image(folder / "images" / info["file_name"]))
    height, width = image.shape[:2]
    _check_declared_size(info, height, width, path)
    own = [ann for ann in annotations if ann["image_id"] == info["id"]]
    ordered = sorted(own, key=lambda ann: (names.get(ann.get("category_id")) != "person", -_box_area(ann), ann["id"]))
    objects = []
    for number, ann in enumerate(ordered, start=1):
        obj = _object(ann, names, height, width, f"{path}: annotation {ann['id']}")
        boxed = ann.get("segmentation") in (None, [])
        objects.append(replace(obj, object_id=number, source="annotations/box" if boxed else "annotations"))
    boxes_only = any(obj.source == "annotations/box" for obj in objects)
    source = "COCO val2017" + (" (no polygons: box masks)" if boxes_only else "")
    return Sample(f"{COCO_VAL128}/{info['id']}", image, tuple(objects), source, "see COCO (CC BY 4.0 annotations)")


def _box_area(ann: dict) -> float:
    """The area of an annotation's bbox for ordering (0 when malformed: :func:`_object` refuses it later)."""
    box = ann.get("bbox")
    numbers = [_finite(v) for v in box] if isinstance(box, list) and len(box) == 4 else [None]
    return 0.0 if None in numbers else max(numbers[2], 0.0) * max(numbers[3], 0.0)


def _check_declared_size(info: dict, height: int, width: int, path: Path) -> None:
    """Refuse an image entry whose declared ``width``/``height`` differ from the pixels (its boxes would miss)."""
    declared = (info.get("width", width), info.get("height", height))
    if declared != (width, height):
        raise DataFileError(
            f"{path}: image {info['file_name']!r} declares {_show(declared[0])}x{_show(declared[1])} but its file is "
            f"{width}x{height}; fix 'width'/'height' (and its annotations) or use the right image file."
        )


def _coco_parts(coco: dict, path: Path) -> tuple[list[dict], list[dict], dict[int, str]]:
    """The checked images, annotations and category names of a COCO file."""
    images, annotations, categories = coco["images"], coco.get("annotations", []), coco.get("categories", [])
    for key, value in (("images", images), ("annotations", annotations), ("categories", categories)):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise DataFileError(f"{path}: {key!r} must be a list of objects ({{...}}), one per entry.")
    for position, info in enumerate(images):
        if not isinstance(info.get("file_name"), str) or not info["file_name"]:
            raise DataFileError(f"{path}: image #{position} has no 'file_name' (the image file's name, a string).")
        if _whole_id(info.get("id")) is None:
            raise DataFileError(f"{path}: image {info['file_name']!r} needs an 'id': {_ID_RULE}.")
    names = {}
    for position, category in enumerate(categories):
        if _whole_id(category.get("id")) is None or not isinstance(category.get("name"), str):
            raise DataFileError(f"{path}: category #{position} needs an 'id' ({_ID_RULE}) and a 'name' (a string).")
        names[category["id"]] = category["name"]
    for position, ann in enumerate(annotations):
        if _whole_id(ann.get("id")) is None:
            raise DataFileError(f"{path}: annotation #{position} needs an 'id': {_ID_RULE}.")
        if _whole_id(ann.get("image_id")) is None:
            raise DataFileError(f"{path}: annotation {ann['id']} needs an 'image_id' (the 'id' of its image): {_ID_RULE}.")
    return images, annotations, names


MAX_POLYGON_POINTS = 10_000  # points in one polygon (COCO's own have at most a few hundred)
MAX_POLYGONS = 1_000  # polygons in one object
MAX_OUTLINE = 2_000_000  # pixels along one object's polygons (pycocotools allocates about 40 bytes per pixel)
MAX_MASK_BYTES = 2**31  # objects x height x width: the bool masks of one image (2 GiB)


def _objects_of_image(annotations: list[dict], image_id: int, names: dict[int, str], height: int, width: int,
                      path: Path) -> list[SceneObject]:
    own = [ann for ann in annotations if ann["image_id"] == image_id]
    _check_budget(own, height, width, path)
    for ann in own:  # every outline checked before pycocotools sees any
        _polygons(ann.get("segmentation"), height, width, f"{path}: annotation {ann['id']}")
    objects = [_object(ann, names, height, width, f"{path}: annotation {ann['id']}") for ann in own]
    seen: set[int] = set()
    for obj in objects:
        if obj.object_id in seen:
            raise DataFileError(f"{path}: annotation id {obj.object_id} is used twice in one image; give each its own id.")
        seen.add(obj.object_id)
    return objects


def _check_budget(own: list[dict], height: int, width: int, path: Path) -> None:
    """Refuse an image with more objects than the container holds or than fit in :data:`MAX_MASK_BYTES` of masks."""
    if len(own) > MAX_OBJECTS:
        raise DataFileError(f"{path}: {len(own)} annotations for one image; the container holds at most {MAX_OBJECTS} "
                            "objects. Keep the ones that matter (or merge small ones).")
    if len(own) * height * width > MAX_MASK_BYTES:
        raise DataFileError(
            f"{path}: {len(own)} objects of a {width}x{height} image need {len(own) * height * width / 2**30:.1f} GiB "
            f"of masks (at most {MAX_MASK_BYTES / 2**30:.0f} GiB); keep fewer objects or downscale the image and its annotations."
        )


_ID_RULE = "a whole number from 0 to 4294967295, written without a decimal point"


def _whole_id(value) -> int | None:
    """``value`` if it is an int (not a bool, not a float) in [0, 2**32), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32 else None


def _finite(value) -> float | None:
    """``value`` as a float if it is a finite JSON number, else None (never an overflow)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _object(ann: dict, names: dict[int, str], height: int, width: int, where: str = "annotation") -> SceneObject:
    box = ann.get("bbox")
    numbers = [_finite(v) for v in box] if isinstance(box, list) else []
    if len(numbers) != 4 or None in numbers:
        raise DataFileError(f"{where}: 'bbox' must be [x, y, width, height], four finite numbers; got {_show(box)}.")
    x, y, w, h = numbers
    if w < 0 or h < 0:
        raise DataFileError(f"{where}: 'bbox' has a negative width or height ({_show(box)}); make both >= 0.")
    box = (min(max(x, 0.0), width), min(max(y, 0.0), height), min(max(x + w, 0.0), width), min(max(y + h, 0.0), height))
    if w * h > 0 and (box[2] - box[0]) * (box[3] - box[1]) == 0:
        raise DataFileError(f"{where}: its bbox {_show(ann.get('bbox'))} lies outside the {width}x{height} image, so its "
                            "layer would be empty; check that the annotations belong to this image at this size.")
    mask = _mask(ann.get("segmentation"), box, height, width, where)
    label = _label(ann, names, where)
    importance = ann.get("importance", 1.0)
    if _finite(importance) is None or abs(importance) > MAX_IMPORTANCE:
        raise DataFileError(f"{where}: 'importance' must be a finite number (e.g. 0.5, at most {MAX_IMPORTANCE:.3g} in "
                            f"magnitude), got {_show(importance)}.")
    try:
        return SceneObject(ann["id"], label, box, mask, float(importance), 1.0, "annotations")
    except InvalidObjectError as error:
        raise DataFileError(f"{where}: {error}") from error


def _label(ann: dict, names: dict[int, str], where: str) -> str:
    label = ann.get("label")
    if label is None or label == "":
        category = ann.get("category_id")
        if _whole_id(category) is None:
            raise DataFileError(f"{where}: give it a 'label' (a string) or a 'category_id' ({_ID_RULE}).")
        label = names.get(category, str(category))
    if not isinstance(label, str):
        raise DataFileError(f"{where}: 'label' must be a string, got {_show(label)}; write it in quotes.")
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        raise DataFileError(f"{where}: the label {label!r} is not valid text (a lone surrogate \\u escape); "
                            "fix or remove the escape.") from None
    return label


def _mask(segmentation, box: tuple[float, ...], height: int, width: int, where: str) -> np.ndarray:
    """The mask of a COCO segmentation: polygons, RLE (compressed or uncompressed) or none (the box)."""
    if segmentation is None or segmentation == []:
        return box_mask(box, height, width)
    if isinstance(segmentation, dict):
        return _rle_mask(segmentation, height, width, where)
    polygons = _polygons(segmentation, height, width, where)
    rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    return mask_utils.decode(rle).astype(bool)


def _polygons(segmentation, height: int, width: int, where: str) -> list[list[float]]:
    """The checked polygons of a segmentation, clipped to the image ([] for none or RLE): pycocotools
    needs finite numbers and crashes on outlines of millions of pixels, so both are bounded here."""
    if segmentation is None or segmentation == [] or isinstance(segmentation, dict):
        return []
    if not isinstance(segmentation, list):
        raise DataFileError(f"{where}: 'segmentation' must be a list of polygons or an RLE object, got {_show(segmentation)}.")
    if len(segmentation) > MAX_POLYGONS:
        raise DataFileError(f"{where}: {len(segmentation)} polygons in one object (at most {MAX_POLYGONS}); "
                            "simplify the mask or store it as RLE.")
    polygons, outline = [], 0.0
    for number, polygon in enumerate(segmentation):
        if isinstance(polygon, list) and len(polygon) > 2 * MAX_POLYGON_POINTS:
            raise DataFileError(f"{where}: polygon {number} has {len(polygon) // 2} points (at most {MAX_POLYGON_POINTS}); "
                                "simplify it (e.g. cv2.approxPolyDP) or store the mask as RLE.")
        coordinates = [_finite(v) for v in polygon] if isinstance(polygon, list) else [None]
        if None in coordinates or len(coordinates) < 6 or len(coordinates) % 2:
            raise DataFileError(
                f"{where}: polygon {number} must be a list [x1, y1, x2, y2, ...] of at least 3 points (an even number "
                f"of at least 6 finite numbers); got {_show(polygon)}."
            )
        xy = np.asarray(coordinates, dtype=np.float64).reshape(-1, 2)  # clipped: pycocotools needs sane numbers
        xy[:, 0] = xy[:, 0].clip(0, width)
        xy[:, 1] = xy[:, 1].clip(0, height)
        outline += float(np.abs(xy - np.roll(xy, 1, axis=0)).max(axis=1).sum())
        if outline > MAX_OUTLINE:
            raise DataFileError(f"{where}: its polygons' outline is over {MAX_OUTLINE} pixels long (a zigzag across the "
                                "image?); simplify them or store the mask as RLE.")
        polygons.append(xy.ravel().tolist())
    return polygons


def _rle_mask(rle: dict, height: int, width: int, where: str) -> np.ndarray:
    """Decode an RLE mask after checking it (pycocotools writes past its buffer for bad counts)."""
    size, counts = rle.get("size"), rle.get("counts")
    if size != [height, width] or not all(_whole_id(v) is not None for v in size):
        raise DataFileError(
            f"{where}: the RLE 'size' must be [height, width] = {[height, width]}, the image's; got {_show(size)}."
        )
    if isinstance(counts, str):
        runs = _compressed_counts(counts)
    elif isinstance(counts, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
        runs = counts
    else:
        raise DataFileError(f"{where}: the RLE 'counts' must be a string (compressed) or a list of whole numbers.")
    if runs is None or any(v < 0 for v in runs) or sum(runs) != height * width:
        raise DataFileError(f"{where}: the RLE 'counts' are damaged: they must be non-negative and cover the "
                            f"{height}x{width} image exactly ({height * width} pixels). Export the mask again.")
    values = np.resize(np.array([False, True]), len(runs))
    return np.repeat(values, np.asarray(runs, dtype=np.int64)).reshape((height, width), order="F")


def _compressed_counts(text: str) -> list[int] | None:
    """The run lengths of COCO's compressed RLE string (as pycocotools' rleFrString reads it); None if
    it is cut inside a number or holds a character outside the alphabet."""
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text) or shift > 35:
                return None
            code = ord(text[position]) - 48
            if not 0 <= code < 64:
                return None
            value |= (code & 0x1F) << shift
            more = code & 0x20
            position, shift = position + 1, shift + 5
            if not more and code & 0x10:
                value |= -1 << shift
        counts.append(value + (counts[-2] if len(counts) > 2 else 0))
    return counts


def _show(value, limit: int = 60) -> str:
    """A short description of a JSON value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DataFileError(f"annotation file not found: {path}")
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataFileError(f"cannot read {path}: {error}") from error
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8 JSON.") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, a number of over 4300 digits, deep nesting
        raise DataFileError(f"{path} is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(coco, dict) or "images" not in coco:
        raise DataFileError(f"{path} is not a COCO file: it has no 'images' list.")
    return coco
