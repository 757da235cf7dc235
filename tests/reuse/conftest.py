"""A lossless clip with a still region and a moving one, decoded as the pipeline decodes it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

WIDTH, HEIGHT = 256, 96
MOVING_FROM = 224
"""Columns from here on hold the moving square; everything left of it is still."""


def still_and_moving(i: int) -> np.ndarray:
    """RGB frame ``i``: a fixed texture with a square moving down in the right-hand columns."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(40, 215, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    rgb = np.repeat(np.repeat(rgb[::4, ::4], 4, 0), 4, 1)  # 4x4 blocks: codes well
    y0 = (5 * i) % (HEIGHT - 16)
    rgb[y0 : y0 + 16, MOVING_FROM + 8 : MOVING_FROM + 24] = (230, 40, 70)
    return rgb


def write_still_and_moving(path: Path, frames: int, gop: int | None = None, picture=None) -> Path:
    """Lossless H.264 (qp 0, 4:2:0) of :func:`still_and_moving` (or ``picture``: frame index ->
    RGB), 25 fps, no audio."""
    picture = picture or still_and_moving
    time_base = Fraction(1, 2500)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        v.time_base = v.codec_context.time_base = time_base
        options = {"preset": "ultrafast", "qp": "0"}
        if gop:
            options.update(g=str(gop), keyint_min=str(gop))
        v.codec_context.options = options
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i), "rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i * 100, time_base
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    return path


@pytest.fixture(scope="session")
def still_clip(tmp_path_factory) -> Path:
    """12 frames of :func:`still_and_moving`, lossless."""
    return write_still_and_moving(tmp_path_factory.mktemp("reuse") / "still.mp4", 12)


def decoded_rgb(path: Path) -> torch.Tensor:
    """Every frame of ``path`` as the model's input: (T, 3, h, w) float RGB on the CPU."""
    from vidsr.media.decode import VideoDecoder
    from vidsr.media.probe import probe
    from vidsr.tensors import planes_to_rgb

    info = probe(str(path))
    decoder = VideoDecoder(info)
    frames = list(decoder.frames())
    return planes_to_rgb(frames, decoder.layout, info.video.color, torch.device("cpu")).clamp_(0, 1)


@pytest.fixture(scope="session")
def small_model():
    """vidsr-bi-x2 in fp32 on the CPU (the default model's body at x2: reach 18 pixels)."""
    from vidsr.models import load_model

    return load_model("vidsr-bi-x2", device="cpu", precision="fp32")


DOT_BLOCK = (1, 6)
"""The 32-pixel block (row, column) that the moving dot of :func:`noisy_with_dot` stays in."""


def noisy_with_dot(i: int) -> np.ndarray:
    """RGB frame ``i``: the still texture of :func:`still_and_moving` without its square, with
    2 levels of noise on a fresh 7% of its pixels (as a codec's updates of a still picture) and
    a 2x2 bright dot moving 3 pixels a frame inside :data:`DOT_BLOCK`."""
    rgb = still_and_moving(0)
    rgb[:, MOVING_FROM:] = still_and_moving(0)[:, MOVING_FROM - 32 : WIDTH - 32]
    noise = np.random.default_rng(100 + i)
    where = noise.random((HEIGHT, WIDTH)) < 0.07
    step = noise.choice(np.array([-2, 2], dtype=np.int16), (HEIGHT, WIDTH, 1))
    rgb = np.where(where[..., None], rgb.astype(np.int16) + step, rgb).astype(np.uint8)
    y, x = 32 * DOT_BLOCK[0] + 12, 32 * DOT_BLOCK[1] + 4 + 3 * i
    rgb[y : y + 2, x : x + 2] = 250
    return rgb
