"""Headerless raw video: size, pixel format and rate read from the name; frames read exactly."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from vidsr import Pipeline, UpscaleOptions
from vidsr.errors import CorruptInputError
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import open_input, probe
from vidsr.media.rawvideo import RAW_PIX_FMTS, is_raw, name_disagrees, raw_format


def _touch(path, size: int = 10**7):
    path.write_bytes(b"\0" * size)
    return str(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cars_320x240_30f_yuv420p.i420", (320, 240, "yuv420p", Fraction(25))),
        ("BasketballDrive_1920x1080_50.yuv", (1920, 1080, "yuv420p", Fraction(50))),
        ("park_1280x720_59.94fps_10bit.yuv", (1280, 720, "yuv420p10le", Fraction(60000, 1001))),
        ("a-64x48-yuv422p10le.yuv", (64, 48, "yuv422p10le", Fraction(25))),
        ("foreman_cif.yuv", (352, 288, "yuv420p", Fraction(25))),
        ("clip_qcif_yuv444_16bit.yuv", (176, 144, "yuv444p16le", Fraction(25))),
        ("cam_640x480_30hz.nv12", (640, 480, "nv12", Fraction(30))),
        ("shot_1920x1080_p010.yuv", (1920, 1080, "p010le", Fraction(25))),
        ("still_32x32.rgb", (32, 32, "rgb24", Fraction(25))),
    ],
)
def test_format_from_the_name(tmp_path, name: str, expected) -> None:
    assert is_raw(name)
    assert raw_format(_touch(tmp_path / name)) == expected


def test_other_files_are_not_raw() -> None:
    assert not any(is_raw(n) for n in ("a.mp4", "b.y4m", "c.h264", "d.png", "yuv"))


def test_a_name_without_size_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(CorruptInputError, match="name must give the frame size"):
        probe(_touch(tmp_path / "foreman.yuv"))


def test_a_file_smaller_than_a_frame_is_a_clear_error(tmp_path) -> None:
    path = _touch(tmp_path / "clip_64x48.yuv", 64 * 48)  # 4:2:0 needs 1.5 bytes a pixel
    with pytest.raises(CorruptInputError, match="less than one 64x48 yuv420p frame"):
        probe(path)


def test_trailing_bytes_are_reported(tmp_path, caplog) -> None:
    path = _touch(tmp_path / "clip_64x48.yuv", 2 * 64 * 48 * 3 // 2 + 100)
    with caplog.at_level(logging.WARNING):
        probe(path)
    assert caplog.text.count("last 100 are ignored") == 1  # said once, not at every open


def _planes_10bit(t: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(t)
    y = rng.integers(64, 940, (h, w), dtype=np.uint16)
    return [y] + [rng.integers(64, 960, (h // 2, w // 2), dtype=np.uint16) for _ in range(2)]


def test_10bit_frames_are_read_exactly_and_upscaled_at_10bit(tmp_path) -> None:
    frames = [_planes_10bit(t) for t in range(4)]
    path = tmp_path / "gen_64x48_30_yuv420p10le.yuv"
    path.write_bytes(b"".join(p.astype("<u2").tobytes() for f in frames for p in f))
    info = probe(str(path))
    assert (info.video.width, info.video.height, info.video.bit_depth) == (64, 48, 10)
    assert info.video.average_rate == 30
    decoded = list(VideoDecoder(info, deinterlace="off").frames())
    assert len(decoded) == 4
    for got, want in zip(decoded, frames, strict=True):
        for a, b in zip(got.planes, want, strict=True):
            np.testing.assert_array_equal(a, b)
    out = tmp_path / "out.mkv"
    Pipeline(UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast")).run(
        str(path), str(out)
    )
    with av.open(str(out)) as c:
        got = list(c.decode(video=0))
        assert len(got) == 4
        assert (got[0].width, got[0].height, got[0].format.name) == (128, 96, "yuv420p10le")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def test_real_raw_clip_is_the_picture_its_h264_stream_codes(shared_data, tmp_path) -> None:
    """The raw I420 cars clip is the lossless source of the H.264 one: read with the size and
    format its name gives, every frame matches the decoded stream closely (a wrong size or
    layout would not), and it upscales end to end with the rate it names (25 fps)."""
    raw = probe(str(shared_data / "clips" / "raw" / "cars_320x240_30f_yuv420p.i420"))
    coded = probe(str(shared_data / "clips" / "cars_320x240_h264_annexb.h264"))
    a = [f.planes for f in VideoDecoder(raw, deinterlace="off").frames()]
    b = [f.planes for f in VideoDecoder(coded, deinterlace="off").frames()]
    assert len(a) == len(b) == 30
    for pa, pb in zip(a, b, strict=True):
        assert min(_psnr(x, y) for x, y in zip(pa, pb, strict=True)) > 30
    assert _psnr(a[0][0], b[5][0]) < 30  # frames differ from each other: the check can fail
    out = tmp_path / "cars_x2.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, duration=0.4, preset="ultrafast")
    Pipeline(options).run(raw.path, str(out))
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 10
    assert (frames[0].width, frames[0].height) == (640, 480)


def _decode_planes(path) -> list[list[np.ndarray]]:
    return [f.planes for f in VideoDecoder(probe(str(path)), deinterlace="off").frames()]


def test_raw_and_y4m_outputs_hold_exactly_the_frames_a_lossless_file_holds(tmp_path) -> None:
    """``.yuv`` and ``.y4m`` outputs are uncompressed: frame for frame the picture that a
    lossless FFV1 file of the same run holds, at 10 bits, at the input's rate."""
    src = tmp_path / "gen_64x48_30_yuv420p10le.yuv"
    src.write_bytes(b"".join(p.astype("<u2").tobytes() for t in range(5) for p in _planes_10bit(t)))
    lossless = tmp_path / "ref.mkv"
    base = dict(model="bicubic", scale=2, temporal="off")
    Pipeline(UpscaleOptions.of(codec="ffv1", **base)).run(str(src), str(lossless))
    want = _decode_planes(lossless)
    assert len(want) == 5
    raw = tmp_path / "out_128x96_yuv420p10le.yuv"
    y4m = tmp_path / "out.y4m"
    for out in (raw, y4m):
        Pipeline(UpscaleOptions.of(**base)).run(str(src), str(out))
    assert raw.stat().st_size == 5 * 128 * 96 * 3  # 1.5 samples a pixel, 2 bytes a sample
    info = probe(str(y4m))
    assert (info.video.pix_fmt, info.video.average_rate) == ("yuv420p10le", 30)
    for out in (raw, y4m):
        got = _decode_planes(out)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            for pa, pb in zip(a, b, strict=True):
                np.testing.assert_array_equal(pa, pb)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [src.name, lossless.name, raw.name, y4m.name]
    )  # no temporary file left beside them


def test_real_clip_to_y4m_says_the_audio_is_left_out(shared_data, tmp_path, caplog) -> None:
    src = shared_data / "clips" / "chaplin_h264_mp3_640x360.mp4"
    out = tmp_path / "chaplin.y4m"
    options = UpscaleOptions.of(model="bicubic", scale=1, duration=0.4, temporal="off")
    with caplog.at_level(logging.WARNING):
        Pipeline(options).run(str(src), str(out))
    assert "holds video only: the input's audio left out" in caplog.text
    info, source = probe(str(out)), probe(str(src))
    assert info.video.average_rate == source.video.average_rate
    assert (info.video.width, info.video.height) == (640, 360)
    frames = _decode_planes(out)
    assert len(frames) == round(0.4 * source.video.average_rate)


def test_cli_writes_a_whole_raw_video_without_a_job(clip_factory, tmp_path) -> None:
    from vidsr.cli import main

    src = clip_factory("short.mp4", frames=6, width=64, height=48)
    out = tmp_path / "out_128x96.yuv"
    assert main(["upscale", str(src), "-o", str(out), "-m", "bicubic", "-s", "2", "-q"]) == 0
    assert out.stat().st_size == 6 * 128 * 96 * 3 // 2
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no job folder


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("out_128x96_yuv420p10le.yuv", None),
        ("out_128x96_10bit.yuv", None),
        ("out.yuv", "gives no frame size"),
        ("out_cif_10bit.yuv", "says 352x288 yuv420p10le but holds 128x96 yuv420p10le"),
        ("out_128x96.yuv", "says 128x96 yuv420p but holds 128x96 yuv420p10le"),
        ("out.y4m", None),
        ("out.mp4", None),
    ],
)
def test_a_raw_output_name_that_would_not_read_back_is_reported(name, says) -> None:
    why = name_disagrees(name, 128, 96, "yuv420p10le")
    assert why is None if says is None else says in why
    if says:
        assert "out_128x96_yuv420p10le.yuv" in why  # the name that would


def _packed_bytes(frame: av.VideoFrame) -> bytes:
    """A frame's planes as a raw file holds them: rows without their padding."""
    out = b""
    for i, plane in enumerate(frame.planes):
        row = sum(c.width * ((c.bits + 7) // 8) for c in frame.format.components if c.plane == i)
        buf, step = bytes(plane), plane.line_size
        out += b"".join(buf[r * step : r * step + row] for r in range(plane.height))
    return out


@pytest.mark.parametrize("pix_fmt", sorted(RAW_PIX_FMTS))
def test_every_named_pixel_format_reads_back_the_picture(tmp_path, pix_fmt: str) -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 32, 3), dtype=np.uint8)
    frames = [av.VideoFrame.from_ndarray(np.roll(rgb, t, 1), "rgb24").reformat(format=pix_fmt)
              for t in range(2)]  # fmt: skip
    path = tmp_path / f"g_32x16_{pix_fmt}.yuv"
    path.write_bytes(b"".join(_packed_bytes(f) for f in frames))
    assert raw_format(str(path))[2] == pix_fmt
    with open_input(str(path)) as container:
        got = list(container.decode(video=0))
    assert len(got) == 2
    for a, b in zip(got, frames, strict=True):
        assert a.format.name == pix_fmt
        want = b.reformat(format="rgb48le").to_ndarray()
        np.testing.assert_array_equal(a.reformat(format="rgb48le").to_ndarray(), want)


def test_real_raw_clip_runs_as_a_segmented_job_with_every_frame(shared_data, tmp_path) -> None:
    """The CLI's default for a whole file: segments cut at keyframes (every raw frame is one)
    and joined, all 30 frames at the rate the name gives; a raw output is refused there."""
    from vidsr.config import JobOptions
    from vidsr.errors import InvalidOptionError
    from vidsr.jobs.job import run_job

    src = str(shared_data / "clips" / "raw" / "cars_320x240_30f_yuv420p.i420")
    out = tmp_path / "cars_x2.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast")
    result = run_job(src, str(out), options, JobOptions(segment_seconds=0.4))
    assert result.frames == 30
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 30
    assert [f.pts * f.time_base for f in frames] == [Fraction(i, 25) for i in range(30)]
    with pytest.raises(InvalidOptionError, match="uncompressed video"):
        run_job(src, str(tmp_path / "x_640x480.yuv"), options)


def test_fps_overrides_the_named_rate_in_a_segmented_job(shared_data, tmp_path) -> None:
    """Regression: with ``--fps`` the job cut segments at the name's 25 fps while the decoder
    ran at the given rate, and a segment came out empty ("no video frames in the window")."""
    from vidsr.config import JobOptions
    from vidsr.jobs.job import run_job

    src = str(shared_data / "clips" / "raw" / "cars_320x240_30f_yuv420p.i420")
    out = tmp_path / "cars_50.mp4"
    options = UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast", fps=Fraction(50))
    assert run_job(src, str(out), options, JobOptions(segment_seconds=0.2)).frames == 30
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert [f.pts * f.time_base for f in frames] == [Fraction(i, 50) for i in range(30)]
