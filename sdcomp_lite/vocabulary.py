"""Object names the toolkit knows by heart: the 80 COCO classes and the labels its offline grounders write.

This module is the one home of :data:`COCO_CLASSES` (NanoDet's output order, COCO's spelling) and of
:data:`LABEL_VOCABULARY`, the names a version-5 layer table writes as one byte each
(``docs/bitstream.md``). The vocabulary is part of the file format: its order never changes, and a
new name may only be appended (with a new bitstream version).
"""

from __future__ import annotations

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)
"""The 80 COCO detection class names in NanoDet's output order (COCO's own spelling, as in instances_*.json)."""

LABEL_VOCABULARY: tuple[str, ...] = (*COCO_CLASSES, "face", "salient object")
"""The names a layer table codes as a byte (their index): COCO's 80 classes, then the MediaPipe face
grounder's ``face`` and the saliency grounder's ``salient object``. Frozen: the bitstream depends on the order."""
