"""sdcomp-lite: semantically disentangled image coding for machines, for teaching and exploring.

The four stages each live in a subpackage: ``grounding`` (find objects), ``ranking`` (order them
for a task), ``coding`` (the layered bitstream) and ``evaluation`` (task accuracy against rate).

The names below are imported when first used (PEP 562): ``import sdcomp_lite`` loads neither torch
nor any model library, so the command line and the reply parser start at once.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from sdcomp_lite.errors import SdcompError

__version__ = "0.1.0"

_HOMES = {
    "SceneObject": "sdcomp_lite.types",
    "decode": "sdcomp_lite.coding",
    "decode_progressive": "sdcomp_lite.coding",
    "encode": "sdcomp_lite.coding",
    "encode_to_budget": "sdcomp_lite.coding",
    "inspect": "sdcomp_lite.coding",
    "list_samples": "sdcomp_lite.data",
    "load_sample": "sdcomp_lite.data",
}

__all__ = [
    "SceneObject",
    "SdcompError",
    "decode",
    "decode_progressive",
    "encode",
    "encode_to_budget",
    "inspect",
    "list_samples",
    "load_sample",
]

if TYPE_CHECKING:
    from sdcomp_lite.coding import decode, decode_progressive, encode, encode_to_budget, inspect
    from sdcomp_lite.data import list_samples, load_sample
    from sdcomp_lite.types import SceneObject


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
