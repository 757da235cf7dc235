"""vidsr: video super-resolution that keeps your audio, colours, timing and frames.

Public API (importing this package is cheap: torch and PyAV load on first use)::

    import vidsr
    vidsr.upscale("in.mp4", "out.mp4", scale=2)
    stats = vidsr.Pipeline(vidsr.UpscaleOptions.of(model="realesrgan-x4plus")).run("in.mp4")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidsr.config import UpscaleOptions
from vidsr.errors import (
    CancelledError,
    CorruptInputError,
    EncoderError,
    InputNotFoundError,
    InvalidOptionError,
    ModelWeightsError,
    NoVideoStreamError,
    OutputPathError,
    UnsupportedModelError,
    VidsrError,
)
from vidsr.types import RunState

if TYPE_CHECKING:
    from vidsr.pipeline import Pipeline, RunStats, upscale

__version__ = "0.1.0"

__all__ = [
    "CancelledError",
    "CorruptInputError",
    "EncoderError",
    "InputNotFoundError",
    "InvalidOptionError",
    "ModelWeightsError",
    "NoVideoStreamError",
    "OutputPathError",
    "Pipeline",
    "RunState",
    "RunStats",
    "UnsupportedModelError",
    "UpscaleOptions",
    "VidsrError",
    "__version__",
    "upscale",
]

_LAZY = {"Pipeline", "RunStats", "upscale"}


def __getattr__(name: str):
    """Load the pipeline (torch, PyAV) only when it is first used."""
    if name in _LAZY:
        from vidsr import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'vidsr' has no attribute {name!r}")
