"""FFmpeg's deblock filter through PyAV, on generated frames."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from vidsr.errors import InvalidOptionError
from vidsr.media.deblock import Deblocker, deblock_args, deblock_decision, deblock_frames
from vidsr.quality.metrics import blockiness


def blocky_luma(h: int, w: int) -> np.ndarray:
    """A smooth picture flattened to 8x8 block means (what heavy quantisation does), uint8."""
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = 60 + 1.1 * xx + 0.7 * yy + 12 * np.sin(xx / 6.0) * np.cos(yy / 9.0)
    blocks = smooth.reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3), keepdims=True)
    flat = np.broadcast_to(blocks, (h // 8, 8, w // 8, 8)).reshape(h, w)
    return np.clip(flat + 0.15 * (smooth - flat), 0, 255).round().astype(np.uint8)


def yuv_frame(y: np.ndarray, pts: int) -> av.VideoFrame:
    h, w = y.shape
    frame = av.VideoFrame(w, h, "yuv420p")
    grey = np.full((h // 2, w // 2), 128, np.uint8)
    for plane, data in zip(frame.planes, (y, grey, grey), strict=True):
        view = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        view[: data.shape[0], : data.shape[1]] = data
    frame.pts = pts
    frame.time_base = Fraction(1, 25)
    return frame


def luma(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()[: frame.height].astype(np.float64)


def test_deblock_reduces_blockiness_and_keeps_timing() -> None:
    y = blocky_luma(64, 96)
    frames = [yuv_frame(y, pts) for pts in (0, 1, 2)]
    out = deblock_frames(frames, strength=1.0)
    assert [f.pts for f in out] == [0, 1, 2]
    assert all((f.width, f.height, f.format.name) == (96, 64, "yuv420p") for f in out)
    before = blockiness(y.astype(np.float64))
    after = blockiness(luma(out[0]))
    assert after < 0.5 * before
    # the picture is smoothed across borders, not replaced
    assert np.abs(luma(out[0]) - y).mean() < 3.0


def test_deblocker_rebuilds_on_size_change_and_flushes() -> None:
    deblocker = Deblocker(strength=2.0)
    first = deblocker.process(yuv_frame(blocky_luma(64, 96), 0))
    second = deblocker.process(yuv_frame(blocky_luma(32, 48), 1))
    rest = deblocker.flush()
    out = first + second + rest
    assert [(f.width, f.height) for f in out] == [(96, 64), (48, 32)]
    assert deblocker.flush() == []


def test_deblock_args_validation() -> None:
    assert "block=8" in deblock_args(1.0)
    assert "alpha=0.1960" in deblock_args(2.0)
    for strength, block in ((0.0, 8), (-1.0, 8), (1.0, 2)):
        with pytest.raises(InvalidOptionError):
            deblock_args(strength, block)


def test_deblock_decision_on_blocky_and_smooth_luma() -> None:
    # moved here with the decision (it was in the temporal stage's module)
    yy, xx = np.mgrid[0:64, 0:96]
    smooth = 60 + 1.1 * xx + 0.7 * yy + 12 * np.sin(xx / 6.0) * np.cos(yy / 9.0)
    blocky = blocky_luma(64, 96)
    assert deblock_decision([smooth, smooth]) == 0.0
    assert 1.0 <= deblock_decision([blocky, blocky]) <= 3.0
    assert deblock_decision([]) == 0.0
