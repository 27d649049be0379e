"""sdcomp-lite: semantically disentangled image coding for machines, for teaching and exploring.

The four stages each live in a subpackage: ``grounding`` (find objects), ``ranking`` (order them
for a task), ``coding`` (the layered bitstream) and ``evaluation`` (task accuracy against rate).

The names below are imported when first used (PEP 562): ``import sdcomp_lite`` loads neither torch
nor any model library, so the command line and the reply parser start at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.registry import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _HOMES)
