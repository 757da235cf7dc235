"""Motion and trust on the small input: luma planes on the flow grid, DIS optical flow, and the
confidence that a warped neighbour stands for a frame (forward-backward check, warp error against
a noise-adapted tolerance, motion-boundary falloff, fades, cuts). The temporal stage and the
neighbour alignment of multi-frame models (:mod:`vidsr.temporal.align`) share it.

numpy, OpenCV and torch (only to read the input tensors); never PyAV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vidsr.temporal.tuning import Tuning


@dataclass
class Pair:
    """Motion between frame a (the one being built) and a neighbour n, on the flow grid."""

    flow_an: np.ndarray  # (hf, wf, 2): pixel p of a is at p + flow in n
    base: np.ndarray  # (hf, wf) float32 confidence in [0, 1] for the low band
    detail: np.ndarray  # the same for the detail band (looser)
    cut: bool
    fade: float = 1.0  # trust left after the frames' mean brightness change (1: none)
    gain: float = 1.0  # what the neighbour is multiplied by (``Tuning.fade_gain``; 1: off)

    @property
    def confidence(self) -> np.ndarray:
        """(hf, wf, 2): base and detail confidence, upscaled in one go."""
        if self._confidence is None:
            self._confidence = np.dstack([self.base, self.detail])
        return self._confidence

    _confidence: np.ndarray | None = None


def flow_factor(h: int, w: int, tuning: Tuning) -> float:
    """How much an (h, w) input is upscaled for the flow (its short side to ``min_flow_side``)."""
    return max(1.0, tuning.min_flow_side / min(h, w))


def luma_u8(lr: torch.Tensor, factor: float) -> list[np.ndarray]:
    """BT.601 luma of (N,3,h,w) RGB [0,1] as uint8 planes, resized by ``factor``."""
    rgb = lr.detach().to("cpu", torch.float32).numpy()
    # element-wise (not einsum/BLAS, whose rounding depends on the batch size): a frame gets the
    # same luma, hence the same flow and output, however the frames are batched
    w = np.array([76.245, 149.685, 29.07], np.float32)
    y = rgb[:, 0] * w[0] + rgb[:, 1] * w[1] + rgb[:, 2] * w[2]
    y = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    if factor == 1.0:
        return list(y)
    h, w = y.shape[1:]
    size = (round(w * factor), round(h * factor))
    return [cv2.resize(p, size, interpolation=cv2.INTER_CUBIC) for p in y]


def remap(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``img`` (h, w[, C]) warped by ``flow`` (h, w, 2): pixel p takes img at p + flow(p)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def flow_gradient(flow: np.ndarray) -> np.ndarray:
    """(h, w) float32: squared gradient of ``flow`` (h, w, 2), px/px (Sobel, summed over x, y)."""
    return sum(
        cv2.Sobel(np.ascontiguousarray(flow[..., c]), cv2.CV_32F, dx, 1 - dx, scale=0.125) ** 2
        for c in (0, 1)
        for dx in (0, 1)
    )


def moving(flow: np.ndarray, grad: np.ndarray | None, factor: float, t: Tuning) -> np.ndarray:
    """(h, w) float32 in [0, 1]: how much each area of the flow grid moves (1 - exp(-(m/m0)^2),
    m the motion in LR pixels), dilated over ``moving_radius`` LR pixels."""
    mag2 = np.sum(flow**2, axis=-1) / (factor * t.moving_flow) ** 2
    if grad is not None and t.moving_grad > 0:
        mag2 = mag2 + grad / t.moving_grad**2
    mv = 1.0 - np.exp(-mag2)
    if t.moving_radius > 0:
        radius = max(1, round(t.moving_radius * factor))
        mv = cv2.dilate(mv, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    return mv.astype(np.float32)


def spread_motion(flow: np.ndarray, factor: float, margin: float) -> np.ndarray:
    """(h, w) float32: the motion (LR pixels) of ``flow`` (h, w, 2, flow-grid pixels), each
    value spread over ``margin`` times its own magnitude (so the margin around what moves grows
    with how far it moves)."""
    mag = np.hypot(flow[..., 0], flow[..., 1]) / factor
    spread = mag.copy()
    reach, top = 1.0, float(mag.max())
    while reach <= top:  # octaves of motion: r..2r LR px spread over about margin * r
        radius = max(1, round(reach * margin * factor))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        spread = np.maximum(spread, cv2.dilate(np.where(mag >= reach, mag, 0.0), kernel))
        reach *= 2.0
    return spread.astype(np.float32)


def occlusion(flow_an: np.ndarray, flow_na: np.ndarray, factor: float, margin: float) -> np.ndarray:
    """(h, w) float32, LR pixels: how much more the neighbour moves near where ``flow_an`` takes
    each pixel than the pixel itself moves (0 where they move alike): next to a limb that moves in
    the neighbour, the background this frame shows may be what the limb covered or uncovered."""
    near = remap(spread_motion(flow_na, factor, margin), flow_an)
    own = np.hypot(flow_an[..., 0], flow_an[..., 1]) / factor
    return np.maximum(near - own, 0.0)


class Motion:
    """DIS optical flow and pair confidence with one :class:`Tuning`."""

    def __init__(self, tuning: Tuning) -> None:
        self.tuning = tuning
        self._dis = cv2.DISOpticalFlow_create(tuning.dis_preset)
        if tuning.dis_finest_scale is not None:
            self._dis.setFinestScale(tuning.dis_finest_scale)
        if tuning.dis_refine_iters is not None:
            self._dis.setVariationalRefinementIterations(tuning.dis_refine_iters)

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32: pixel p of luma ``a`` is at p + flow in luma ``b``."""
        return self._dis.calc(a, b, None)

    def pair(
        self, a: np.ndarray, n: np.ndarray, flow_an: np.ndarray, flow_na: np.ndarray,
        factor: float = 1.0,
    ) -> Pair:  # fmt: skip
        """Confidence that neighbour ``n`` warped by ``flow_an`` stands for frame ``a`` (``factor``:
        the flow grid's size over the input's, for the erosion radius)."""
        t = self.tuning
        back = remap(flow_na, flow_an)
        diff = np.sum((flow_an + back) ** 2, axis=-1)
        mag = np.sum(flow_an**2, axis=-1) + np.sum(back**2, axis=-1)
        consistent = (diff < 0.01 * mag + 0.5).astype(np.float32)
        warped = remap(n.astype(np.float32), flow_an)
        gain = 1.0
        if t.fade_gain:  # a fade: the neighbour at this frame's brightness
            gain = (float(a.mean()) + 0.5) / (float(warped.mean()) + 0.5)
            warped = warped * np.float32(gain)
        signed = a.astype(np.float32) - warped
        err = cv2.blur(np.abs(signed), (3, 3))
        noise = float(np.median(err))
        tau: float | np.ndarray = float(np.clip(t.tau_noise * noise, t.tau_min, t.tau_max))
        detail_tau: float | np.ndarray = t.detail_tau
        ok = cv2.blur(consistent, (3, 3))
        grad = None
        if t.flow_grad > 0 or t.moving_grad > 0:
            grad = flow_gradient(flow_an)
        if t.flow_grad > 0:  # motion boundaries: flow there is a blend of two motions
            ok = ok * np.exp(-grad / t.flow_grad**2)
        if t.struct_tau > 0:  # misalignment is not zero-mean over a window, noise is
            size = 2 * max(1, round(t.struct_radius * factor)) + 1
            bias = cv2.blur(signed, (size, size))
            ok = ok * np.exp(-((bias / t.struct_tau) ** 2))
        if t.occlusion_flow > 0:
            excess = occlusion(flow_an, flow_na, factor, t.occlusion_margin)
            ok = ok * np.exp(-((excess / t.occlusion_flow) ** 2))
        if t.tight_tau_min > 0:  # per-region: tight where the area moves, loose where still
            mv = moving(flow_an, grad, factor, t)
            tight = float(np.clip(t.tau_noise * noise, t.tight_tau_min, t.tau_max))
            tau = tau + (tight - tau) * mv
            detail_tau = t.detail_tau + (t.tight_detail_tau - t.detail_tau) * mv
        base = np.exp(-((err / tau) ** 2)) * ok
        detail = np.exp(-((err / (tau * detail_tau)) ** 2)) * ok
        cut = float(err.mean()) > t.cut_error or float(base.mean()) < t.cut_confidence
        fade = 1.0  # a global brightness change (a fade): the neighbour lags it
        if t.fade_levels > 0:
            fade = np.exp(-(((float(a.mean()) - float(warped.mean())) / t.fade_levels) ** 2))
            base, detail = base * fade, detail * fade
        if t.erode > 0:
            radius = max(1, round(t.erode * factor))
            kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
            base = cv2.erode(base, kernel)
            detail = cv2.erode(detail, kernel)
        base, detail = base.astype(np.float32), detail.astype(np.float32)
        return Pair(flow_an, base, detail, cut, fade, gain)
