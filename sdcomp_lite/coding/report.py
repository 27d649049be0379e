"""Plain-text views of a bitstream's layer table, for the CLI and the notebooks."""

from __future__ import annotations

from sdcomp_lite.coding.codec import LayerInfo


def format_layer_table(layers: list[LayerInfo] | tuple[LayerInfo, ...]) -> str:
    """One line per layer: index, kind, object id, label, rank, importance, quality, offset, bytes, CRC."""
    lines = [
        f"{'layer':>5}  {'kind':<11}{'id':>6}  {'label':<22}{'rank':>5}{'importance':>11}{'quality':>8}"
        f"{'offset':>9}{'bytes':>8}  crc32"
    ]
    for layer in layers:
        state = "" if layer.complete else "  (missing: file truncated)"
        lines.append(
            f"{layer.index:>5}  {layer.kind:<11}{layer.object_id:>6}  {layer.label[:21]:<22}{layer.rank:>5}"
            f"{layer.importance:>11.3f}{layer.quality:>8}{layer.offset:>9}{layer.length:>8}  {layer.crc32:08x}{state}"
        )
    return "\n".join(lines)
