"""Typed errors. Every error the library raises on purpose is a :class:`VidsrError`.

Where a built-in exception describes the same failure, the error also inherits it (as PyAV does),
so ``except FileNotFoundError`` keeps working for callers who don't know vidsr.
"""

from __future__ import annotations


class VidsrError(Exception):
    """Base class of every vidsr error; ``str(err)`` is a one-line message for the user."""


class InputNotFoundError(VidsrError, FileNotFoundError):
    """The input path does not exist."""


class NoVideoStreamError(VidsrError, ValueError):
    """The input opened but holds no video stream."""


class CorruptInputError(VidsrError, ValueError):
    """The input could not be opened or decoded (corrupt, truncated, not a media file)."""


class UnsupportedModelError(VidsrError, ValueError):
    """A model name is unknown, or a weights file is not an architecture vidsr can run."""


class ModelWeightsError(VidsrError, OSError):
    """Weights could not be found, read or converted."""


class OutputPathError(VidsrError, OSError):
    """The output path is unusable: equal to the input, or its folder is not writable."""


class OutOfMemoryError(VidsrError, MemoryError):
    """The model ran out of device memory even on the smallest tiles."""


class EncoderError(VidsrError, RuntimeError):
    """The encoder or muxer failed (unknown codec, unsupported pixel format, write error)."""


class InvalidOptionError(VidsrError, ValueError):
    """An option value is out of range or contradicts another option."""


class CancelledError(VidsrError):
    """The run was cancelled (Ctrl-C, SIGTERM or :meth:`Pipeline.cancel`)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by the CLI's signal handler: it unwinds like Ctrl-C (temporary files
    removed) and is reported as what it is."""
