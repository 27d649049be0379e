import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from sdcomp_lite.cli import main

ROOT = Path(__file__).resolve().parents[1]
COFFEE = ROOT / "data" / "images" / "coffee.png"
ANNOTATIONS = ROOT / "data" / "annotations.json"


def test_encode_inspect_decode(tmp_path, capsys):
    out = tmp_path / "coffee.sdc"
    assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "30"]) == 0
    assert main(["inspect", str(out)]) == 0
    table = capsys.readouterr().out
    assert "cup" in table and "spoon" in table and "background" in table
    assert main(["decode", str(out), "-o", str(tmp_path / "two.png"), "--layers", "2",
                 "--coverage", str(tmp_path / "cov.png")]) == 0
    coverage = np.asarray(Image.open(tmp_path / "cov.png"))
    assert 0.05 < (coverage > 0).mean() < 0.5
    assert Image.open(tmp_path / "two.png").size == (600, 400)


def test_byte_budget(tmp_path):
    out = tmp_path / "small.sdc"
    assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--bytes", "6000"]) == 0
    assert out.stat().st_size <= 6000


def test_errors_are_one_clear_line(tmp_path, capsys):
    bogus = tmp_path / "bogus.sdc"
    bogus.write_bytes(b"hello world")
    assert main(["decode", str(bogus), "-o", str(tmp_path / "x.png")]) == 2
    assert "not an sdcomp-lite bitstream" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "absent.sdc")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_truncated_file_is_reported(tmp_path, capsys):
    out = tmp_path / "coffee.sdc"
    main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "20"])
    data = out.read_bytes()
    out.write_bytes(data[: len(data) - 100])
    assert main(["decode", str(out), "-o", str(tmp_path / "t.png")]) == 0
    assert "truncated" in capsys.readouterr().err


def test_console_script_help_runs():
    result = subprocess.run([sys.executable, "-m", "sdcomp_lite.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "encode" in result.stdout and "examples" in result.stdout


def test_demo_writes_pictures(tmp_path, capsys):
    assert main(["demo", "--sample", "chelsea", "--quality", "30", "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / "chelsea_progressive.png").is_file()
    assert (tmp_path / "chelsea_layers_1.png").is_file()
    assert "background" in capsys.readouterr().out


def test_preview_is_on_by_default_as_in_the_library(tmp_path):
    from sdcomp_lite import inspect

    kinds = {}
    for flag in ([], ["--no-preview"]):
        out = tmp_path / f"coffee{len(flag)}.sdc"
        assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "20", *flag]) == 0
        kinds[tuple(flag)] = [layer.kind for layer in inspect(out.read_bytes())]
    assert kinds[()][0] == "preview" and "preview" not in kinds[("--no-preview",)]
    assert kinds[()][1:] == kinds[("--no-preview",)]


def test_the_layer_structure_options_reach_the_file(tmp_path):
    from sdcomp_lite.coding import inspect

    out = tmp_path / "tiers.sdc"
    assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "30",
                 "--max-layers", "1", "--preview-scale", "4", "--preview-quality", "5", "--mask-scale", "64"]) == 0
    table = inspect(out.read_bytes())
    assert [layer.kind for layer in table] == ["preview", "object", "background"]
    assert (table[0].scale, table[0].quality, table[1].scale) == (4, 5, 64)
    assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--max-layers", "0"]) == 2


def test_encode_preview_skips_first_layer(tmp_path):
    from sdcomp_lite.coding import container

    sizes = {}
    for flag in ([], ["--preview-skips-first-layer"]):
        out = tmp_path / f"{len(flag)}.sdc"
        assert main(["encode", str(COFFEE), "--objects", str(ANNOTATIONS), "-o", str(out), "--quality", "30",
                     "--preview-scale", "4", *flag]) == 0
        sizes[bool(flag)] = container.unpack(out.read_bytes()).layers[0].length
    assert sizes[True] < sizes[False]
