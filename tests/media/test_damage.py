"""A damaged packet costs no frame: the frame before stands in at its timestamp, with a warning."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest

from tests.clips import audio_packets, video_times
from vidsr import Pipeline, UpscaleOptions
from vidsr.errors import CorruptInputError
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import probe


def damage(src, dst, bad: set[int]) -> list[int]:
    """Copy ``src`` packet by packet, breaking the video packets numbered in ``bad`` (decode
    order) so the decoder rejects them (their first NAL unit claims a length past the end);
    returns the pts of the broken packets."""
    broken = []
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        n = 0
        for p in i.demux():
            if p.dts is None:
                continue
            out = streams[p.stream.index]
            if p.stream.type == "video":
                if n in bad:
                    data = bytearray(bytes(p))
                    data[:4] = (0x7FFFFFF0).to_bytes(4, "big")
                    q = av.Packet(bytes(data))
                    q.pts, q.dts, q.time_base = p.pts, p.dts, p.time_base
                    q.is_keyframe = p.is_keyframe
                    broken.append(p.pts)
                    p = q
                n += 1
            p.stream = out
            o.mux(p)
    return broken


@pytest.fixture(scope="module")
def clip(request):
    return request.getfixturevalue("clip_factory")(
        "damage_src.mp4", frames=30, extra={"g": "10", "bf": "0"}
    )


def test_the_frame_before_stands_in_for_a_damaged_packet(clip, tmp_path, caplog):
    bad = tmp_path / "damaged.mp4"
    lost = damage(clip, bad, {13, 14, 22})
    decoder = VideoDecoder(probe(str(bad)))
    with caplog.at_level(logging.WARNING, logger="vidsr"):
        frames = list(decoder.frames())
    assert [f.pts for f in frames] == [f.pts for f in VideoDecoder(probe(str(clip))).frames()]
    assert decoder.damaged == 3 and decoder.stood_in == 3
    assert "3 damaged packets; 3 frames are copies" in caplog.text
    by_pts = {f.pts: i for i, f in enumerate(frames)}
    for pts in lost:
        i = by_pts[pts]
        pairs = zip(frames[i].planes, frames[i - 1].planes, strict=True)
        assert all(np.array_equal(a, b) for a, b in pairs)


def test_a_damaged_file_is_upscaled_whole_with_its_audio(clip, tmp_path):
    bad = tmp_path / "damaged.mp4"
    damage(clip, bad, {5})
    out = tmp_path / "out.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", temporal="off")
    stats = Pipeline(options).run(str(bad), str(out))
    assert video_times(out) == video_times(clip) and stats.frames_encoded == 30
    assert audio_packets(out) == audio_packets(clip)


def test_nothing_decodable_is_an_error(clip, tmp_path):
    bad = tmp_path / "all_bad.mp4"
    damage(clip, bad, set(range(30)))
    with pytest.raises(CorruptInputError, match="cannot decode any video frame"):
        list(VideoDecoder(probe(str(bad))).frames())


def test_raw_stream_keeps_its_frame_count(shared_data, tmp_path):
    """A raw H.264 stream has no timestamps: frames are timed by their count, so a lost frame
    would shift every later one. The stand-in keeps the count (30) and so the length."""
    src = shared_data / "clips" / "cars_320x240_h264_annexb.h264"
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(src.read_bytes())
    pos, size = packets[10]
    data[pos + 8 : pos + size] = bytes(b ^ 0x5A for b in data[pos + 8 : pos + size])
    bad = tmp_path / "damaged.h264"
    bad.write_bytes(bytes(data))
    decoder = VideoDecoder(probe(str(bad)))
    frames = list(decoder.frames())
    reference = list(VideoDecoder(probe(str(src))).frames())
    assert decoder.damaged >= 1 and decoder.stood_in == decoder.damaged
    assert [f.pts for f in frames] == [f.pts for f in reference] and len(frames) == 30


def _faststart_truncated(src, dst, keep: float) -> None:
    """``src`` remuxed with its index first (as a download or camera writes it), then cut to
    ``keep`` of its bytes: the index still lists every frame, the data of the last ones is gone."""
    full = dst.with_name("faststart.mp4")
    with av.open(str(src)) as i, av.open(str(full), "w", options={"movflags": "faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for p in i.demux():
            if p.dts is not None:
                p.stream = streams[p.stream.index]
                o.mux(p)
    data = full.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])


def test_truncated_file_in_a_window_is_an_error_not_a_short_output(clip_factory, tmp_path):
    """Bug: a truncated file given a window (--duration 2) returned 22 of its 50 frames with
    exit 0 and no warning, while the same file as a whole video was an error."""
    src = clip_factory("long.mp4", frames=50, width=160, height=120, pattern="texture")
    cut = tmp_path / "cut.mp4"
    _faststart_truncated(src, cut, 0.45)
    out = tmp_path / "o.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", duration=2.0)
    with pytest.raises(CorruptInputError, match="truncated or damaged"):
        Pipeline(options).run(str(cut), str(out))
    assert not out.exists()
    # a window that ends before the cut is whole, and succeeds
    short = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", duration=0.4)
    assert Pipeline(short).run(str(cut), str(out)).frames_encoded == 10
