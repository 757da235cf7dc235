"""Every shared clip as a whole file (a resumable job, not a window) into .mp4, .mkv and .webm:
every frame and the audio kept (issue 15: whole files ran through segments never tried on most
outputs). The clips are cut to their first second by stream copy first, to keep this short."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from tests.clips import SHARED_DATA
from vidsr.cli import main
from vidsr.media.decode import VideoDecoder
from vidsr.media.probe import probe

CLIPS = sorted(p.name for p in (SHARED_DATA / "clips").glob("*.*")) if SHARED_DATA.is_dir() else []
ELEMENTARY = (".h264", ".h265")  # no timestamps to cut by: 30 frames, used whole
SECONDS = 1.0


def _cut(src: Path, dst: Path, seconds: float) -> None:
    """The packets of ``src`` before ``seconds`` (video by decode time, so every reference
    frame comes along), copied into ``dst`` of the same container."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format=i.format.name.split(",")[0]) as o:
        streams = {
            s.index: o.add_stream_from_template(s, opaque=True)
            for s in i.streams
            if s.type in ("video", "audio")
        }
        for p in i.demux(*[i.streams[k] for k in streams]):
            if p.dts is None or not p.size:
                continue
            stream = i.streams[p.stream.index]
            start = stream.start_time or 0
            ts = p.dts if stream.type == "video" else (p.pts if p.pts is not None else p.dts)
            if (ts - start) * stream.time_base >= seconds:
                continue
            p.stream = streams[stream.index]
            o.mux(p)


def _frames(path: Path) -> int:
    """Frames vidsr reads from ``path`` (its deinterlacer keeps one frame per frame)."""
    return sum(1 for _ in VideoDecoder(probe(str(path)), deinterlace="off").frames())


def _audio(path: Path) -> list[float]:
    """Decoded seconds of each audio stream."""
    with av.open(str(path)) as c:
        return [sum(f.samples / f.sample_rate for f in c.decode(s)) for s in c.streams.audio]


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["mp4", "mkv", "webm"])
@pytest.mark.parametrize("name", CLIPS)
def test_clip_as_whole_file(shared_data, tmp_path, name, ext):
    src = shared_data / "clips" / name
    cut = tmp_path / f"cut{src.suffix}"
    if src.suffix in ELEMENTARY:
        shutil.copyfile(src, cut)
    else:
        _cut(src, cut, SECONDS)
    info = probe(str(cut))
    scale = "1" if info.video.width * info.video.height > 1280 * 720 else "2"
    out = tmp_path / f"out.{ext}"
    argv = ["upscale", str(cut), "-o", str(out), "-m", "bicubic", "-s", scale, "-q"]
    argv += ["--preset", "ultrafast", "--segment-seconds", "0.4", "--no-space-check"]
    assert main(argv) == 0
    assert _frames(out) == _frames(cut)
    audio_in, audio_out = _audio(cut), _audio(out)
    assert len(audio_out) == len(audio_in)
    for seconds_in, seconds_out in zip(audio_in, audio_out, strict=True):
        assert abs(seconds_in - seconds_out) < 0.1, (seconds_in, seconds_out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([cut.name, out.name])
