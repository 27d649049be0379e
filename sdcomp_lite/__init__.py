"""sdcomp-lite: semantically disentangled image coding for machines, for teaching and exploring.

The four stages each live in a subpackage: ``grounding`` (find objects), ``ranking`` (order them
for a task), ``coding`` (the layered bitstream) and ``evaluation`` (task accuracy against rate).
"""

from sdcomp_lite.coding import decode, decode_progressive, encode, encode_to_budget, inspect
from sdcomp_lite.data import list_samples, load_sample
from sdcomp_lite.errors import SdcompError
from sdcomp_lite.types import SceneObject

__version__ = "0.1.0"

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
