"""Coverage-guided fuzzing (atheris, libFuzzer for Python) of the container parser, the mask decoder and
the layer decoders, in one process, for the Python code of sdcomp_lite (the C++ rANS decoder and the
codecs are not instrumented; benchmarks/fuzz_bitstreams.py drives those with structure-aware cases).

Run from the repository root:  python benchmarks/fuzz_atheris.py -runs=100000 -rss_limit_mb=4096 [corpus/]

atheris is optional (``pip install atheris``: binary wheels for Linux x86-64, CPython 3.11 and 3.12).
The first input byte picks the target, the next ones the geometry, the rest is the data:

* 0: :func:`container.unpack <sdcomp_lite.coding.container.unpack>` of the data;
* 1: :func:`decode_mask <sdcomp_lite.coding.masks.decode_mask>` of the data for a 1..64 x 1..64 mask;
* 2-4: the data as the whole region's content of a ``dct8``, ``avif`` or ``jpegxl`` layer, 1..64 x 1..64;
* 5: :func:`decode <sdcomp_lite.coding.decode>` of a valid container (CRCs right) whose one background
  layer is the data.

Anything but an :class:`~sdcomp_lite.errors.SdcompError` is a finding: libFuzzer prints it, writes the
input to ``crash-<sha1>`` and exits non-zero. Give ``-rss_limit_mb=4096``: torch alone takes 1 GB.
The modules are instrumented as they are imported, so this is a script, not part of the package.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the crafted files are test tools, not the package

with atheris.instrument_imports(include=["sdcomp_lite"]):
    import numpy as np

    from sdcomp_lite.coding import container, decode
    from sdcomp_lite.coding.masks import decode_mask
    from sdcomp_lite.coding.transforms import get_transform
    from sdcomp_lite.errors import SdcompError

from fuzzing.crafted import bitstream  # noqa: E402

_TRANSFORMS = ("dct8", "avif", "jpegxl")
_CODERS = {name: get_transform(name) for name in _TRANSFORMS}


def one_input(data: bytes) -> None:
    """Run one input through the target its first byte names (see the module docstring)."""
    if len(data) < 4:
        return
    target, height, width, channels = data[0] % 6, data[1] % 64 + 1, data[2] % 64 + 1, 1 if data[3] & 1 else 3
    body = data[4:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if target == 0:
                container.unpack(body)
            elif target == 1:
                decode_mask(body, height, width)
            elif target < 5:
                _CODERS[_TRANSFORMS[target - 2]].decode_region(body, np.ones((height, width), bool), channels, 50)
            else:
                decode(bitstream(width, height, channels, _TRANSFORMS[data[3] % 3], [("background", body)]))
    except SdcompError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
