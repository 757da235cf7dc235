"""The command line: one-line errors with non-zero exits, no tracebacks, no half-written files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest

from vidsr.cli import EXIT_CANCELLED, EXIT_ERROR, main


def _run(capsys, *argv):
    argv = [*argv, "-q"] if argv[0] == "upscale" else list(argv)
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(code, err, *words):
    assert code == EXIT_ERROR
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_input(capsys, tmp_path):
    code, _, err = _run(capsys, "upscale", str(tmp_path / "nope.mp4"), "-m", "bicubic")
    _assert_one_line_error(code, err, "not found", "nope.mp4")


def test_file_without_video_stream(capsys, tmp_path):
    path = tmp_path / "audio_only.m4a"
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 4800), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    code, _, err = _run(capsys, "upscale", str(path), "-m", "bicubic")
    _assert_one_line_error(code, err, "no video stream")


def test_garbage_file(capsys, tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(os.urandom(4096))
    code, _, err = _run(capsys, "upscale", str(path), "-m", "bicubic")
    _assert_one_line_error(code, err, "garbage.mp4")


def test_truncated_file(capsys, clip_factory, tmp_path):
    src = clip_factory("faststart.mp4", frames=40, extra=None)
    data = src.read_bytes()
    # move the index to the front (as most downloads are), then cut the file in half
    fixed = tmp_path / "fs.mp4"
    with av.open(str(src)) as i, av.open(str(fixed), "w", options={"movflags": "faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for p in i.demux():
            if p.dts is not None:
                p.stream = streams[p.stream.index]
                o.mux(p)
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(fixed.read_bytes()[: len(fixed.read_bytes()) // 2])
    assert len(data) > 0
    out = tmp_path / "out.mp4"
    code, _, err = _run(
        capsys, "upscale", str(cut), "-o", str(out), "-m", "bicubic", "--scale", "2"
    )
    _assert_one_line_error(code, err, "truncated")
    assert not out.exists()
    assert not list(tmp_path.glob(".*vidsr-tmp*"))


def test_unknown_model(capsys, clip_factory):
    code, _, err = _run(
        capsys, "upscale", str(clip_factory("m.mp4", frames=2)), "-m", "nosuchmodel"
    )
    _assert_one_line_error(code, err, "nosuchmodel")


def test_output_equal_to_input(capsys, clip_factory, tmp_path):
    src = tmp_path / "same.mp4"
    shutil.copy(clip_factory("same.mp4", frames=2), src)
    before = src.read_bytes()
    code, _, err = _run(capsys, "upscale", str(src), "-o", str(src), "-m", "bicubic")
    _assert_one_line_error(code, err, "input")
    assert src.read_bytes() == before


def test_unwritable_output_folder(capsys, clip_factory, tmp_path):
    src = clip_factory("w.mp4", frames=2)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = _run(
        capsys, "upscale", str(src), "-o", str(blocker / "out.mp4"), "-m", "bicubic"
    )
    _assert_one_line_error(code, err, "folder")
    code, _, err = _run(
        capsys, "upscale", str(src), "-o", str(tmp_path / "no" / "out.mp4"), "-m", "bicubic"
    )
    _assert_one_line_error(code, err, "folder")


def test_bad_option_value(capsys, clip_factory):
    code, _, err = _run(capsys, "upscale", str(clip_factory("o.mp4", frames=2)), "--crf", "99")
    _assert_one_line_error(code, err, "--crf")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "upscale", str(tmp_path / "nope.mp4")])


def test_models_lists_the_builtins(capsys):
    code, out, _ = _run(capsys, "models")
    assert code == 0
    for name in (
        "realesr-animevideov3",
        "realesrgan-x4plus",
        "realesrgan-x4plus-anime",
        "bicubic",
        "lanczos",
    ):
        assert name in out
    # a network that reads neighbours says which and how late its output comes
    line = next(row for row in out.splitlines() if row.startswith("vidsr-vsr-x4 "))
    assert "t-1..t+1, lag 1" in line
    assert "lag" not in next(row for row in out.splitlines() if row.startswith("vidsr-bi-x4 "))


def test_ctrl_c_exits_130_leaves_no_output_and_resumes(clip_factory, tmp_path):
    src = clip_factory("sigint.mp4", frames=200, width=160, height=120)
    out = tmp_path / "out.mp4"
    cmd = [sys.executable, "-m", "vidsr.cli", "upscale", str(src), "-o", str(out)]
    cmd += ["--device", "cpu", "--precision", "fp32", "--batch", "1", "--preset", "ultrafast"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.rglob(".*vidsr-tmp*")):
        time.sleep(0.05)
    if not list(tmp_path.rglob(".*vidsr-tmp*")):
        proc.kill()
        pytest.fail("the run never started writing")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_CANCELLED
    assert "Traceback" not in err and "cancel" in err
    assert not out.exists()
    assert not list(tmp_path.rglob("*vidsr-tmp*"))  # no half-written file anywhere
    # what is left is the job folder, so the same command continues the job
    assert [p.name for p in tmp_path.iterdir()] == [".out.mp4.vidsr-job"]


def test_eval_and_compare_commands(capsys, tmp_path):
    import json

    from PIL import Image

    rng = np.random.default_rng(0)
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(hr / f"{i}.png")
    code, out, _ = _run(capsys, "eval", str(hr), "-m", "bicubic", "--scale", "2", "--json")
    assert code == 0
    result = json.loads(out)
    assert len(result["images"]) == 2 and result["scale"] == 2
    assert result["psnr"] > 10 and result["bicubic_psnr"] > 10
    code, out, _ = _run(capsys, "eval", str(hr), "-m", "bicubic", "--scale", "2", "--no-ssim")
    assert code == 0 and "mean" in out  # regression: the table crashed without SSIM
    code, out, _ = _run(
        capsys, "compare", str(hr / "0.png"), "-o", str(tmp_path / "c.png"), "-m", "bicubic"
    )
    assert code == 0 and (tmp_path / "c.png").exists()


def test_probe_says_what_will_happen(capsys, clip_factory):
    src = clip_factory("probe.mp4", vfr=True, frames=12)
    code, out, _ = _run(capsys, "probe", str(src))
    assert code == 0
    assert "64x48" in out and "(variable)" in out and "bt709 limited" in out
    assert "audio #1: aac [eng] -> copy" in out


def _mkv_pcm_subtitles_font(path):
    """5 frames of video, PCM audio (MP4 and WebM refuse it), SRT subtitles and a font."""
    from fractions import Fraction

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("pcm_s16le", rate=48000)
        a.layout = "stereo"
        s = out.add_mux_stream("subrip", time_base=Fraction(1, 1000))
        out.add_attachment("font.ttf", "application/x-truetype-font", b"FONT" * 30)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), "rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(v.encode(frame))
        af = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 9600), np.int16), "s16", "stereo")
        af.sample_rate, af.pts, af.time_base = 48000, 0, Fraction(1, 48000)
        out.mux(a.encode(af))
        p = av.Packet(b"Bonjour")
        p.stream, p.pts, p.dts, p.duration = s, 40, 40, 400
        p.time_base = Fraction(1, 1000)
        out.mux(p)
        out.mux(v.encode(None))
        out.mux(a.encode(None))


@pytest.mark.parametrize(
    ("output", "audio", "subtitle", "attachment"),
    [
        (None, "copy", "copy", "copy"),  # the default output of an .mkv is an .mkv
        ("out.mp4", "transcode to AAC", "left out", "left out"),
        ("out.webm", "transcode to Opus", "left out", "left out"),
        ("out.yuv", "left out", "left out", "left out"),
    ],
)
def test_probe_says_what_the_mux_does_in_the_chosen_container(
    capsys, tmp_path, output, audio, subtitle, attachment
):
    """Regression: probe said "copy" for every audio stream, while the mux transcodes audio a
    container refuses (AAC, or Opus for WebM) and leaves out what it cannot hold. Probe now
    asks the mux's own function, for the output it would write."""
    src = tmp_path / "extras.mkv"
    _mkv_pcm_subtitles_font(src)
    argv = ["probe", str(src)] + (["-o", str(tmp_path / output)] if output else [])
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert f"audio #1: pcm_s16le -> {audio}" in out
    assert f"subtitle #2: srt -> {subtitle}" in out
    assert f"attachment #3: unknown -> {attachment}" in out


def test_probe_and_the_mux_agree_on_a_real_run(tmp_path):
    from vidsr import Pipeline, UpscaleOptions
    from vidsr.media import mux

    src, out = tmp_path / "extras.mkv", tmp_path / "out.mp4"
    _mkv_pcm_subtitles_font(src)
    said = mux.other_stream_actions(str(src), str(out))
    plans = []
    real = mux.StreamCopier.__init__

    def keep_plan(self, *args, **kwargs):
        real(self, *args, **kwargs)
        plans.append(self.plan)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mux.StreamCopier, "__init__", keep_plan)
        Pipeline(UpscaleOptions.of(model="bicubic", scale=2, preset="ultrafast")).run(
            str(src), str(out)
        )
    assert {i: a for i, _, a in plans[0]} == said


def test_a_window_past_the_end_says_how_long_the_video_is(capsys, clip_factory, tmp_path):
    src = clip_factory("short.mp4", frames=12)  # 0.48 s at 25 fps
    out = tmp_path / "late.mp4"
    argv = ["upscale", str(src), "-m", "bicubic", "--start", "5", "-o", str(out)]
    code, _, err = _run(capsys, *argv)
    _assert_one_line_error(code, err, "no video frames in the selected window", "0.48 s long")
    assert not out.exists()


@pytest.mark.parametrize(
    "head",
    [["upscale", "in.mp4"], ["eval", "hr"], ["compare", "in.mp4", "-o", "c.png"], ["bench", "c"]],
)
def test_model_flags_mean_the_same_in_every_command(head):
    """--model/--device/--precision/--tile come from one argument group (cli/arguments)."""
    from vidsr.cli import build_parser
    from vidsr.config import DEFAULT_MODEL

    parser = build_parser()
    args = parser.parse_args([*head, "-m", "x.pth", "--device", "cpu", "--tile", "64"])
    assert (args.model, args.device, args.tile) == ("x.pth", "cpu", 64)
    defaults = parser.parse_args(head)
    assert (defaults.model, defaults.device, defaults.tile) == (DEFAULT_MODEL, "auto", 0)
    assert defaults.precision == ("fp32" if head[0] == "eval" else "auto")
    with pytest.raises(SystemExit):
        parser.parse_args([*head, "--precision", "int8"])
