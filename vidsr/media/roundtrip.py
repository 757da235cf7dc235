"""Code RGB frames with libx264 in memory and decode them back: compressed test input.

Evaluation (``vidsr eval --video --crf``) and ``scripts/bench_temporal.py`` use it to give a
model the macroblocks and ringing of real streaming video. Frames are converted to yuv420p with
FFmpeg's default (BT.601) matrix and back with the same one. This module never imports torch.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import av
import numpy as np

from vidsr.errors import InvalidOptionError
from vidsr.media.deblock import deblock_frames
from vidsr.media.decode import AUTO_DEBLOCK_FRAMES

DETERMINISTIC = {"x264-params": "mbtree=0"}
"""libx264 options every roundtrip gets unless the caller overrides them. With its macroblock
tree on, the libx264 in PyAV's FFmpeg coded the same frames differently from run to run (most
runs differed when the heap had been used before; decoded frames up to 71 levels apart, scores
0.06 dB), whatever the thread settings; with it off, runs are identical (tests/media)."""


def h264_roundtrip(
    frames: np.ndarray,
    crf: int,
    *,
    preset: str = "medium",
    deblock: float | Callable[[list[np.ndarray]], float] = 0.0,
    **options: str,
) -> tuple[np.ndarray, float]:
    """Code ``frames`` ((T, H, W, 3) uint8 RGB, even H and W) with libx264 at ``crf``; decode.

    ``deblock`` is a strength for FFmpeg's deblock filter, applied to the decoded frames before
    colour conversion as the pipeline does (0: none), or a function that picks one from the
    luma planes of the first frames (``vidsr.media.deblock.deblock_decision`` for ``auto``).
    ``options`` go to libx264 (e.g. ``g="1"`` for all-intra), after :data:`DETERMINISTIC`.
    Returns the decoded RGB frames, same shape, and the deblock strength used.
    """
    if not 0 <= crf <= 51:
        raise InvalidOptionError(f"libx264 CRF must be in 0..51, got {crf}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape}")
    if len(frames) == 0 or frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"need at least one frame of even size, got {frames.shape}")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset, **DETERMINISTIC, **options}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        decoded = list(inp.decode(video=0))
    strength = deblock
    if callable(strength):  # judged on the luma of the first frames
        h = decoded[0].height
        strength = strength([f.to_ndarray()[:h] for f in decoded[:AUTO_DEBLOCK_FRAMES]])
    strength = float(strength)
    if strength > 0:
        decoded = deblock_frames(decoded, strength)
    return np.stack([f.to_ndarray(format="rgb24") for f in decoded]), strength
