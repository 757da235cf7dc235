"""Tiny test clips generated with PyAV, and the readers tests use to check outputs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class ClipSpec:
    """What :func:`make_clip` writes."""

    codec: str = "libx264"
    width: int = 64
    height: int = 48
    frames: int = 12
    fps: int = 25
    vfr: bool = False
    audio: bool = True
    pix_fmt: str = "yuv420p"
    colorspace: int = 1
    color_range: int = 1
    extra: dict | None = None
    rotation: int = 0
    sar: Fraction | None = None
    pattern: str = "gradient"  # or "texture": fine random texture moving sub-pixel (metrics)


def moving_pattern(i: int, width: int, height: int) -> np.ndarray:
    """An RGB frame with smooth gradients and a moving square: easy to code, easy to check."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin((x + 2 * i) / 7.0)
    g = 128 + 100 * np.cos((y - i) / 5.0)
    b = 128 + 90 * np.sin((x + y) / 9.0)
    rgb = np.stack([r, g, b], -1)
    s = max(4, width // 6)
    x0 = (3 * i) % max(1, width - s)
    rgb[height // 3 : height // 3 + s, x0 : x0 + s] = (240, 30, 60)
    return rgb.clip(0, 255).astype(np.uint8)


def moving_texture(i: int, width: int, height: int) -> np.ndarray:
    """An RGB frame of random fine texture (wavelengths 3-12 px) drifting by (1.5, 0.75) px a
    frame: detail that an upscaler must invent and that flickers from frame to frame."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = x - 1.5 * i, y - 0.75 * i
    rgb = np.full((height, width, 3), 128.0)
    for c in range(3):
        for _ in range(24):
            angle, wavelength, phase = (
                rng.uniform(0, np.pi),
                rng.uniform(3, 12),
                rng.uniform(0, 6.3),
            )
            kx, ky = np.cos(angle) / wavelength, np.sin(angle) / wavelength
            rgb[..., c] += 14 * np.sin(2 * np.pi * (kx * x + ky * y) + phase)
    return rgb.clip(0, 255).astype(np.uint8)


def vfr_pts(count: int, fps: int) -> list[int]:
    """Irregular pts (in 1/(fps*100) ticks): gaps of 1x, 1.5x and 2x the nominal frame time."""
    steps = [100, 150, 100, 200, 120]
    pts, t = [], 0
    for i in range(count):
        pts.append(t)
        t += steps[i % len(steps)]
    return pts


def make_clip(path: Path, spec: ClipSpec = ClipSpec()) -> Path:
    """Write a small clip with PyAV: video (+ a stereo AAC track) and return its path."""
    time_base = Fraction(1, spec.fps * 100)
    pts = vfr_pts(spec.frames, spec.fps) if spec.vfr else [i * 100 for i in range(spec.frames)]
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "vidsr test clip"
        v = out.add_stream(spec.codec, rate=spec.fps)
        v.width, v.height, v.pix_fmt = spec.width, spec.height, spec.pix_fmt
        v.time_base = time_base
        v.codec_context.time_base = time_base
        v.codec_context.colorspace = spec.colorspace
        v.codec_context.color_range = spec.color_range
        opts = {"preset": "ultrafast", "crf": "12"} if spec.codec != "ffv1" else {}
        if spec.codec == "libx265":
            opts["x265-params"] = "log-level=error"
        v.codec_context.options = {**opts, **(spec.extra or {})}
        if spec.rotation:
            v.set_display_rotation(spec.rotation)
        if spec.sar:
            v.codec_context.sample_aspect_ratio = spec.sar
        a = None
        if spec.audio:
            a = out.add_stream("aac", rate=48000)
            a.layout = "stereo"
            a.metadata["language"] = "eng"
        for i, p in enumerate(pts):
            draw = moving_texture if spec.pattern == "texture" else moving_pattern
            frame = av.VideoFrame.from_ndarray(draw(i, spec.width, spec.height), "rgb24")
            frame = frame.reformat(
                format=spec.pix_fmt,
                dst_colorspace="itu709" if spec.colorspace == 1 else "itu601",
                dst_color_range="JPEG" if spec.color_range == 2 else "MPEG",
            )
            frame.pts, frame.time_base = p, time_base
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        if a is not None:
            seconds = float((pts[-1] + 100) * time_base)
            n = int(seconds * 48000)
            t = np.arange(n) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            samples = np.stack([tone, tone[::-1]])
            for s in range(0, n, 1024):
                chunk = np.ascontiguousarray(samples[:, s : s + 1024])
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = 48000, s, Fraction(1, 48000)
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    return path


def video_times(path: Path) -> list[Fraction]:
    """Presentation time (seconds, exact) of every decoded frame of the first video stream."""
    with av.open(str(path)) as c:
        return [f.pts * f.time_base for f in c.decode(c.streams.video[0])]


def video_size(path: Path) -> tuple[int, int]:
    """(width, height) of the first decoded frame."""
    with av.open(str(path)) as c:
        f = next(c.decode(c.streams.video[0]))
        return f.width, f.height


def audio_packets(path: Path) -> list[tuple[bytes, Fraction]]:
    """Bytes and time of every audio packet, in order."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [
            (bytes(p), p.pts * p.time_base)
            for p in c.demux(c.streams.audio[0])
            if p.dts is not None and p.size
        ]


def first_rgb(path: Path, index: int = 0) -> np.ndarray:
    """RGB24 of decoded frame ``index`` (BT.709 matrix, as the generated clips are tagged)."""
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(c.streams.video[0])):
            if i == index:
                return f.to_ndarray(format="rgb24", src_colorspace="itu709")
    raise IndexError(index)


def decoded_rgb(path: Path):
    """All frames as RGB float (N,3,H,W) through vidsr's own decoder and colour conversion."""
    import torch

    from vidsr.media.decode import VideoDecoder
    from vidsr.media.probe import probe
    from vidsr.tensors import planes_to_rgb

    info = probe(str(path))
    decoder = VideoDecoder(info)
    frames = list(decoder.frames())
    return planes_to_rgb(frames, decoder.layout, info.video.color, torch.device("cpu"))
