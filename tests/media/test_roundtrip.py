"""The in-memory libx264 round trip that makes compressed evaluation input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests.clips import moving_texture
from vidsr.errors import InvalidOptionError
from vidsr.media.roundtrip import h264_roundtrip


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.stack([moving_texture(i, 64, 48) for i in range(3)])


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b) ** 2))


def test_higher_crf_loses_more(frames: np.ndarray) -> None:
    fine, s_fine = h264_roundtrip(frames, 10, preset="ultrafast")
    coarse, s_coarse = h264_roundtrip(frames, 45, preset="ultrafast")
    assert fine.shape == coarse.shape == frames.shape and fine.dtype == np.uint8
    assert s_fine == s_coarse == 0.0
    assert _mse(fine, frames) < 0.5 * _mse(coarse, frames)


def test_deblock_decision_sees_the_decoded_luma(frames: np.ndarray) -> None:
    seen = []

    def decide(planes: list[np.ndarray]) -> float:
        seen.extend(planes)
        return 1.0

    plain, _ = h264_roundtrip(frames, 45, preset="ultrafast")
    smoothed, strength = h264_roundtrip(frames, 45, preset="ultrafast", deblock=decide)
    assert strength == 1.0 and [p.shape for p in seen] == [(48, 64)] * 3
    assert not np.array_equal(plain, smoothed)


@pytest.mark.parametrize(
    "crf, shape, error",
    [(52, (2, 16, 16, 3), InvalidOptionError), (20, (2, 15, 16, 3), ValueError)],
)
def test_bad_input_is_refused(crf: int, shape: tuple, error: type) -> None:
    """A bad --crf is the user's; frames of the wrong shape are the caller's bug (ValueError)."""
    with pytest.raises(error) as caught:
        h264_roundtrip(np.zeros(shape, np.uint8), crf)
    assert type(caught.value) is error


def test_the_same_frames_code_the_same_every_time() -> None:
    """Evaluation scores must not move between identical runs. libx264's macroblock tree made
    them do so (most runs differed after the heap had been used), so it is off: six roundtrips
    of real decoded video, of a size that is no multiple of 16, with allocations in between,
    decode to the same frames."""
    import av

    sample = Path(__file__).resolve().parents[2] / "samples" / "demo_320x180.mp4"
    with av.open(str(sample)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frames = np.ascontiguousarray(np.stack(decoded[:24])[:, :178, :318])
    rng = np.random.default_rng(0)
    digests = set()
    for _ in range(6):
        churn = [rng.random(1000 + int(rng.integers(100_000))) for _ in range(5)]
        coded, _ = h264_roundtrip(frames, 28)
        digests.add(hashlib.md5(coded.tobytes()).hexdigest())
        del churn
    assert len(digests) == 1
