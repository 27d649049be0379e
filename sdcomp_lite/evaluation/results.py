"""What a sweep's results are: the results-row schema, the work unit, variants, row order, checksums.

One tidy row per (image, codec, variant, quality, layers, task, metric): :data:`COLUMNS` in
results.csv's order, each with its type (:data:`COLUMN_TYPES`). A *work unit* (:class:`WorkUnit`)
is one image coded by one codec (and variant) at one quality; it writes all its rows at once, and
units.csv records each finished unit with its number of rows and a checksum of them
(:func:`unit_checksum`). sdcomp-lite's own rows carry the codec name :data:`OURS`; a variant is a
curve family's name then ``key=value`` settings (:func:`variant_name`, :func:`parse_variant`).

This module imports nothing heavier than NumPy and no other module of the sweep: the sweep (planning and Dask,
:mod:`~sdcomp_lite.evaluation.sweep`), its folder (:mod:`~sdcomp_lite.evaluation.store`), the
workers, the report and the figures all read the schema from here.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

OURS = "sdcomp-lite"  # sdcomp-lite's codec name in results rows (and its curve families' prefix); the package's name too
PACKAGE = OURS  # the distribution whose version run.json records
COLUMN_TYPES: dict[str, type] = {
    "image": str, "codec": str, "variant": str, "quality": int, "layers": int, "bytes": int, "bpp": float,
    "task": str, "reference": str, "metric": str, "value": float,
}
COLUMNS = tuple(COLUMN_TYPES)  # results.csv's columns, in order
UNIT_KEY = ("image", "codec", "variant", "quality")  # the columns that name a row's work unit
ROW_IDENTITY = ("layers", "task", "reference", "metric")  # what a row is about within its unit (a unit writes each once)
REFERENCES = ("pseudo", "annotations")  # where a task's reference comes from
CHECKSUM_DIGITS = 16  # hexadecimal digits of a unit checksum (the first 64 bits of a SHA-256)


@dataclass(frozen=True)
class WorkUnit:
    """One image coded by one codec (and ranking) at one quality; all its prefixes and tasks."""

    image: str
    codec: str
    variant: str
    quality: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        """``(image, codec, variant, quality)``: the unit's name in results.csv and units.csv."""
        return (self.image, self.codec, self.variant, self.quality)

    @property
    def ours(self) -> bool:
        """Whether the unit codes with sdcomp-lite (its rows have layer prefixes 1..n; an anchor's have 0)."""
        return self.codec == OURS


def variant_name(name: str, **settings: object) -> str:
    """A results.csv variant: a curve family's name, then ``key=value`` settings (``offline bq=10 bs=4``)."""
    return " ".join([name, *(f"{key}={value}" for key, value in settings.items())]).strip()


def parse_variant(variant: str) -> tuple[str, dict[str, str]]:
    """The family name and the settings of a variant written by :func:`variant_name`."""
    words = variant.split()
    settings = dict(word.split("=", 1) for word in words if "=" in word)
    return " ".join(word for word in words if "=" not in word), settings


def family(row: dict) -> str:
    """The curve family of a row: the codec, with the variant's name (sdcomp-lite's ranker) if it has one."""
    name, _ = parse_variant(row["variant"])
    return f"{row['codec']} ({name})" if name else row["codec"]


def is_ours(name: str) -> bool:
    """Whether a codec or curve family name (``"sdcomp-lite (offline)"``) is sdcomp-lite's."""
    return name == OURS or name.startswith(f"{OURS} (")


def row_order(row: dict) -> tuple:
    """A fixed order of rows, whatever order the workers finished in."""
    return (row["image"], row["codec"], row["variant"], int(row["quality"]), int(row["layers"]), row["task"], row["metric"])


def typed_row(fields: dict[str, str]) -> dict:
    """A row read from results.csv with its numbers as numbers (:data:`COLUMN_TYPES`); other keys kept as they are.

    Raises ``ValueError`` (or ``TypeError``) when a number does not parse.
    """
    return {key: COLUMN_TYPES[key](value) if COLUMN_TYPES.get(key, str) is not str else value
            for key, value in fields.items()}


def cell(value: object) -> str:
    """A value as results.csv writes it: floats in full (``repr``), whole numbers without a point, text as it is."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


def csv_text(rows: Iterable[Iterable]) -> str:
    """CSV lines (``\\r\\n``-terminated, as :mod:`csv` writes them) of ``rows``, each value by :func:`cell`."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def unit_checksum(rows: Iterable[Iterable]) -> str:
    """The checksum of one unit's rows (each a sequence of its :data:`COLUMNS` values, numbers or results.csv's text):
    the first :data:`CHECKSUM_DIGITS` hex digits of the SHA-256 of the rows' CSV text, rows sorted, so it does not
    depend on the order in which they were written. Any change of a field (a number, a metric's name, a row
    dropped or repeated) changes it."""
    lines = sorted(csv_text([row]) for row in rows)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()[:CHECKSUM_DIGITS]
