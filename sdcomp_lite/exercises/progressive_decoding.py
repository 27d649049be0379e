"""Exercises of notebooks/04_progressive_decoding.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

import numpy as np

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require

FLAG_TASK = "Which country does the flag belong to?"


def solution_face_bytes(image, objects, ranker, face_task, task="Which country does the flag belong to?"):
    """Bytes read before face detection's AP50 reaches 1, with the layers ranked for ``task``."""
    from sdcomp_lite.coding import decode_progressive, encode

    encoded = encode(image, ranker.rank(image, objects, task).apply(objects), quality=30)
    reference = face_task.run(image)
    for layers, decoded in enumerate(decode_progressive(encoded.data), start=1):
        if face_task.score(face_task.run(decoded.image), reference)["ap50"] >= 0.99:
            return encoded.prefix_bytes(layers)
    return None


def check_face_bytes(answer, image, objects, ranker, face_task) -> None:
    """``answer``: bytes until the face detector's AP50 reaches 1 (quality 30, ranked for FLAG_TASK), exactly."""
    if _placeholder(answer):
        return _not_attempted("the bytes a receiver reads before the face is found, with the layers ranked for the flag.")
    from sdcomp_lite.coding import decode_progressive, encode

    _require(isinstance(answer, (int, np.integer)), f"answer with a whole number of bytes; got {answer!r}.")
    encoded = encode(image, ranker.rank(image, objects, FLAG_TASK).apply(objects), quality=30)
    reference = face_task.run(image)
    found_any, expected, last = None, None, ""
    for layers, decoded in enumerate(decode_progressive(encoded.data), start=1):
        prediction = face_task.run(decoded.image)
        if prediction and found_any is None:
            found_any = encoded.prefix_bytes(layers)
        if face_task.score(prediction, reference)["ap50"] >= 0.99:
            expected, last = encoded.prefix_bytes(layers), encoded.layers[layers - 1].label
            break
    _require(int(answer) != found_any or found_any == expected,
             f"after {answer} bytes the detector does report a face, but AP50 is 0 there: its box is not within "
             "IoU 0.5 of the face it finds on the original. Score each prefix, do not just count detections.")
    _require(int(answer) == expected,
             f"{answer} is not it. Rank for {FLAG_TASK!r}, encode at quality 30, then score face detection on "
             "every prefix (decode_progressive) and report prefix_bytes(k) of the first k that reaches AP50 = 1.")
    _correct(f"{expected} bytes: the flag comes first, and the face is found only once the {last} layer is in.")


def solution_layers_in_prefix(encoded, num_bytes):
    """How many layers decode from the first ``num_bytes`` bytes (at least the header and table)."""
    return sum(1 for k in range(1, len(encoded.layers) + 1) if encoded.prefix_bytes(k) <= num_bytes)


def check_layers_in_prefix(layers_in_prefix, encoded) -> None:
    """``layers_in_prefix(encoded, num_bytes)`` must agree with ``decode`` on cuts at, before and after every layer's end."""
    if _placeholder(layers_in_prefix, lambda f: f(encoded, len(encoded.data))):
        return _not_attempted("write layers_in_prefix(encoded, num_bytes) from the layer table alone, without decoding.")
    import warnings

    from sdcomp_lite.coding import decode

    ends = [encoded.prefix_bytes(k) for k in range(len(encoded.layers) + 1)]
    cuts = sorted({c for end in ends for c in (end - 1, end, end + 1) if encoded.table_bytes <= c <= len(encoded.data)})
    for cut in cuts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a cut file warns which layers are missing
            expected = decode(encoded.data[:cut]).layers_decoded
        got = _call(layers_in_prefix, encoded, cut)
        _require(got is not None and int(got) == expected,
                 f"from the first {cut} bytes decode gets {expected} layer(s); you say {got}. A layer decodes when "
                 "all of its bytes are in: compare the cut with encoded.prefix_bytes(k), ends included.")
    _correct(f"your function agrees with decode on {len(cuts)} cuts, at and around the end of every layer.")


SEGMENTATION_TARGET, SEGMENTATION_BYTES = 0.9, 9300  # the order ranked for "Is the astronaut smiling?" needs 9,860


def solution_segmentation_order():
    """Importances that put the helmet right after the person: MediaPipe's "person" includes what she holds."""
    return {"person": 1.0, "helmet": 0.9, "face": 0.5, "space shuttle model": 0.3, "flag": 0.1}


def check_segmentation_order(importance, image, objects, person_task) -> None:
    """``importance`` (label -> importance) must let person segmentation reach mask IoU >= SEGMENTATION_TARGET
    within SEGMENTATION_BYTES bytes (quality 30)."""
    target = f"importances with which person mask IoU reaches {SEGMENTATION_TARGET} within {SEGMENTATION_BYTES:,} bytes."
    if _placeholder(importance):
        return _not_attempted(target)
    from sdcomp_lite.coding import decode_progressive, encode
    from sdcomp_lite.data import Sample

    missing = [o.label for o in objects if o.label not in importance]
    _require(not missing, f"give every object an importance; missing: {missing}.")
    encoded = encode(image, [o.with_importance(float(importance[o.label])) for o in objects], quality=30)
    reference = person_task.reference(Sample("original", image, ())).value
    layers, iou = 0, 0.0
    for decoded in decode_progressive(encoded.data):
        layers, iou = layers + 1, person_task.score(person_task.run(decoded.image), reference)["miou"]
        if iou >= SEGMENTATION_TARGET:
            break
    order = [layer.label for layer in encoded.layers]
    spent = encoded.prefix_bytes(layers)
    _require(iou >= SEGMENTATION_TARGET and spent <= SEGMENTATION_BYTES,
             f"with the order {order} person mask IoU reaches {SEGMENTATION_TARGET} only after {spent:,} bytes. Which "
             "objects does MediaPipe count as part of the person? Look at the table of section 2.")
    _correct(f"IoU {iou:.3f} after {spent:,} bytes ({layers} layers: {order[:layers]}).")
