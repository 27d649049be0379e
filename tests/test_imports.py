"""The fast front door: importing the package, the command line, the reply parser or the container loads no
model library, and ``sdcomp-lite --help`` and ``inspect`` run without one (benchmarks/cli_latency.py times them)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "compressai", "transformers", "mediapipe", "cv2", "scipy", "sentence_transformers", "onnxruntime")


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_light_entry_points_loads_no_model_library():
    code = "import sdcomp_lite, sdcomp_lite.cli, sdcomp_lite.ranking.parsing, sdcomp_lite.coding.container"
    assert _loaded_after(code) == []


@pytest.mark.parametrize("argv", [["--help"], ["inspect", "--help"], ["inspect", "{sdc}"]])
def test_help_and_inspect_run_without_a_model_library(argv, tmp_path):
    from sdcomp_lite.coding import container

    sdc = tmp_path / "one.sdc"
    entry = container.LayerEntry(index=0, kind="background", object_id=0, label="background", rank=0, importance=0.0,
                                 quality=50, scale=1, offset=0, length=0, crc32=0)
    sdc.write_bytes(container.pack(container.Header(3, 8, 8, "avif", (1, 2, 3)), [(entry, b"")]))
    args = [str(sdc) if a == "{sdc}" else a for a in argv]
    code = f"import sys\nfrom sdcomp_lite.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_the_lazy_names_are_the_real_ones():
    import sdcomp_lite
    from sdcomp_lite import coding
    from sdcomp_lite.coding.layered import encode
    from sdcomp_lite.data import load_sample

    assert sdcomp_lite.encode is encode and coding.encode is encode and sdcomp_lite.load_sample is load_sample
    assert set(sdcomp_lite.__all__) <= set(dir(sdcomp_lite)) and set(coding.__all__) <= set(dir(coding))
    for module in (sdcomp_lite, coding):
        assert all(getattr(module, name) is not None for name in module.__all__)
        with pytest.raises(AttributeError):
            module.no_such_name  # noqa: B018


def test_all_lists_exactly_the_lazy_names():
    import sdcomp_lite
    from sdcomp_lite import coding

    assert set(coding.__all__) == set(coding._HOMES)
    assert set(sdcomp_lite.__all__) == {*sdcomp_lite._HOMES, "SdcompError"}
