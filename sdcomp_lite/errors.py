"""The package's exceptions: one base class and a few specific subclasses.

Every error that sdcomp-lite raises on purpose is a :class:`SdcompError`, so a caller
can catch them all with one ``except``; the subclasses say what went wrong.
"""

from __future__ import annotations


class SdcompError(Exception):
    """Base class of every error that sdcomp-lite raises on purpose."""


class InvalidImageError(SdcompError, ValueError):
    """The image has a mode, dtype or size that the codec cannot code faithfully."""


class InvalidObjectError(SdcompError, ValueError):
    """An object (label, box, mask, importance) is malformed, e.g. a mask of the wrong size."""


class BitstreamError(SdcompError, ValueError):
    """Base class of the errors raised while reading an ``.sdc`` bitstream."""


class BadMagicError(BitstreamError):
    """The data does not start with the sdcomp-lite magic bytes: it is not an .sdc file."""


class UnsupportedVersionError(BitstreamError):
    """The container version is newer (or older) than this release can read."""


class TruncatedBitstreamError(BitstreamError):
    """The data ends before the header and layer table are complete."""


class CorruptBitstreamError(BitstreamError):
    """A CRC32 check failed, a field holds an impossible value, or coded data ends early."""


class ImageTooLargeError(BitstreamError):
    """The file describes an image larger than the decoder's pixel budget (``max_pixels``)."""


class InvalidParameterError(SdcompError, ValueError):
    """An argument is out of range or of the wrong type (a quality, ``layers=``, a scale, a transform)."""


class RateControlError(SdcompError, ValueError):
    """A byte budget cannot be met, even at the lowest quality."""


class UnknownBackendError(SdcompError, KeyError):
    """A backend, transform or registry name is not known."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class BackendUnavailableError(SdcompError, RuntimeError):
    """A backend needs a package or model weights that are not installed here."""


class DataFileError(SdcompError, ValueError):
    """A data or annotation file is missing or malformed."""


class SweepStateError(DataFileError):
    """A sweep folder cannot be resumed safely (a damaged run.json, another configuration or
    format) or written (a full disk); the message says what to do."""
