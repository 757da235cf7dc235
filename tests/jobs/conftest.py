"""Helpers for job tests: small keyframe-dense clips, fast options, decoded-frame comparison."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidsr.config import UpscaleOptions

FAST = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", crf=20, batch_size=2)
"""Options every job test uses: a weightless model and the fastest encoder preset."""


def decoded_frames(path: Path) -> list[tuple[Fraction, np.ndarray]]:
    """(pts, all planes as one array) of every decoded frame of the first video stream."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        tb = stream.time_base
        return [(f.pts * tb, f.to_ndarray()) for f in c.decode(stream)]


def assert_same_frames(a: Path, b: Path) -> None:
    """Decoded frames of ``a`` and ``b`` are identical: count, timestamps and every pixel."""
    fa, fb = decoded_frames(a), decoded_frames(b)
    assert [p for p, _ in fa] == [p for p, _ in fb]
    for (pts, x), (_, y) in zip(fa, fb, strict=True):
        assert np.array_equal(x, y), f"frame at {pts} s differs"


@pytest.fixture
def keyclip(clip_factory):
    """A 40-frame 25 fps clip with audio and a keyframe every 12 frames (0.48 s)."""
    return clip_factory("key12.mp4", frames=40, extra={"g": "12", "keyint_min": "12"})
