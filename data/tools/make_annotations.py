"""How data/annotations.json was made (kept for provenance; users never need to run it).

Boxes and polygons were drawn by hand on a 50-pixel grid over each photograph. Masks for
objects with clear edges were then cut out of their box with OpenCV's GrabCut (5 iterations,
deterministic), or drawn as polygons where GrabCut fails (thin or low-contrast shapes). Every
overlay was checked by eye (data/overlays/). Run from the repository root:

    python data/tools/make_annotations.py
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[1]

# name -> (skimage loader, source description, licence, [objects])
# object: (label, category, polygon drawn by hand, refine with GrabCut?, occluded by [labels])
IMAGES = {
    "astronaut": (
        "astronaut",
        "scikit-image data.astronaut(): NASA photograph of Eileen Collins (NASA Great Images)",
        "Public domain (NASA), as stated in scikit-image",
        [
            ("person", "person", [(225, 14), (262, 20), (290, 45), (300, 90), (292, 128), (268, 140), (262, 150), (283, 172), (300, 195),
                                  (306, 230), (335, 250), (355, 290), (362, 345), (330, 370), (300, 400),
                                  (285, 440), (278, 512), (25, 512), (20, 470), (25, 380), (35, 330),
                                  (50, 270), (80, 245), (115, 225), (122, 195), (118, 170), (140, 155),
                                  (175, 150), (178, 125), (160, 112), (152, 70), (165, 40), (190, 22)], True, ["helmet"]),
            ("helmet", "helmet", [(390, 343), (430, 348), (465, 365), (490, 390), (505, 430), (509, 480),
                                  (507, 512), (278, 512), (280, 460), (292, 415), (315, 380), (350, 355)],
             True, []),
            ("space shuttle model", "toy", [(400, 15), (415, 0), (430, 15), (440, 45), (452, 50),
                                            (456, 180), (460, 235), (470, 275), (420, 288), (360, 285),
                                            (362, 225), (355, 215), (370, 180), (378, 95), (385, 45),
                                            (398, 45)], True, []),
            ("flag", "flag", [(0, 0), (60, 0), (65, 60), (75, 120), (95, 210), (98, 240), (60, 260),
                              (30, 320), (20, 400), (20, 512), (0, 512)], True, ["person"]),
            ("face", "face", "ellipse:226,115,46,50", True, []),
        ],
    ),
    "chelsea": (
        "chelsea",
        "scikit-image data.chelsea(): Chelsea the cat, photograph by Stefan van der Walt",
        "CC0 (Stefan van der Walt), as stated in scikit-image",
        [
            ("cat", "cat", [(0, 0), (350, 0), (395, 10), (385, 60), (372, 100), (380, 150), (385, 200),
                            (395, 260), (400, 300), (0, 300)], True, []),
            ("left eye", "eye", "ellipse:170,115,36,32", True, []),
            ("right eye", "eye", "ellipse:320,136,26,30", True, []),
        ],
    ),
    "coffee": (
        "coffee",
        "scikit-image data.coffee(): espresso cup, photograph by Rachel Michetti (Pikolo Espresso Bar)",
        "CC0 (Rachel Michetti), as stated in scikit-image",
        [
            ("cup", "cup", [(180, 60), (210, 30), (260, 18), (320, 18), (370, 28), (405, 55), (412, 90),
                            (405, 150), (395, 195), (380, 225), (355, 245), (320, 258), (280, 262),
                            (255, 255), (250, 300), (225, 308), (200, 295), (197, 255), (205, 235),
                            (190, 215), (180, 180), (176, 130), (175, 95)], True, []),
            ("spoon", "spoon", [(405, 68), (418, 66), (424, 75), (410, 130), (398, 190), (390, 230),
                                (405, 260), (404, 295), (390, 318), (360, 326), (335, 318), (326, 290),
                                (332, 262), (355, 245), (375, 232), (385, 185), (398, 120)], True, ["cup"]),
            ("saucer", "saucer", "ellipse:278,225,204,166", True, ["cup", "spoon"]),
        ],
    ),
    "rocket": (
        "rocket",
        "scikit-image data.rocket(): DSCOVR on Falcon 9 at launch, photograph by SpaceX",
        "Public domain (SpaceX), as stated in scikit-image",
        [
            ("rocket", "rocket", [(314, 138), (320, 126), (327, 136), (333, 156), (335, 404), (306, 404),
                                  (307, 156)], True, []),
            ("launch tower", "tower", [(45, 0), (88, 0), (85, 100), (80, 200), (78, 300), (75, 427),
                                       (0, 427), (0, 330), (20, 200), (38, 80)], False, []),
            ("launch tower", "tower", [(562, 0), (600, 0), (605, 100), (615, 250), (630, 350),
                                       (640, 370), (640, 427), (560, 427), (565, 300), (568, 150)],
             False, []),
        ],
    ),
}
REFINE_MARGIN = 6  # pixels on each side of a drawn edge that GrabCut may move


def refine(image: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Let GrabCut move a hand-drawn edge by up to REFINE_MARGIN pixels to the true edge."""
    cv2.setRNGSeed(0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * REFINE_MARGIN + 1,) * 2)
    inner = cv2.erode(drawn.astype(np.uint8), kernel).astype(bool)
    outer = cv2.dilate(drawn.astype(np.uint8), kernel).astype(bool)
    mask = np.full(drawn.shape, cv2.GC_BGD, np.uint8)
    mask[outer] = cv2.GC_PR_BGD
    mask[drawn] = cv2.GC_PR_FGD
    mask[inner] = cv2.GC_FGD
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(image[:, :, ::-1].copy(), mask, None, background, foreground, 5, cv2.GC_INIT_WITH_MASK)
    return _largest_component(np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)))


def shape_mask(shape, height: int, width: int) -> np.ndarray:
    if isinstance(shape, str):  # "ellipse:cx,cy,rx,ry"
        cx, cy, rx, ry = (float(v) for v in shape.split(":")[1].split(","))
        ys, xs = np.mgrid[:height, :width]
        return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1
    return polygon_mask(shape, height, width)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == keep


def _all_masks(objects, label: str, image: np.ndarray) -> list[np.ndarray]:
    height, width = image.shape[:2]
    return [refine(image, shape_mask(shape, height, width)) if refined else shape_mask(shape, height, width)
            for name, _, shape, refined, _ in objects if name == label]


def polygon_mask(points, height: int, width: int) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).polygon(points, fill=1)
    return np.asarray(canvas, dtype=bool)


def overlay(image: np.ndarray, masks: list[np.ndarray], path: Path) -> None:
    colours = np.array([[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180]])
    out = image.astype(np.float64)
    for i, m in enumerate(masks):
        out[m] = 0.45 * out[m] + 0.55 * colours[i % len(colours)]
    Image.fromarray(out.astype(np.uint8)).save(path)


def main() -> None:
    coco = {"info": {"description": "sdcomp-lite sample images", "version": "1"}, "images": [],
            "annotations": [], "categories": [], "licenses": []}
    categories: dict[str, int] = {}
    (ROOT / "overlays").mkdir(exist_ok=True)
    for image_id, (name, (loader, source, licence, objects)) in enumerate(IMAGES.items(), start=1):
        image = getattr(skdata, loader)()
        height, width = image.shape[:2]
        Image.fromarray(image).save(ROOT / "images" / f"{name}.png", optimize=True)
        coco["images"].append({"id": image_id, "file_name": f"images/{name}.png", "width": width,
                               "height": height, "source": source, "license": licence})
        by_label = {}
        for label, _, shape, refined, _ in objects:
            drawn = shape_mask(shape, height, width)
            by_label.setdefault(label, []).append(refine(image, drawn) if refined else drawn)
        masks = []
        for label, category, _, _, occluders in objects:
            mask = by_label[label].pop(0)
            for other in occluders:
                mask = mask & ~np.logical_or.reduce(_all_masks(objects, other, image))
            masks.append(mask)
            category_id = categories.setdefault(category, len(categories) + 1)
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            x, y, w, h = mask_utils.toBbox(rle).tolist()
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": category_id,
                "label": label, "bbox": [x, y, w, h], "area": int(mask.sum()), "iscrowd": 0,
                "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
            })
        overlay(image, masks, ROOT / "overlays" / f"{name}.png")
    coco["categories"] = [{"id": i, "name": n} for n, i in categories.items()]
    (ROOT / "annotations.json").write_text(json.dumps(coco, indent=1) + "\n")


if __name__ == "__main__":
    main()
