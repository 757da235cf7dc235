"""Bad input from issue 15's sweep, each a one-line error naming the problem (or working)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vidsr.cli import EXIT_CANCELLED, EXIT_ERROR, main


def _one_line(capsys, argv, *words):
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == EXIT_ERROR and len(lines) == 1, err
    assert "unexpected" not in err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def clip(clip_factory):
    return str(clip_factory("errors.mp4", frames=6))


BASE = ("-m", "bicubic", "-s", "2", "-q")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--duration", "inf"), ("--duration", "finite")),
        (("--duration", "nan"), ("--duration", "finite")),
        (("--start", "nan"), ("--start", "finite")),
        (("--codec", "nosuchcodec"), ("nosuchcodec", "no encoder")),
        (("--codec", "aac"), ("aac", "audio encoder")),
        (("--tile", "1"), ("--tile", "at least 32")),
        (("--max-memory", "nan"), ("not a size",)),
    ],
)
def test_bad_option_values(capsys, clip, tmp_path, args, words):
    _one_line(capsys, ["upscale", clip, "-o", str(tmp_path / "o.mp4"), *BASE, *args], *words)
    assert list(tmp_path.iterdir()) == []


def test_dev_null_output(capsys, clip):
    _one_line(capsys, ["upscale", clip, "-o", os.devnull, *BASE], "not a file", "--duration")


def test_output_without_extension(capsys, clip, tmp_path):
    out = str(tmp_path / "somefolder")
    _one_line(capsys, ["upscale", clip, "-o", out, *BASE], "no extension", "out/")


def test_pickle_with_code_is_refused_in_one_line(capsys, clip, tmp_path):
    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    weights = tmp_path / "evil.pth"
    torch.save({"w": Evil()}, weights)
    argv = ["upscale", clip, "-o", str(tmp_path / "o.mp4"), "-m", str(weights), "-q"]
    _one_line(capsys, argv, "refused", "code")


def test_stale_temporary_of_a_killed_one_pass_run_is_cleared(capsys, clip, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".o.vidsr-tmp-{dead.pid}.mp4"
    stale.write_bytes(b"half a file")
    out = tmp_path / "o.mp4"
    assert main(["upscale", clip, "-o", str(out), *BASE, "--duration", "0.12"]) == 0
    assert not stale.exists() and out.exists()


def test_sigterm_is_reported_as_sigterm(clip_factory, tmp_path):
    src = clip_factory("sigterm.mp4", frames=200, width=160, height=120)
    out = tmp_path / "out.mp4"
    cmd = [sys.executable, "-m", "vidsr.cli", "upscale", str(src), "-o", str(out), "--duration"]
    cmd += ["7", "--device", "cpu", "--batch", "1", "--preset", "ultrafast"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".*vidsr-tmp*")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_CANCELLED, err
    assert "SIGTERM" in err and "Ctrl-C" not in err, err
    assert list(tmp_path.iterdir()) == []
