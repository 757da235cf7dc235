"""Segment plans and segment borders: every frame once, at its own time, in order."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from tests.clips import audio_packets, decoded_rgb, video_times
from tests.jobs.conftest import FAST
from vidsr.errors import InvalidOptionError
from vidsr.jobs import JobOptions, run_job
from vidsr.jobs.segments import plan_segments, scan_keyframes
from vidsr.media.probe import probe


def _decoded_keyframe_times(path: Path) -> list:
    """Times of the frames the decoder flags as keyframes (independent of the packet scan)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.pts * s.time_base for f in c.decode(s) if f.key_frame]


def test_plan_cuts_at_keyframes_and_covers_every_frame(keyclip):
    info = probe(str(keyclip))
    scan = scan_keyframes(info)
    segments = plan_segments(scan, 0.4)
    keys = [float(t) for t in _decoded_keyframe_times(keyclip)]
    assert len(keys) >= 4
    assert [s.start for s in segments] == [0.0, *keys[1:]]
    assert [s.end for s in segments] == [*keys[1:], None]
    assert sum(s.frames for s in segments) == len(video_times(keyclip)) == 40
    firsts = [s.first_frame for s in segments]
    assert firsts == [0, *np.cumsum([s.frames for s in segments])[:-1].tolist()]


def test_long_segments_merge_gops(keyclip):
    segments = plan_segments(scan_keyframes(probe(str(keyclip))), 1.0)
    assert [round(s.start, 2) for s in segments] == [0.0, 1.44]
    with pytest.raises(InvalidOptionError):
        plan_segments(scan_keyframes(probe(str(keyclip))), 0)


def _nearest_source(out: Path, src: Path) -> list[int]:
    """For each output frame, the index of the input frame it is an upscale of."""
    big = decoded_rgb(out)
    small = decoded_rgb(src)
    down = torch.nn.functional.avg_pool2d(big, 2)
    err = ((down[:, None] - small[None]) ** 2).mean(dim=(2, 3, 4))
    return err.argmin(dim=1).tolist()


@pytest.mark.parametrize(
    ("name", "fields", "preset"),
    [
        ("cfr", {"frames": 40, "extra": {"g": "12"}}, "ultrafast"),
        ("bframes", {"frames": 30, "extra": {"g": "8", "bf": "2"}}, "fast"),
        ("vfr", {"frames": 30, "vfr": True, "extra": {"g": "7"}}, "ultrafast"),
    ],
)
def test_job_borders_exact(clip_factory, tmp_path, name, fields, preset):
    """Frame count and pts exact, no frame duplicated, dropped or shifted at any cut."""
    src = clip_factory(f"borders_{name}.mp4", **fields)
    out = tmp_path / "out.mp4"
    options = FAST if preset == "ultrafast" else FAST.changed(preset=preset)
    result = run_job(str(src), str(out), options, JobOptions(segment_seconds=0.2))
    assert result.segments >= 3
    assert video_times(out) == video_times(src)
    assert result.frames == len(video_times(src))
    assert _nearest_source(out, src) == list(range(len(video_times(src))))
    assert audio_packets(out) == audio_packets(src)
