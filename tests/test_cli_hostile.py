"""Bad input to the command line: one line on stderr, a non-zero exit, never a traceback."""

import json
import struct
import zlib
from pathlib import Path

import pytest

from sdcomp_lite.cli import main
from sdcomp_lite.coding import container

ROOT = Path(__file__).resolve().parents[1]
COFFEE = ROOT / "data" / "images" / "coffee.png"
ANNOTATIONS = ROOT / "data" / "annotations.json"


def _one_line_error(capsys, status: int, expected: str) -> None:
    err = capsys.readouterr().err.strip()
    assert status != 0
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("sdcomp-lite ") and expected in err, err


@pytest.fixture(scope="module")
def coffee_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "coffee.sdc"
    assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "20"]) == 0
    return out


@pytest.mark.parametrize(
    "output, expected",
    [("missing/folder/x.png", "does not exist"), (".", "is a folder"), ("x.unknown", "which image format")],
)
def test_decode_outputs_are_checked_before_any_work(coffee_file, tmp_path, capsys, output, expected):
    target = tmp_path / output if output != "." else tmp_path
    _one_line_error(capsys, main(["decode", str(coffee_file), "-o", str(target)]), expected)


def test_encode_output_in_a_missing_folder(tmp_path, capsys):
    status = main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(tmp_path / "no" / "x.sdc")])
    _one_line_error(capsys, status, "does not exist")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "ends inside the header"),
        (b"SDC", "ends inside the header"),
        (b"GIF89a" + bytes(40), "not an sdcomp-lite bitstream"),
        (b"SDCL\x01" + bytes(40), "reads version 5"),
    ],
)
def test_bad_files_fail_in_one_line(tmp_path, capsys, data, expected):
    path = tmp_path / "bad.sdc"
    path.write_bytes(data)
    _one_line_error(capsys, main(["inspect", str(path)]), expected)
    _one_line_error(capsys, main(["decode", str(path), "-o", str(tmp_path / "x.png")]), expected)


def test_a_decompression_bomb_is_refused_by_the_pixel_budget(tmp_path, capsys):
    header = container.Header(3, 16384, 16384, "avif", (0, 0, 0))
    entry = container.LayerEntry(index=0, kind="background", object_id=0, label="background", rank=0, importance=0.0,
                                 quality=50, scale=1, offset=0, length=0, crc32=0)
    path = tmp_path / "bomb.sdc"
    path.write_bytes(container.pack(header, [(entry, b"")]))
    assert path.stat().st_size < 64
    _one_line_error(capsys, main(["decode", str(path), "-o", str(tmp_path / "x.png")]), "--max-pixels")


def test_a_corrupt_layer_names_the_intact_prefix(coffee_file, tmp_path, capsys):
    data = bytearray(coffee_file.read_bytes())
    data[-5] ^= 0xFF
    path = tmp_path / "damaged.sdc"
    path.write_bytes(bytes(data))
    _one_line_error(capsys, main(["decode", str(path), "-o", str(tmp_path / "x.png")]), "CRC32 mismatch")


@pytest.mark.parametrize(
    "coco, expected",
    [
        ({"images": "nope"}, "images"),
        ({"images": [{"id": 1, "file_name": "coffee.png"}], "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 5, 5],
                                                                             "segmentation": [[0, 0, float("nan"), 1, 2, 2]]}]},
         "annotation 1"),
        ({"images": [{"id": 1, "file_name": "coffee.png"}], "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 5, 5],
                                                                             "label": "cup", "importance": "high"}]},
         "importance"),
    ],
)
def test_malformed_annotation_files_fail_in_one_line(tmp_path, capsys, coco, expected):
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps(coco))
    status = main(["encode", str(COFFEE), "--objects", str(objects), "-o", str(tmp_path / "x.sdc")])
    _one_line_error(capsys, status, expected)


def test_ctrl_c_is_one_line_with_a_resume_hint(monkeypatch, tmp_path, capsys):
    import sdcomp_lite.evaluation.sweep as sweep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run_sweep", interrupted)
    status = main(["eval", "-o", str(tmp_path / "sweep")])
    assert status == 130
    _one_line_error(capsys, status, "run the same command again to resume")


def test_a_table_crafted_with_valid_crcs_still_fails_cleanly(tmp_path, capsys, coffee_file):
    data = bytearray(coffee_file.read_bytes())
    table_end = len(data) - sum(layer.length for layer in container.unpack(bytes(data)).layers) - 4
    parsed = container.unpack(bytes(data))
    assert parsed.layers[0].kind == "preview"  # a preview row: the kind-and-scale byte, then the quality byte
    data[container.HEADER.size + len(parsed.header.transform) + 1] = 0
    data[table_end : table_end + 4] = struct.pack(">I", zlib.crc32(bytes(data[:table_end])))
    path = tmp_path / "crafted.sdc"
    path.write_bytes(bytes(data))
    _one_line_error(capsys, main(["inspect", str(path)]), "quality 0")


HOSTILE_LABELS = ["person\n    9  object         9  forged", "\x1b[2J\x1b[31mred", "over\rwrite", "nul\x00bell\x07",
                  "\u202eevil\u202c", "\u2066iso\u2069", "del\x7f c1\x85\x9b", "back\\slash"]


def test_inspect_escapes_control_characters_in_labels(tmp_path, capsys):
    """A hand-made file (the encoder refuses such labels) cannot drive the terminal or forge a table row."""
    header = container.Header(3, 8, 8, "dct8", (0, 0, 0))
    layers = [(container.LayerEntry(index=0, kind="object", object_id=k, label=label, rank=0, importance=1.0, quality=50,
                                    scale=1, offset=0, length=0, crc32=0), b"")
              for k, label in enumerate(HOSTILE_LABELS)]
    # a background row stores no label (version 4), so only object labels can carry control characters
    background = container.LayerEntry(index=0, kind="background", object_id=0, label="", rank=0, importance=0.0,
                                      quality=50, scale=1, offset=0, length=0, crc32=0)
    path = tmp_path / "labels.sdc"
    path.write_bytes(container.pack(header, [*layers, (background, b"")]))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2 + len(HOSTILE_LABELS) + 1  # the summary, the column names, one line per layer
    forbidden = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
    assert not any(char in out.replace("\n", "") for char in forbidden)
    assert "\\x1b[2J" in out and "person\\n" in out and "\\u202e" in out and "back\\\\slash" in out
