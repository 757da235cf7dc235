"""Degradations for the compression-aware ``restore`` models.

One chain, every step optional and drawn at random from a seeded generator: Gaussian blur ->
MATLAB bicubic down-scaling -> Gaussian noise -> 8-bit rounding -> real compression, either JPEG
(Pillow) or a single H.264 frame (PyAV / libx264, 4:2:0 chroma) at a random quality. The network
thus sees real macroblocks and ringing and learns to remove them rather than sharpen them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import torch
import torch.nn.functional as F

from vidsr.quality.pictures import image_from_uint8, image_to_uint8, jpeg
from vidsr.quality.resize import imresize, quantize


@dataclass(frozen=True)
class ChainConfig:
    """Probabilities and ranges of the restore degradation chain."""

    blur_prob: float = 0.3
    blur_sigma: tuple[float, float] = (0.2, 1.2)
    noise_prob: float = 0.2
    noise_sigma: tuple[float, float] = (1.0, 5.0)  # in 8-bit levels
    jpeg_prob: float = 0.6
    jpeg_quality: tuple[int, int] = (15, 90)
    h264_prob: float = 0.3
    h264_crf: tuple[int, int] = (20, 40)


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _chance(g: torch.Generator, p: float) -> bool:
    return float(torch.rand((), generator=g)) < p


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Isotropic Gaussian blur of (3, H, W) with reflect padding."""
    radius = max(1, round(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=img.dtype)
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.pad(img[None], (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x[0]


def h264(img: torch.Tensor, crf: int) -> torch.Tensor:
    """Round-trip (3, H, W) through libx264 as one yuv420p intra frame at ``crf`` (even H, W)."""
    h, w = img.shape[-2:]
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base = Fraction(1, 25)
    enc.options = {"crf": str(int(crf)), "preset": "veryfast", "tune": "zerolatency"}
    frame = av.VideoFrame.from_ndarray(image_to_uint8(img), format="rgb24")
    frame = frame.reformat(format="yuv420p", dst_colorspace=5, dst_color_range=1)  # BT.601, limited
    frame.pts = 0
    packets = list(enc.encode(frame)) + list(enc.encode(None))
    dec = av.CodecContext.create("h264", "r")
    out = [f for p in packets for f in dec.decode(p)] + list(dec.decode(None))
    rgb = out[-1].reformat(format="rgb24", src_colorspace=5, src_color_range=1)
    return image_from_uint8(rgb.to_ndarray())


class RestoreChain:
    """Callable HR crop -> degraded LR crop, for :class:`vidsr.training.data.CropSampler`."""

    def __init__(self, scale: int, config: ChainConfig | None = None) -> None:
        self.scale = scale
        self.config = config or ChainConfig()

    def __call__(self, hr: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        c = self.config
        x = hr
        if _chance(g, c.blur_prob):
            x = gaussian_blur(x, _uniform(g, *c.blur_sigma))
        x = imresize(x, 1.0 / self.scale)
        if _chance(g, c.noise_prob):
            sigma = _uniform(g, *c.noise_sigma) / 255.0
            x = x + sigma * torch.randn(x.shape, generator=g)
        x = quantize(x)
        r = float(torch.rand((), generator=g))
        if r < c.jpeg_prob:
            q = int(torch.randint(c.jpeg_quality[0], c.jpeg_quality[1] + 1, (), generator=g))
            x = jpeg(x, q)
        elif r < c.jpeg_prob + c.h264_prob:
            crf = int(torch.randint(c.h264_crf[0], c.h264_crf[1] + 1, (), generator=g))
            x = h264(x, crf)
        return x
