"""Render samples/demo_320x180.mp4, the demo clip the README's first command upscales.

A slow pan across three freely licensed photos bundled with scikit-image (astronaut: NASA, public
domain; coffee: Rachel Michetti, CC0; chelsea the cat: Stefan van der Walt, CC0), with cuts
between them, H.264 320x180 at 25 fps, 3 s, and a stereo AAC track (a chord that changes at each
cut), so a run on it exercises decoding, the model, encoding and the audio copy.

    python scripts/make_sample.py [--out samples/demo_320x180.mp4]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data

WIDTH, HEIGHT, FPS, SECONDS = 320, 180, 25, 3
SAMPLE_RATE = 48000
CHORDS = [(220.0, 277.2, 329.6), (246.9, 311.1, 370.0), (196.0, 246.9, 293.7)]


def _pan_frames(image: np.ndarray, count: int) -> list[np.ndarray]:
    """Crop a 16:9 window that drifts slowly across ``image`` and scale it to the clip size."""
    h, w = image.shape[:2]
    crop_w = int(w * 0.8)
    crop_h = crop_w * HEIGHT // WIDTH
    crop_h = min(crop_h, h)
    frames = []
    for i in range(count):
        t = i / max(1, count - 1)
        x = round(t * (w - crop_w))
        y = round((h - crop_h) * (0.5 - 0.3 * t))
        crop = Image.fromarray(image[y : y + crop_h, x : x + crop_w])
        frames.append(np.asarray(crop.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)))
    return frames


def _audio(seconds: float) -> np.ndarray:
    """Stereo float32 (2, n): a soft chord per shot, left and right slightly detuned."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    shot = np.minimum((t / (seconds / len(CHORDS))).astype(int), len(CHORDS) - 1)
    out = np.zeros((2, n), np.float32)
    for k, chord in enumerate(CHORDS):
        mask = shot == k
        for f in chord:
            out[0, mask] += np.sin(2 * np.pi * f * t[mask])
            out[1, mask] += np.sin(2 * np.pi * f * 1.003 * t[mask])
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.05)
    return (0.15 * out * fade).astype(np.float32)


def render(out_path: Path) -> None:
    """Write the demo clip to ``out_path``."""
    images = [data.astronaut(), data.coffee(), data.chelsea()]
    per_shot = FPS * SECONDS // len(images)
    frames = [f for image in images for f in _pan_frames(image, per_shot)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out_path), "w") as container:
        container.metadata["title"] = "vidsr demo: a slow pan over scikit-image's sample photos"
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.options = {"crf": "20", "preset": "slow"}
        video.codec_context.colorspace = 1  # BT.709, written explicitly
        video.codec_context.color_primaries = 1
        video.codec_context.color_trc = 1
        video.codec_context.color_range = 1
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "stereo"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame = frame.reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG"
            )
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        samples = _audio(len(frames) / FPS)
        for start in range(0, samples.shape[1], 1024):
            chunk = np.ascontiguousarray(samples[:, start : start + 1024])
            aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            aframe.sample_rate = SAMPLE_RATE
            aframe.pts = start
            aframe.time_base = Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(aframe))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("samples/demo_320x180.mp4"))
    render(parser.parse_args().out)


if __name__ == "__main__":
    main()
