"""StageFeed: the one loop that feeds a post stage in batches and keeps each frame's metadata."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidsr.errors import VidsrError
from vidsr.post_stage import StageFeed, feed_all
from vidsr.temporal import TemporalStabilizer


def clip(frames: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """A small moving texture and its bicubic x4 (the stand-in for a model's output)."""
    base = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(3))
    lr = torch.cat([torch.roll(base, shifts=k, dims=3) for k in range(frames)])
    return lr, F.interpolate(lr, scale_factor=4, mode="bicubic").clamp_(0, 1)


def test_metadata_comes_back_with_its_frame_through_the_look_ahead() -> None:
    lr, sr = clip()
    stage = TemporalStabilizer("medium", lookahead=2)
    feed: StageFeed[int] = StageFeed(stage)
    out_meta: list[int | None] = []
    firsts = []
    for i in range(0, len(lr), 3):
        out, meta = feed.push(lr[i : i + 3], sr[i : i + 3], list(range(i, min(i + 3, len(lr)))))
        assert out.shape[0] == len(meta)
        out_meta += meta
        firsts.append(out.shape[0])
    assert firsts[0] < 3  # the stage held frames back, so metadata had to wait beside them
    tail, meta = feed.finish()
    assert tail.shape[0] == len(meta) > 0
    assert out_meta + meta == list(range(len(lr)))


def test_feed_all_equals_the_stage_fed_by_hand() -> None:
    lr, sr = clip()
    by_hand = TemporalStabilizer("medium")
    parts = [by_hand.process(lr[i : i + 2], sr[i : i + 2]) for i in range(0, len(lr), 2)]
    expected = torch.cat([*parts, by_hand.flush()])
    assert torch.equal(feed_all(TemporalStabilizer("medium"), lr, sr, 2), expected)


def test_without_a_stage_frames_pass_straight_through() -> None:
    lr, sr = clip(3)
    feed: StageFeed[str] = StageFeed(None)
    out, meta = feed.push(lr, sr, ["a", "b", "c"])
    assert out is sr and meta == ["a", "b", "c"]
    tail, meta = feed.finish()
    assert tail.shape[0] == 0 and meta == []


class _Swallows:
    """A broken stage: keeps the last frame of every batch and never returns it."""

    def process(self, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        return sr[:-1]

    def flush(self) -> torch.Tensor:
        return torch.empty(0)

    def reset(self) -> None:
        pass

    def bytes_per_pixel(self, batch: int = 1) -> int:
        return 0


def test_a_stage_that_loses_frames_is_an_error_not_a_short_output() -> None:
    lr, sr = clip(4)
    feed: StageFeed[int] = StageFeed(_Swallows())
    _, meta = feed.push(lr, sr, [0, 1, 2, 3])
    assert meta == [0, 1, 2]
    with pytest.raises(VidsrError, match="1 frames were held back"):
        feed.finish()


def test_metadata_must_match_the_batch() -> None:
    lr, sr = clip(2)
    with pytest.raises(ValueError, match="2 frames"):
        StageFeed(None).push(lr, sr, [0])
