"""Training sequences for multi-frame models, made from still images by known motion.

A sequence is ``2R + 1`` frames around a current one (offset 0): every frame ``t`` samples the
image through its own warp, a global motion (pan, zoom, small rotation, all proportional to
``t``) plus a smooth local ("elastic") displacement, with an occluding patch of the same image
sliding over it on its own path. Each HR frame is then reduced with MATLAB bicubic
(``quality.resize.bicubic_lr``, 8-bit) after its own warp, and the neighbours are aligned to
the current LR frame with the flow computed on the LR frames
(:class:`vidsr.temporal.align.NeighbourAligner`), as the pipeline would have them. The target is the
current HR frame, which is the image itself (offset 0 is the identity warp) with the occluder
pasted in.

All randomness flows from one ``torch.Generator``: a run is reproducible, a checkpoint restores
the sampler, and the evaluation sequences are fixed by their seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from vidsr.errors import InvalidOptionError
from vidsr.models.archs.srvgg_multiframe import stack_inputs
from vidsr.quality.metrics import psnr_y
from vidsr.quality.resize import bicubic_lr, mod_crop, quantize
from vidsr.temporal.align import NeighbourAligner, neighbour_offsets
from vidsr.training.data import SeededSampler, dihedral


@dataclass(frozen=True)
class Motion:
    """Ranges of the random motion, per frame of offset, in LR pixels (HR / scale)."""

    pan: float = 2.5
    """Largest translation per frame (each axis)."""
    zoom: float = 0.01
    """Largest relative zoom per frame."""
    rotation: float = 0.5
    """Largest rotation per frame, degrees."""
    elastic: float = 0.5
    """Largest local displacement per frame (a smooth field over a 4x4 grid)."""
    occluder: float = 0.5
    """Chance that a patch slides over the sequence."""
    occluder_speed: float = 3.0
    """Largest speed of that patch per frame (each axis)."""


def _uniform(g: torch.Generator, lo: float, hi: float, shape: tuple[int, ...] = ()) -> np.ndarray:
    return (lo + (hi - lo) * torch.rand(shape or (1,), generator=g, dtype=torch.float64)).numpy()


def _maps(
    size: tuple[int, int],
    origin: tuple[float, float],
    t: int,
    scale: int,
    params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Source positions in the image of frame ``t``'s pixels (HR): x and y maps."""
    h, w = size
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    cx, cy = (w - 1) / 2, (h - 1) / 2
    zoom = 1.0 + params["zoom"] * t
    angle = math.radians(params["rotation"] * t)
    c, s = math.cos(angle) * zoom, math.sin(angle) * zoom
    dx, dy = gx - cx, gy - cy
    field = params["field"]  # (h, w, 2) local displacement, LR px per frame
    x = c * dx - s * dy + cx + origin[1] + scale * (params["pan"][0] * t + field[..., 0] * t)
    y = s * dx + c * dy + cy + origin[0] + scale * (params["pan"][1] * t + field[..., 1] * t)
    return x.astype(np.float32), y.astype(np.float32)


def make_sequence(
    image: torch.Tensor,
    scale: int,
    crop: tuple[int, int] | None,
    radius: int,
    g: torch.Generator,
    motion: Motion | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One sequence from ``image`` (3, H, W) in [0, 1]: (HR frames (2R+1, 3, h, w), LR frames
    (2R+1, 3, h/scale, w/scale)), the current frame at index ``radius``.

    ``crop`` (h, w), multiples of ``scale``, is cut at a random place away from the borders
    (None: the whole image, mod-cropped; warps reaching outside reflect the image).
    """
    m = motion or Motion()
    img = image.permute(1, 2, 0).numpy().astype(np.float32)
    big_h, big_w = img.shape[:2]
    if crop is None:
        h, w = big_h - big_h % scale, big_w - big_w % scale
        origin = (0.0, 0.0)
    else:
        h, w = crop
        if h % scale or w % scale:
            raise InvalidOptionError(f"crop {crop} is not a multiple of scale {scale}")
        if big_h < h or big_w < w:
            raise InvalidOptionError(f"image {big_h}x{big_w} is smaller than the crop {crop}")
        y0 = float(torch.randint(big_h - h + 1, (1,), generator=g))
        x0 = float(torch.randint(big_w - w + 1, (1,), generator=g))
        origin = (y0, x0)
    coarse = _uniform(g, -m.elastic, m.elastic, (2, 4, 4)).astype(np.float32)
    field = np.dstack([cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in coarse])
    params = {
        "pan": _uniform(g, -m.pan, m.pan, (2,)),
        "zoom": float(_uniform(g, -m.zoom, m.zoom)[0]),
        "rotation": float(_uniform(g, -m.rotation, m.rotation)[0]),
        "field": field,
    }
    occluder = None
    if float(_uniform(g, 0, 1)[0]) < m.occluder:
        oh, ow = (int(v) for v in _uniform(g, 0.2, 0.45, (2,)) * np.array([h, w]))
        src = (int(_uniform(g, 0, big_h - oh)[0]), int(_uniform(g, 0, big_w - ow)[0]))
        at = _uniform(g, 0.2, 0.8, (2,)) * np.array([h - oh, w - ow])
        speed = _uniform(g, -m.occluder_speed, m.occluder_speed, (2,)) * scale
        occluder = (img[src[0] : src[0] + oh, src[1] : src[1] + ow], at, speed)
    hr_frames = []
    for t in range(-radius, radius + 1):
        mx, my = _maps((h, w), origin, t, scale, params)
        frame = cv2.remap(img, mx, my, cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT_101)
        if occluder is not None:
            patch, at, speed = occluder
            oy, ox = (int(v) for v in np.rint(at + speed * t))
            y0, x0 = max(0, oy), max(0, ox)
            y1, x1 = min(h, oy + patch.shape[0]), min(w, ox + patch.shape[1])
            if y1 > y0 and x1 > x0:
                frame[y0:y1, x0:x1] = patch[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        hr_frames.append(quantize(torch.from_numpy(np.clip(frame, 0, 1)).permute(2, 0, 1)))
    hr = torch.stack(hr_frames)
    lr = torch.stack([bicubic_lr(f, scale) for f in hr])
    return hr, lr


def load_clip(path: str | Path, frames: int) -> torch.Tensor:
    """The first ``frames`` frames of a real video as ground truth, (T, 3, H, W) uint8 RGB (decoded
    and converted as ``vidsr eval --video`` reads its ground truth)."""
    from vidsr.quality.video import read_frames

    return torch.from_numpy(read_frames(path, frames)).permute(0, 3, 1, 2).contiguous()


def clip_sequence(
    clip: torch.Tensor, scale: int, crop: int, radius: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One sequence cut from a real clip's ground truth ``clip`` (T, 3, H, W) uint8: 2R + 1
    consecutive frames at a random time, a random ``crop`` x ``crop`` square (a multiple of
    ``scale``) in the same place of each, a random dihedral transform, each frame reduced with
    MATLAB bicubic; (HR frames, LR frames) as :func:`make_sequence` returns them."""
    frames, _, big_h, big_w = clip.shape
    if frames < 2 * radius + 1 or big_h < crop or big_w < crop or crop % scale:
        raise InvalidOptionError(
            f"a clip of {frames} frames of {big_w}x{big_h} holds no {2 * radius + 1}-frame "
            f"sequence of {crop}x{crop} (a multiple of {scale})"
        )
    t0 = int(torch.randint(frames - 2 * radius, (1,), generator=g))
    y0 = int(torch.randint(big_h - crop + 1, (1,), generator=g))
    x0 = int(torch.randint(big_w - crop + 1, (1,), generator=g))
    k = int(torch.randint(8, (1,), generator=g))
    part = clip[t0 : t0 + 2 * radius + 1, :, y0 : y0 + crop, x0 : x0 + crop]
    hr = dihedral(part.float() / 255.0, k).contiguous()
    return hr, torch.stack([bicubic_lr(f, scale) for f in hr])


def network_input(lr: torch.Tensor, radius: int, aligner: NeighbourAligner) -> torch.Tensor:
    """The multi-frame network's input (3 + 4K, h, w) for the current frame of ``lr``
    (2R+1, 3, h, w): its neighbours aligned on the LR frames, with their trust."""
    current = lr[radius]
    others = torch.cat([lr[:radius], lr[radius + 1 :]])
    found = aligner.align(current, others)
    return stack_inputs(current[None], found.aligned[None], found.trust[None])[0]


def radius_for(neighbours: int) -> int:
    """Frames on each side of the current one a network reading ``neighbours`` needs (the
    input's order is :func:`~vidsr.temporal.align.neighbour_offsets`')."""
    return max(neighbour_offsets(neighbours))


class SequenceSampler(SeededSampler):
    """Batches of (network input, current HR crop) from generated sequences (the interface of
    :class:`vidsr.training.data.SeededSampler`, as :class:`~vidsr.training.data.CropSampler`);
    with ``clips`` ((T, 3, H, W) uint8 ground truth of real videos), a ``clip_share`` of the
    samples are cut from them instead (:func:`clip_sequence`)."""

    def __init__(
        self,
        images: Sequence[torch.Tensor],
        scale: int,
        hr_crop: int,
        neighbours: int,
        seed: int = 0,
        motion: Motion | None = None,
        clips: Sequence[torch.Tensor] = (),
        clip_share: float = 0.0,
    ) -> None:
        if hr_crop % scale:
            raise InvalidOptionError(f"hr_crop {hr_crop} is not a multiple of scale {scale}")
        if not 0.0 <= clip_share <= 1.0 or (clip_share > 0 and not clips):
            raise InvalidOptionError(f"clip_share {clip_share} needs clips and lies in [0, 1]")
        self.scale, self.hr_crop, self.motion = scale, hr_crop, motion
        self.clips, self.clip_share = list(clips), clip_share
        self.radius = radius_for(neighbours)
        self.images = [mod_crop(im, scale) for im in images if min(im.shape[-2:]) >= hr_crop]
        if not self.images:
            raise InvalidOptionError(f"no training image is at least {hr_crop} px on each side")
        self.generator = torch.Generator().manual_seed(seed)
        self.aligner = NeighbourAligner()

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One (input, HR) pair, a random dihedral transform of the whole sequence."""
        g = self.generator
        if self.clip_share > 0 and float(torch.rand(1, generator=g)) < self.clip_share:
            j = int(torch.randint(len(self.clips), (1,), generator=g))
            hr, lr = clip_sequence(self.clips[j], self.scale, self.hr_crop, self.radius, g)
            return network_input(lr, self.radius, self.aligner), hr[self.radius].contiguous()
        i = int(torch.randint(len(self.images), (1,), generator=g))
        k = int(torch.randint(8, (1,), generator=g))
        image = dihedral(self.images[i], k).contiguous()
        c = self.hr_crop
        hr, lr = make_sequence(image, self.scale, (c, c), self.radius, g, self.motion)
        return network_input(lr, self.radius, self.aligner), hr[self.radius].contiguous()


def evaluate_sequences(
    upscale: Any,
    images: Sequence[tuple[str, torch.Tensor]],
    scale: int,
    neighbours: int,
    *,
    seed: int = 1234,
    per_image: int = 1,
    motion: Motion | None = None,
) -> dict[str, Any]:
    """Y-PSNR (border ``scale`` cropped) of ``upscale`` on fixed generated sequences.

    ``images``: (name, HR (3, H, W)) pairs; each gives ``per_image`` whole-image sequences
    (seeded by ``seed``). ``upscale`` maps a (1, 3 + 4K, h, w) network input to (1, 3, H, W).
    Returns ``{"rows": [{"name", "psnr"}], "psnr": mean}``.
    """
    radius = radius_for(neighbours)
    g = torch.Generator().manual_seed(seed)
    aligner = NeighbourAligner()
    rows = []
    for name, image in images:
        for j in range(per_image):
            hr, lr = make_sequence(mod_crop(image, scale), scale, None, radius, g, motion)
            x = network_input(lr, radius, aligner)[None]
            with torch.inference_mode():
                sr = quantize(upscale(x)[0].float().cpu())
            rows.append({"name": f"{name}#{j}", "psnr": psnr_y(sr, hr[radius], scale)})
    return {"rows": rows, "psnr": float(np.mean([r["psnr"] for r in rows]))}
