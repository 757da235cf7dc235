"""Other streams: subtitles, chapters, attachments kept in MKV; audio transcoded, never dropped."""

from __future__ import annotations

import itertools
import logging
from fractions import Fraction

import av
import numpy as np

from vidsr import Pipeline, UpscaleOptions

FAST = {"model": "bicubic", "scale": 2, "preset": "ultrafast"}


def _mkv_with_extras(path):
    """Video + an SRT subtitle track + a font attachment + two chapters."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        s = out.add_mux_stream("subrip", time_base=Fraction(1, 1000))
        out.add_attachment("font.ttf", "application/x-truetype-font", b"FONT" * 30)
        tb = Fraction(1, 10)
        out.set_chapters(
            [
                {"id": 1, "start": 0, "end": 5, "time_base": tb, "metadata": {"title": "Intro"}},
                {"id": 2, "start": 5, "end": 10, "time_base": tb, "metadata": {"title": "End"}},
            ]
        )
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 9 * i, np.uint8), "rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
            if i in (2, 12):
                p = av.Packet(b"Bonjour %d" % i)
                p.stream, p.pts, p.dts, p.duration = s, i * 40, i * 40, 400
                p.time_base = Fraction(1, 1000)
                out.mux(p)
        out.mux(v.encode(None))


def test_mkv_keeps_subtitles_chapters_and_attachments(tmp_path):
    src, out = tmp_path / "extras.mkv", tmp_path / "out.mkv"
    _mkv_with_extras(src)
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    with av.open(str(out)) as c:
        subs = [bytes(p) for p in c.demux(c.streams.subtitles[0]) if p.size]
        titles = [ch["metadata"]["title"] for ch in c.chapters()]
        att = [s for s in c.streams if s.type == "attachment"]
        assert subs == [b"Bonjour 2", b"Bonjour 12"]
        assert titles == ["Intro", "End"]
        assert [(a.name, bytes(a.data)) for a in att] == [("font.ttf", b"FONT" * 30)]


def test_mp4_says_what_it_cannot_keep(tmp_path, caplog):
    src, out = tmp_path / "extras.mkv", tmp_path / "out.mp4"
    _mkv_with_extras(src)
    with caplog.at_level(logging.WARNING):
        Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    text = caplog.text
    assert "subtitles" in text and "left out" in text
    assert "attachment" in text


def test_audio_the_container_cannot_hold_is_transcoded_not_dropped(tmp_path, caplog):
    src, out = tmp_path / "pcm.mkv", tmp_path / "out.mp4"
    with av.open(str(src), "w") as o:
        v = o.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = o.add_stream("pcm_s24le", rate=48000)
        a.layout = "stereo"
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 9 * i, np.uint8), "rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            o.mux(v.encode(frame))
        tone = np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000).astype(np.float32)
        for s in range(0, 48000, 1920):
            chunk = (np.stack([tone[s : s + 1920]] * 2) * 2**30).astype(np.int32)
            af = av.AudioFrame.from_ndarray(chunk.T.copy().reshape(1, -1), "s32", "stereo")
            af.sample_rate, af.pts, af.time_base = 48000, s, Fraction(1, 48000)
            o.mux(a.encode(af))
        o.mux(v.encode(None))
        o.mux(a.encode(None))
    with caplog.at_level(logging.WARNING):
        Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    assert "transcoding it to AAC" in caplog.text
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac"
        frames = list(c.decode(stream))
        seconds = sum(f.samples for f in frames) / 48000
        assert abs(seconds - 1.0) < 0.05
        pcm = np.concatenate([f.to_ndarray()[0] for f in frames])
        assert np.abs(pcm).max() > 0.5  # the tone, not silence


def test_avi_mp3_transcoded_for_m4v_keeps_every_sample_in_order(shared_data, tmp_path):
    """Regression: an AVI's MP3 stream counts time in MP3 frames (1152 samples a tick); cut
    into AAC's 1024-sample frames in that time base, timestamps rounded onto each other and
    the .m4v (ipod) muxer refused them: the run failed at the sixth frame."""
    src = shared_data / "clips" / "ucf_makeup_mpeg4asp_320x240_mp3.avi"
    out = tmp_path / "out.m4v"
    Pipeline(UpscaleOptions.of(**{**FAST, "duration": 1.0})).run(str(src), str(out))
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac"
        dts = [p.dts for p in c.demux(stream) if p.dts is not None]
    assert all(b > a for a, b in itertools.pairwise(dts))
    with av.open(str(out)) as c:
        got = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    with av.open(str(src)) as c:
        want = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    assert abs(len(got) / 44100 - 1.0) < 0.05
    n = min(len(got), 40000)
    assert np.corrcoef(got[:n], want[:n])[0, 1] > 0.99  # the same sound, in place


def test_a_cover_picture_stream_before_the_video_is_not_what_gets_upscaled(tmp_path):
    """Regression: the first video stream was taken, so a file whose first video stream is a
    one-frame cover (as some taggers write them) came out as that one picture."""
    src, out = tmp_path / "cover.mkv", tmp_path / "out.mkv"
    with av.open(str(src), "w") as o:
        cover = o.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        video = o.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        art = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), "rgb24")
        art = art.reformat(format="yuvj420p")
        art.pts = 0
        o.mux(cover.encode(art))
        o.mux(cover.encode(None))
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), "rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            o.mux(video.encode(frame))
        o.mux(video.encode(None))
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]
        frames = list(c.decode(video=0))
    assert len(frames) == 10 and (frames[0].width, frames[0].height) == (128, 96)
