"""The whole SDComp pipeline in one call: ground (identifying first where the grounder needs names),
rank for a task, encode in that order, and describe every stage in a JSON sidecar.

``compress(image, "is the dog on the sofa?")`` runs offline with the defaults (the offline grounder
and ranker); ``sdcomp-lite compress`` is this function on the command line, and ``sdcomp-lite demo``
runs it on a sample photograph. An image where nothing is found still gives a valid file: the
preview and the background only (:attr:`CompressResult.objects` is empty, and the CLI says so).

Not yet taught in a notebook; README's first command runs it (``sdcomp-lite demo``).
"""

from __future__ import annotations

import json
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdcomp_lite.coding import EncodedImage, encode, encode_to_budget, format_layer_table
from sdcomp_lite.errors import InvalidObjectError, InvalidParameterError
from sdcomp_lite.grounding.base import Grounder
from sdcomp_lite.grounding.identify import Identification, IdentifyThenGround, get_identifier, needs_labels
from sdcomp_lite.grounding.registry import get_grounder
from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.ranking.base import Ranker, Ranking
from sdcomp_lite.ranking.registry import get_ranker
from sdcomp_lite.types import SceneObject

SIDECAR_FORMAT = "sdcomp-lite compress sidecar"
SIDECAR_VERSION = 1
MAX_TASK_CHARS = 2_000  # a task is a question or an instruction, not a document
MAX_SIDECAR_TEXT = 65_536  # prompts and replies longer than this are cut in the sidecar (saying so)


@dataclass(frozen=True, eq=False)
class CompressResult:
    """What :func:`compress` did, stage by stage.

    Attributes:
        objects: the coded objects in ranked order (most important first), importance set by the ranking.
        ranking: the ranking (order, scores, backend, prompt and reply).
        encoded: the ``.sdc`` file (``encoded.data``) and its layer table.
        sidecar: the JSON-ready description (see :func:`build_sidecar`).
        identification: the identify step's labels, prompt and reply; None when it did not run.
        grounder: the grounder's name; ``""`` when the objects were given.
    """

    objects: tuple[SceneObject, ...]
    ranking: Ranking
    encoded: EncodedImage
    sidecar: dict[str, Any]
    identification: Identification | None = None
    grounder: str = ""


def compress(image, task: str = "general", grounder: str | Grounder = "offline", ranker: str | Ranker = "offline",
             identifier: str | None = None, objects: list[SceneObject] | None = None, *,
             grounder_options: dict | None = None, ranker_options: dict | None = None,
             identifier_options: dict | None = None, max_bytes: int | None = None, **encode_options) -> CompressResult:
    """Ground, rank for ``task`` and encode ``image`` (PIL, path or uint8 array (H, W[, C])).

    Args:
        task: what the machine will do with the image, e.g. ``"is the dog on the sofa?"`` (``"general"``: no task).
        grounder: a grounder name (:func:`~sdcomp_lite.grounding.registry.get_grounder`) or object.
        ranker: a ranker name (:func:`~sdcomp_lite.ranking.registry.get_ranker`) or object.
        identifier: an identifier name (:func:`~sdcomp_lite.grounding.identify.get_identifier`) whose labels
            become the grounder's prompt. When None, ``"offline"`` identifies for grounders that need
            names (OWLv2, Grounding DINO) and nothing is identified for the others.
        objects: objects to code instead of grounding (ids unique); grounder and identifier are then unused.
        grounder_options, ranker_options, identifier_options: keyword options for the named backends.
        max_bytes: a byte budget: the best object quality that fits (:func:`~sdcomp_lite.coding.encode_to_budget`).
        encode_options: :func:`~sdcomp_lite.coding.encode`'s options (``quality``, ``background_quality``,
            ``background_scale``, ``transform``, ``preview``, ...).

    Returns a :class:`CompressResult`. Writes nothing (see :func:`write_outputs`). No objects found is
    not an error: the file holds the preview (if any) and the background.
    """
    pixels = to_uint8_array(image)
    task = _check_task(task)
    identification, grounder_name = None, ""
    if objects is None:
        found = grounder if not isinstance(grounder, str) else get_grounder(grounder, **(grounder_options or {}))
        grounder_name = str(getattr(found, "name", grounder))
        if identifier is not None or needs_labels(found):
            step = IdentifyThenGround(get_identifier(identifier or "offline", **(identifier_options or {})), found)
            identification, objects = step.identify_and_ground(pixels)
        else:
            objects = found.ground(pixels)
    objects = _check_objects(objects)
    ranking = _rank(ranker, ranker_options, pixels, objects, task)
    ranked = ranking.apply(objects)
    encoded = _encode(pixels, ranked, max_bytes, encode_options)
    sidecar = build_sidecar(task, ranked, ranking, encoded, grounder_name, identification)
    return CompressResult(tuple(ranked), ranking, encoded, sidecar, identification, grounder_name)


def _check_task(task) -> str:
    if not isinstance(task, str):
        raise InvalidParameterError(f"the task must be text, got {type(task).__name__}.")
    if len(task) > MAX_TASK_CHARS:
        raise InvalidParameterError(f"the task has {len(task)} characters; say it in at most {MAX_TASK_CHARS}.")
    return task.strip() or "general"


def _check_objects(objects) -> list[SceneObject]:
    objects = list(objects)
    if not all(isinstance(obj, SceneObject) for obj in objects):
        raise InvalidObjectError("objects must be SceneObject instances (see sdcomp_lite.types.SceneObject).")
    ids = [obj.object_id for obj in objects]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})[:10]
        raise InvalidObjectError(f"object ids {repeated} are used twice; number the objects (types.number_objects).")
    return objects


def _rank(ranker, options: dict | None, pixels, objects: list[SceneObject], task: str) -> Ranking:
    """The ranking of ``objects``; with no objects, an empty ranking (no model is loaded for nothing)."""
    if not objects:
        return Ranking((), {}, ranker if isinstance(ranker, str) else str(getattr(ranker, "name", "")), task)
    ranker = get_ranker(ranker, **(options or {})) if isinstance(ranker, str) else ranker
    return ranker.rank(pixels, objects, task)


def _encode(pixels, ranked: list[SceneObject], max_bytes: int | None, options: dict) -> EncodedImage:
    if max_bytes is None:
        return encode(pixels, ranked, **options)
    options = dict(options)
    if "quality" in options:
        raise InvalidParameterError("give a quality or a byte budget (max_bytes), not both.")
    scale = options.pop("background_scale", 1)
    options.pop("progress", None)
    return encode_to_budget(pixels, ranked, max_bytes, background_scales=(scale,), **options)


# --- the sidecar ----------------------------------------------------------------------------------


def _number(value) -> float | None:
    """A JSON-safe number: None for NaN and infinities (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: str) -> str:
    """``value`` as the sidecar keeps it: cut after :data:`MAX_SIDECAR_TEXT` characters, saying so."""
    if len(value) <= MAX_SIDECAR_TEXT:
        return value
    return value[:MAX_SIDECAR_TEXT] + f" [... cut: {len(value)} characters in all]"


def build_sidecar(task: str, objects: list[SceneObject], ranking: Ranking, encoded: EncodedImage, grounder: str = "",
                  identification: Identification | None = None) -> dict[str, Any]:
    """The JSON-ready description of one compression: image size, task, grounder and identifier (names,
    labels, prompt, reply), the objects in ranked order (id, label, box ``[x0, y0, x1, y1]`` in pixels,
    area in pixels, score, source, importance, rank), the ranking (backend, order, scores, reasons,
    prompt, reply, repairs) and the file (bytes, bpp, transform, layer table). Ids key the scores as
    strings (JSON object keys); non-finite numbers are null."""
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "image": {"width": encoded.width, "height": encoded.height},
        "task": task,
        "grounder": grounder or None,
        "identifier": None if identification is None else {
            "backend": identification.backend, "labels": list(identification.labels),
            "prompt": _text(identification.prompt), "reply": _text(identification.reply),
            "repairs": list(identification.repairs),
        },
        "objects": [
            {"id": obj.object_id, "label": obj.label, "box": [_number(v) for v in obj.box], "area": obj.area,
             "score": _number(obj.score), "source": obj.source, "importance": _number(obj.importance), "rank": rank}
            for rank, obj in enumerate(objects)
        ],
        "ranking": {
            "backend": ranking.backend, "task": ranking.task, "order": list(ranking.order),
            "scores": {str(i): _number(s) for i, s in ranking.scores.items()},
            "reasons": {str(i): _text(r) for i, r in ranking.reasons.items()},
            "prompt": _text(ranking.prompt), "reply": _text(ranking.reply), "repairs": list(ranking.repairs),
        },
        "file": {
            "bytes": encoded.num_bytes, "bpp": encoded.bpp, "transform": encoded.transform,
            "layers": [
                {"index": layer.index, "kind": layer.kind, "id": layer.object_id, "label": layer.label,
                 "rank": layer.rank, "importance": _number(layer.importance), "quality": layer.quality,
                 "scale": layer.scale, "offset": layer.offset, "bytes": layer.length, "crc32": f"{layer.crc32:08x}"}
                for layer in encoded.layers
            ],
        },
    }


def sidecar_json(sidecar: dict[str, Any]) -> bytes:
    """The sidecar as UTF-8 JSON text (ASCII-escaped, so any reply text is stored safely)."""
    return (json.dumps(sidecar, indent=2, allow_nan=False) + "\n").encode("ascii")


def default_sidecar_path(output: str | Path) -> Path:
    """``out.sdc`` -> ``out.sdc.json``."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def write_outputs(files: dict[Path, bytes]) -> None:
    """Write every file or none: each goes to a temporary file in its own folder first, then all are
    moved into place with ``os.replace``. On any failure (a full disk, an interrupt) the temporary
    files are removed, files already moved are taken back out, and files they replaced are put back
    (kept meanwhile as hard links, where the file system has them); then the error is raised again."""
    token = secrets.token_hex(6)
    temporary = [path.with_name(f".{path.name}.{token}.tmp") for path in files]
    kept: dict[Path, Path | None] = {}  # each placed file -> the hard link to the file it replaced, if any
    try:
        for temp, data in zip(temporary, files.values()):
            with open(temp, "xb") as handle:
                handle.write(data)
        for path, temp in zip(files, temporary):
            kept[path] = _keep(path, token)
            os.replace(temp, path)
    except BaseException:
        for path, old in kept.items():
            if old is not None:
                os.replace(old, path)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        for leftover in temporary + [old for old in kept.values() if old is not None]:
            leftover.unlink(missing_ok=True)


def _keep(path: Path, token: str) -> Path | None:
    """A hard link to the file at ``path`` (to put it back), or None if there is none or links are not possible."""
    if not path.is_file():
        return None
    link = path.with_name(f".{path.name}.{token}.old")
    try:
        os.link(path, link)
    except OSError:
        return None
    return link


# --- the printed report ---------------------------------------------------------------------------


def format_objects(objects: list[SceneObject] | tuple[SceneObject, ...]) -> str:
    """One line per object: id, label, detector score, source, importance."""
    lines = [f"{'id':>5}  {'label':<22}{'score':>7}{'importance':>12}  source"]
    for obj in objects:
        lines.append(f"{obj.object_id:>5}  {obj.label[:21]:<22}{obj.score:>7.2f}{obj.importance:>12.3f}  {obj.source}")
    return "\n".join(lines)


def format_result(result: CompressResult, objects_from: str = "") -> str:
    """What each stage found, as printed by ``sdcomp-lite compress`` and the demo: the identified labels,
    the objects (ranked), the ranking with its backend, and the layer table. ``objects_from`` names
    the file the objects came from when they were given."""
    lines = []
    if result.identification is not None:
        found = result.identification
        labels = ", ".join(found.labels) if found.labels else "nothing"
        lines.append(f"identify ({found.backend}): {labels}")
        lines += [f"  repaired: {note}" for note in found.repairs]
    source = f"from {objects_from}" if objects_from else f"grounded by {result.grounder or 'the caller'}"
    lines.append(f"objects ({len(result.objects)}, {source}), most important first:")
    lines.append(format_objects(result.objects) if result.objects else "  none: the file holds the preview and background only")
    by_id = {obj.object_id: obj.label for obj in result.objects}
    order = " > ".join(f"{i} {by_id[i]}" for i in result.ranking.order) or "-"
    lines.append(f"ranking ({result.ranking.backend}) for task {result.ranking.task!r}: {order}")
    lines += [f"  repaired: {note}" for note in result.ranking.repairs]
    lines.append(format_layer_table(result.encoded.layers))
    return "\n".join(lines)
