"""Plain-text views of a bitstream's layer table, for the CLI and the notebooks.

Taught in notebooks/00_quickstart.ipynb (section 3, the layer table).
"""

from __future__ import annotations

from sdcomp_lite.coding.codec import LayerInfo


def layer_name(kind: str, object_id: int, label: str) -> str:
    """How figures and captions name a layer-table row: ``"id 1 person"`` for an object layer, else its
    label (``"preview"``, ``"background"``)."""
    return f"id {object_id} {label}" if kind == "object" else label


def format_layer_table(layers: list[LayerInfo] | tuple[LayerInfo, ...]) -> str:
    """One line per layer: index, kind, object id, label, rank, importance, quality, scale, offset, bytes, CRC.

    Preview and background layers have no rank or object id (shown as ``-``).
    """
    lines = [
        f"{'layer':>5}  {'kind':<11}{'id':>6}  {'label':<22}{'rank':>5}{'importance':>11}{'quality':>8}{'scale':>6}"
        f"{'offset':>9}{'bytes':>8}  crc32"
    ]
    for layer in layers:
        state = "" if layer.complete else "  (missing: file truncated)"
        is_object = layer.kind == "object"
        object_id, rank = (str(layer.object_id), str(layer.rank)) if is_object else ("-", "-")
        importance = f"{layer.importance:.3f}" if is_object else "-"
        lines.append(
            f"{layer.index:>5}  {layer.kind:<11}{object_id:>6}  {layer.label[:21]:<22}{rank:>5}"
            f"{importance:>11}{layer.quality:>8}{'1/' + str(layer.scale):>6}{layer.offset:>9}{layer.length:>8}"
            f"  {layer.crc32:08x}{state}"
        )
    return "\n".join(lines)
