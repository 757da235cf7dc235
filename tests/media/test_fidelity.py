"""Faithful to the source: bit depth, rotation, aspect, deinterlacing, image sequences."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from tests.clips import video_size, video_times
from vidsr import Pipeline, UpscaleOptions
from vidsr.errors import InvalidOptionError

FAST = {"model": "bicubic", "scale": 2, "preset": "ultrafast"}


def _first_frame(path):
    """The first decoded frame and the stream's sample aspect ratio, read while the file is open
    (PyAV 18.1 refuses a closed container's stream attributes)."""
    with av.open(str(path)) as c:
        return next(c.decode(video=0)), c.streams.video[0].sample_aspect_ratio


def test_10bit_stays_10bit(clip_factory, tmp_path):
    src = clip_factory("ten.mkv", codec="libx265", pix_fmt="yuv420p10le", frames=3, audio=False)
    out = tmp_path / "ten_x2.mkv"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    frame, _ = _first_frame(out)
    assert frame.format.name == "yuv420p10le"
    y = np.frombuffer(frame.planes[0], np.uint16)
    # 8-bit data promoted to 10 bits would only hold multiples of 4
    assert np.mean(y % 4 != 0) > 0.3


def test_pix_fmt_override(clip_factory, tmp_path):
    src = clip_factory("ten.mkv", codec="libx265", pix_fmt="yuv420p10le", frames=3, audio=False)
    out = tmp_path / "eight.mp4"
    Pipeline(UpscaleOptions.of(pix_fmt="yuv420p", **FAST)).run(str(src), str(out))
    assert _first_frame(out)[0].format.name == "yuv420p"


def test_rotation_tag_and_aspect_are_kept(clip_factory, tmp_path):
    src = clip_factory("rot.mp4", rotation=-90, sar=Fraction(35, 32), frames=3)
    out = tmp_path / "rot.mp4"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    frame, sar = _first_frame(out)
    assert frame.rotation == -90
    assert sar == Fraction(35, 32)
    assert video_size(out) == (128, 96)


def test_apply_rotation_turns_pictures_upright(clip_factory, tmp_path):
    src = clip_factory("rot.mp4", rotation=-90, sar=Fraction(35, 32), frames=3)
    out = tmp_path / "upright.mp4"
    Pipeline(UpscaleOptions.of(apply_rotation=True, **FAST)).run(str(src), str(out))
    frame, _ = _first_frame(out)
    assert frame.rotation == 0
    assert (frame.width, frame.height) == (96, 128)
    # what a player shows for the source (rotate 90 degrees clockwise) is what we wrote
    src_frame, _ = _first_frame(src)
    shown = np.rot90(src_frame.to_ndarray(format="rgb24"), k=-1)
    got = np.asarray(
        frame.to_image().resize((shown.shape[1], shown.shape[0]), Image.Resampling.BOX)
    )
    assert np.abs(got.astype(int) - shown.astype(int)).mean() < 12


def test_interlaced_source_is_deinterlaced(clip_factory, tmp_path):
    src = clip_factory(
        "interlaced.mkv", frames=6, audio=False, extra={"flags": "+ildct+ilme"}, height=64
    )
    with av.open(str(src)) as c:
        assert next(c.decode(video=0)).interlaced_frame
    out_auto, out_off = tmp_path / "auto.mkv", tmp_path / "off.mkv"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out_auto))
    Pipeline(UpscaleOptions.of(deinterlace="off", **FAST)).run(str(src), str(out_off))
    assert video_times(out_auto) == video_times(src) == video_times(out_off)
    with av.open(str(out_auto)) as c:
        assert not next(c.decode(video=0)).interlaced_frame


def _png_folder(folder, count, size=(40, 30), dtype=np.uint8):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        if dtype == np.uint8:
            Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
                folder / f"img{i:03d}.png"
            )
        else:
            # 16-bit grey PNG (Pillow writes I;16)
            Image.fromarray(rng.integers(0, 65536, (size[1], size[0]), dtype=np.uint16)).save(
                folder / f"img{i:03d}.png"
            )


def test_image_folder_to_png_folder(tmp_path):
    _png_folder(tmp_path / "frames", 4)
    out = tmp_path / "big"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(tmp_path / "frames"), str(out) + "/")
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(4)]  # img000..img003: numbers kept
    assert Image.open(out / names[0]).size == (80, 60)
    assert not [p for p in tmp_path.iterdir() if "vidsr-tmp" in p.name]


def test_image_folder_to_video_with_fps(tmp_path):
    _png_folder(tmp_path / "frames", 5)
    out = tmp_path / "seq.mp4"
    Pipeline(UpscaleOptions.of(fps=Fraction(12), **FAST)).run(str(tmp_path / "frames"), str(out))
    times = video_times(out)
    assert len(times) == 5 and times[1] - times[0] == Fraction(1, 12)


def test_single_photo_in_photo_out(tmp_path):
    _png_folder(tmp_path / "one", 1)
    photo = tmp_path / "one" / "img000.png"
    stats = Pipeline(UpscaleOptions.of(**FAST)).run(str(photo))
    assert stats.output == str(tmp_path / "one" / "img000_x2.png")
    assert Image.open(stats.output).size == (80, 60)


def test_deep_source_gives_16bit_png(clip_factory, tmp_path):
    src = clip_factory("ten.mkv", codec="libx265", pix_fmt="yuv420p10le", frames=3, audio=False)
    out = tmp_path / "deep"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out) + "/")
    frame, _ = _first_frame(out / "frame_000001.png")  # Pillow would flatten 48-bit RGB
    assert frame.format.name == "rgb48be"
    values = frame.to_ndarray()
    assert np.mean(values % 256 != 0) > 0.5  # real 16-bit data, not 8-bit shifted up


def test_video_to_single_image_name_is_refused(clip_factory, tmp_path):
    with pytest.raises(InvalidOptionError, match="folder"):
        Pipeline(UpscaleOptions.of(**FAST)).run(str(clip_factory("v.mp4")), str(tmp_path / "x.png"))


def test_hdr_tags_kept_and_metadata_limit_said(tmp_path, caplog):
    import logging

    src, out = tmp_path / "pq.mkv", tmp_path / "pq_x2.mkv"
    with av.open(str(src), "w") as o:
        s = o.add_stream("libx265", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p10le"
        ctx = s.codec_context
        ctx.color_trc, ctx.color_primaries, ctx.colorspace = 16, 9, 9  # PQ, BT.2020
        ctx.options = {"x265-params": "log-level=error"}
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 60, np.uint8), "rgb24")
            f = f.reformat(format="yuv420p10le")
            f.pts, f.time_base = i, Fraction(1, 25)
            o.mux(s.encode(f))
        o.mux(s.encode(None))
    with caplog.at_level(logging.WARNING):
        Pipeline(UpscaleOptions.of(codec="libx265", **FAST)).run(str(src), str(out))
    assert "HDR source (PQ)" in caplog.text
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (int(ctx.color_trc), int(ctx.color_primaries), int(ctx.colorspace)) == (16, 9, 9)
        assert next(c.decode(video=0)).format.name == "yuv420p10le"


def test_odd_output_size_fits_420(clip_factory, tmp_path):
    src = clip_factory("odd.mkv", codec="libx264", pix_fmt="yuv444p", width=33, height=25, frames=2)
    out = tmp_path / "odd_x3.mp4"
    Pipeline(UpscaleOptions.of(model="bicubic", scale=3, preset="ultrafast")).run(
        str(src), str(out)
    )
    frame, _ = _first_frame(out)
    # 99x75 cannot be 4:2:0: one column and one row are dropped, nothing is stretched
    assert (frame.width, frame.height, frame.format.name) == (98, 74, "yuv420p")
    assert video_times(out) == video_times(src)


def test_container_title_and_audio_language_are_kept(clip_factory, tmp_path):
    src = clip_factory("meta.mp4", frames=3)
    out = tmp_path / "meta.mkv"
    Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(out))
    with av.open(str(out)) as c:
        assert c.metadata.get("title") == "vidsr test clip"
        assert c.streams.audio[0].metadata.get("language") == "eng"


def test_printf_patterns_in_and_out_and_a_percent_in_a_video_name(clip_factory, tmp_path):
    """``img%03d.png`` in and ``out_%04d.png`` out are image sequences; a video whose name
    merely holds a ``%`` is a video (it was opened as an image pattern and failed)."""
    from vidsr.media.images import is_pattern

    assert is_pattern("frames/img%03d.png") and is_pattern("out_%d.jpg")
    assert not is_pattern("clip 100%.mp4") and not is_pattern("100%done.mkv")
    _png_folder(tmp_path / "frames", 3)
    pattern_out = tmp_path / "up" / "out_%04d.png"
    pattern_out.parent.mkdir()
    Pipeline(UpscaleOptions.of(**FAST)).run(
        str(tmp_path / "frames" / "img%03d.png"), str(pattern_out)
    )
    assert sorted(p.name for p in pattern_out.parent.iterdir()) == [
        f"out_{i:04d}.png" for i in range(3)
    ]  # img000..img002 in: the numbers are kept
    src = tmp_path / "clip 100%.mp4"
    src.write_bytes(clip_factory("short.mp4", frames=6).read_bytes())
    stats = Pipeline(UpscaleOptions.of(**FAST)).run(str(src), str(tmp_path / "out 50%.mkv"))
    assert stats.output == str(tmp_path / "out 50%.mkv")
    assert len(video_times(tmp_path / "out 50%.mkv")) == 6
