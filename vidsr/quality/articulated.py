"""A generated clip of fast non-rigid motion: articulated shapes over a texture.

Figures of two-segment limbs swing, cross and occlude each other over a textured background;
each limb carries its own stripes, so its texture moves with it. Tips move 4-20 low-resolution
pixels a frame (at ``scale``). The temporal stage's benchmark
(``scripts/bench_temporal_motion.py``) and its tests use it as ground truth with a known
motion mask. numpy and OpenCV only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ArticulatedClip:
    """``frames`` (T, H, W, 3) uint8 RGB ground truth and ``moving`` (T, H, W) bool: the pixels
    covered by a limb in this frame or the previous one (where the picture moves)."""

    frames: np.ndarray
    moving: np.ndarray


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Background (H, W, 3) float32 in [0, 1]: smooth colour with fine detail on top."""
    coarse = cv2.resize(rng.random((h // 16 + 2, w // 16 + 2, 3)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)  # fmt: skip
    fine = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
    fine = (fine - fine.mean()) / (fine.std() + 1e-6)
    img = 0.25 + 0.5 * coarse + 0.08 * fine[..., None]
    return np.clip(img, 0.0, 1.0)


def _limb(
    canvas: np.ndarray, drawn: np.ndarray, p0: np.ndarray, p1: np.ndarray, width: float,
    colour: np.ndarray, period: float,
) -> None:  # fmt: skip
    """Paint a striped bar from ``p0`` to ``p1`` (HR pixels, anti-aliased) into ``canvas``."""
    axis = p1 - p0
    length = float(np.hypot(*axis)) or 1.0
    u = axis / length
    n = np.array([-u[1], u[0]])
    corners = np.array([p0 + n * width / 2, p1 + n * width / 2, p1 - n * width / 2,
                        p0 - n * width / 2])  # fmt: skip
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners * 16).astype(np.int32), 255, cv2.LINE_AA, shift=4)
    cv2.circle(mask, tuple(np.round(p1 * 16).astype(int)), int(width * 8), 255, -1, cv2.LINE_AA, 4)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    along = (xs - p0[0]) * u[0] + (ys - p0[1]) * u[1]
    shade = 0.7 + 0.3 * np.sin(2 * np.pi * along / period)
    alpha = (mask[ys, xs] / 255.0)[:, None]
    paint = np.clip(colour[None] * shade[:, None], 0, 1)
    canvas[ys, xs] = canvas[ys, xs] * (1 - alpha) + paint * alpha
    drawn[ys, xs] = True


def articulated_clip(
    frames: int = 12, height: int = 192, width: int = 256, scale: int = 4, seed: int = 0
) -> ArticulatedClip:
    """Figures whose limbs swing and cross over a texture; ``height``/``width`` are HR pixels.

    Each figure has a body that drifts sideways and two limbs of two segments each; the joint
    angles swing sinusoidally so the tips move 4-20 input pixels (HR / ``scale``) a frame and
    the limbs cross each other and the other figures.
    """
    rng = np.random.default_rng(seed)
    bg = _texture(height, width, rng)
    figures = []
    for k in range(3):
        figures.append(
            {
                "x": width * (0.25 + 0.25 * k),
                "y": height * (0.45 + 0.1 * (k % 2)),
                "vx": scale * rng.uniform(2, 4) * (1 if k % 2 else -1),
                "limbs": [
                    {
                        "a0": rng.uniform(0, 2 * np.pi),
                        "amp": rng.uniform(0.6, 1.1),
                        "freq": rng.uniform(0.35, 0.6),
                        "phase": rng.uniform(0, 2 * np.pi),
                        "bend": rng.uniform(0.5, 1.2),
                        "len": min(height, width) * rng.uniform(0.16, 0.22),
                        "width": scale * rng.uniform(2.0, 4.0),
                        "colour": rng.uniform(0.1, 0.95, 3),
                        "period": scale * rng.uniform(2.0, 4.0),
                    }
                    for _ in range(2)
                ],
            }
        )
    out = np.empty((frames, height, width, 3), np.uint8)
    moving = np.zeros((frames, height, width), bool)
    prev = np.zeros((height, width), bool)
    for t in range(frames):
        canvas = bg.copy()
        drawn = np.zeros((height, width), bool)
        for fig in figures:
            x = (fig["x"] + fig["vx"] * t) % width
            centre = np.array([x, fig["y"]])
            for limb in fig["limbs"]:
                swing = limb["amp"] * np.sin(limb["freq"] * t + limb["phase"])
                a1 = limb["a0"] + swing
                a2 = a1 + limb["bend"] * (1 + np.sin(limb["freq"] * 1.7 * t + limb["phase"]))
                knee = centre + limb["len"] * np.array([np.cos(a1), np.sin(a1)])
                tip = knee + limb["len"] * np.array([np.cos(a2), np.sin(a2)])
                for p0, p1 in ((centre, knee), (knee, tip)):
                    _limb(canvas, drawn, p0, p1, limb["width"], limb["colour"], limb["period"])
        out[t] = np.clip(np.rint(canvas * 255), 0, 255).astype(np.uint8)
        moving[t] = drawn | prev
        prev = drawn
    return ArticulatedClip(out, moving)
