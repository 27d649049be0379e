"""The prompt templates, in one readable place, and the marked image a VLM sees.

The model gets the image with numbered boxes drawn on it, the list of objects (id, label, box,
share of the image), the task, and a request for strict JSON. Our wording, in the spirit of the
SDComp paper (which does not publish its prompts).

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from sdcomp_lite.images import to_rgb_array
from sdcomp_lite.types import SceneObject

SYSTEM_PROMPT = (
    "You are helping an image codec decide what is worth compressing well. "
    "You rank the objects of an image by how much each one matters for a task."
)

RANKING_TEMPLATE = """The image shows {count} numbered objects (the numbers are drawn on their boxes):
{object_lines}

Task: {task}

Rank ALL objects from most to least important for this task. Answer with JSON only, no other text:
{{"ranking": [{{"id": <object id>, "score": <importance from 0 to 1>, "reason": "<one short line>"}}, ...]}}"""

GENERAL_TASK = "general: keep what a person or a vision model would most need to understand the image"
MAX_LISTED_OBJECTS = 60  # longer lists are cut (largest objects kept) so the prompt stays readable


def describe_task(task: str) -> str:
    """The task as the prompt states it (``"general"`` is spelled out)."""
    return GENERAL_TASK if task.strip().lower() in ("", "general") else task.strip()


def objects_for_prompt(objects: list[SceneObject]) -> list[SceneObject]:
    """At most :data:`MAX_LISTED_OBJECTS`, keeping the largest; the rest are appended by the parser."""
    if len(objects) <= MAX_LISTED_OBJECTS:
        return list(objects)
    keep = sorted(objects, key=lambda o: -o.area)[:MAX_LISTED_OBJECTS]
    return sorted(keep, key=lambda o: o.object_id)


def build_prompt(objects: list[SceneObject], task: str, image_size: tuple[int, int]) -> str:
    """The user prompt for ``objects`` (listed by id) and ``task``; ``image_size`` is (width, height)."""
    width, height = image_size
    listed = objects_for_prompt(objects)
    lines = []
    for obj in listed:
        x0, y0, x1, y1 = (int(round(v)) for v in obj.box)
        share = 100.0 * obj.area / max(width * height, 1)
        lines.append(f"- [{obj.object_id}] {obj.label}: box ({x0}, {y0}, {x1}, {y1}), {share:.1f}% of the image")
    if len(listed) < len(objects):
        lines.append(f"(and {len(objects) - len(listed)} smaller objects not listed)")
    return RANKING_TEMPLATE.format(count=len(listed), object_lines="\n".join(lines), task=describe_task(task))


def mark_objects(image, objects: list[SceneObject]) -> Image.Image:
    """The image with each object's box and id drawn on it (what the VLM is shown)."""
    picture = Image.fromarray(to_rgb_array(image))
    draw = ImageDraw.Draw(picture)
    for obj in objects_for_prompt(objects):
        x0, y0, x1, y1 = obj.box
        draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=(255, 40, 40), width=2)
        label = str(obj.object_id)
        draw.rectangle([x0, y0, x0 + 8 * len(label) + 4, y0 + 14], fill=(255, 40, 40))
        draw.text((x0 + 2, y0 + 1), label, fill=(255, 255, 255))
    return picture
