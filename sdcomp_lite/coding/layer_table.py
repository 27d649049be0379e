"""The layer table of a bitstream, read without decoding any layer, and its plain-text views.

Everything here needs only the container (no NumPy, no codec), so ``sdcomp-lite inspect`` answers at once.

Taught in notebooks/00_quickstart.ipynb (section 3, the layer table).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sdcomp_lite.coding import container


@dataclass(frozen=True)
class LayerInfo(container.LayerEntry):
    """One row of the layer table (sizes in bytes), and whether the data holds the layer in full."""

    complete: bool = True


def layer_infos(parsed: container.Container) -> tuple[LayerInfo, ...]:
    """The rows of a parsed bitstream, each marked complete or not."""
    return tuple(LayerInfo(**asdict(e), complete=parsed.layer_bytes(e.index) is not None) for e in parsed.layers)


def inspect(data: bytes, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> list[LayerInfo]:
    """The layer table of a bitstream: kinds, names, ranks, importances, qualities, scales, offsets, sizes, CRCs.

    ``complete`` is False for layers that a truncated file does not hold in full.
    """
    return list(layer_infos(container.unpack(data, max_pixels)))


def read_header(data: bytes, max_pixels: int = container.DEFAULT_MAX_PIXELS) -> container.Header:
    """The image-wide header fields (size, channels, transform, fill colour)."""
    return container.unpack(data, max_pixels).header


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control and bidirectional characters
    (:func:`~sdcomp_lite.coding.container.is_control_character`) as ``\\x1b``, ``\\n``, ``\\u202e``-style
    escapes, a backslash doubled, everything else unchanged."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif container.is_control_character(char):
            out.append(repr(char)[1:-1] if ord(char) < 0xA0 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def layer_name(kind: str, object_id: int, label: str) -> str:
    """How figures and captions name a layer-table row: ``"id 1 person"`` for an object layer, else its
    label (``"preview"``, ``"background"``)."""
    return f"id {object_id} {label}" if kind == "object" else label


def format_layer_table(layers: list[LayerInfo] | tuple[LayerInfo, ...]) -> str:
    """One line per layer: index, kind, object id, label, rank, importance, quality, scale, offset, bytes, CRC.

    Preview and background layers have no rank or object id (shown as ``-``). Labels are escaped
    (:func:`printable`), so a label cannot forge a row or send commands to the terminal.
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
            f"{layer.index:>5}  {printable(layer.kind):<11}{object_id:>6}  {printable(layer.label)[:21]:<22}{rank:>5}"
            f"{importance:>11}{layer.quality:>8}{'1/' + str(layer.scale):>6}{layer.offset:>9}{layer.length:>8}"
            f"  {layer.crc32:08x}{state}"
        )
    return "\n".join(lines)
