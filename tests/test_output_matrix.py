"""Every output container with every encoder vidsr offers, as a preview window AND as a whole-file
job (issue 15: whole files ran through segments that were never tried on most outputs).

A combination the container holds (``vidsr.media.containers.HOLDS``) must succeed both ways with
every frame, the input's frame timing, the audio, and nothing left beside the output; one it
does not hold must be a one-line error before anything is written.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import pytest

from vidsr.cli import EXIT_ERROR, main
from vidsr.media.containers import HOLDS

CONTAINERS = ("mp4", "mkv", "mov", "webm", "avi", "ts")
ENCODERS = ("libx264", "libx265", "libsvtav1", "libvpx-vp9", "ffv1", "prores_ks")
FRAMES, FPS = 10, 25
COMMON = ("-m", "bicubic", "-s", "2", "-q", "--preset", "ultrafast", "--segment-seconds", "0.2")
WINDOW = ("--start", "0.08", "--duration", "0.2")  # frames 2..6


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """10 frames at 25 fps, a keyframe every 5 (two segments of 0.2 s), stereo AAC."""
    from tests.clips import ClipSpec, make_clip

    folder = tmp_path_factory.mktemp("matrix")
    return make_clip(
        folder / "in.mp4", ClipSpec(frames=FRAMES, fps=FPS, extra={"g": "5", "keyint_min": "5"})
    )


def _holds(ext: str, encoder: str) -> bool:
    codecs = HOLDS[f".{ext}"]
    return codecs is None or av.Codec(encoder, "w").canonical_name in codecs


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["upscale", *argv])
    return code, capsys.readouterr().err


def _video(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        assert c.streams.video, f"{path.name} holds no video stream"
        return [f.pts * f.time_base for f in c.decode(c.streams.video[0])]


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        assert len(c.streams.audio) == 1, f"{path.name} has no audio"
        return sum(f.samples / f.sample_rate for f in c.decode(c.streams.audio[0]))


def _check_timing(times: list[Fraction], frames: int) -> None:
    """``frames`` frames, 1/25 s apart (to the millisecond: Matroska's clock)."""
    assert len(times) == frames
    gaps = {round(float(b - a), 3) for a, b in itertools.pairwise(times)}
    assert gaps == {1 / FPS}, gaps


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("ext", CONTAINERS)
def test_window_and_whole_file(ext, encoder, clip, tmp_path, capsys):
    whole, window = tmp_path / f"whole.{ext}", tmp_path / f"window.{ext}"
    code_whole, err_whole = _run(capsys, str(clip), "-o", str(whole), "--codec", encoder, *COMMON)
    code_window, err_window = _run(
        capsys, str(clip), "-o", str(window), "--codec", encoder, *COMMON, *WINDOW
    )
    if not _holds(ext, encoder):
        for code, err in ((code_whole, err_whole), (code_window, err_window)):
            assert code == EXIT_ERROR
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "cannot hold" in lines[0], err
        assert list(tmp_path.iterdir()) == [], "a refused output left files behind"
        return
    assert (code_whole, code_window) == (0, 0), err_whole + err_window
    assert "unexpected" not in err_whole + err_window
    _check_timing(_video(whole), FRAMES)
    _check_timing(_video(window), 5)
    assert abs(_audio_seconds(whole) - FRAMES / FPS) < 0.05
    assert abs(_audio_seconds(window) - 0.2) < 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([whole.name, window.name])


@pytest.mark.parametrize("name", ["out.y4m", "out_128x96_yuv420p.yuv", "frames/"])
def test_uncompressed_and_image_outputs(name, clip, tmp_path, capsys):
    """Bare frames and image sequences (no audio: they hold video only), whole and window."""
    for args, frames in (((), FRAMES), (WINDOW, 5)):
        out = tmp_path / "run" / name
        out.parent.mkdir(exist_ok=True)
        code, err = _run(
            capsys, str(clip), "-o", str(out) + ("/" * name.endswith("/")), *COMMON, *args
        )
        assert code == 0, err
        if name.endswith(".yuv"):
            assert out.stat().st_size == frames * 128 * 96 * 3 // 2
        elif name.endswith("/"):
            assert len(list(out.glob("*.png"))) == frames
        else:
            assert len(_video(out)) == frames
        assert not [p for p in out.parent.rglob(".*")], "temporary files left"
        for path in sorted(out.parent.iterdir()):
            if path.is_dir():
                for inner in path.iterdir():
                    inner.unlink()
                path.rmdir()
            else:
                path.unlink()
