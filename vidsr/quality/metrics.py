"""Image and video quality metrics: PSNR/SSIM on Y, warping error, tOF, flicker, blockiness.

Conventions shared by every function here:

* an image is an ``(H, W, 3)`` RGB array (``uint8`` on 0..255, or float on 0..1) or a torch
  tensor ``(3, H, W)`` float on 0..1; a 2-D array is taken as a Y plane already on the 0..255 scale
  (as BasicSR does for grey images);
* a clip is a sequence of images, an ``(T, H, W, 3)`` array or a ``(T, 3, H, W)`` tensor;
* Y is BT.601 luma as BasicSR and MATLAB compute it,
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` (RGB on 0..1), on the 0..255 scale, not rounded.

Optical flow (for the temporal metrics) comes from OpenCV, which needs no downloaded weights.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from vidsr.errors import InvalidOptionError

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])


def _to_numpy(img: object) -> np.ndarray:
    """An image or clip as a numpy array, channels last (tensors are moved to CPU and permuted)."""
    if isinstance(img, np.ndarray):
        return img
    detach = getattr(img, "detach", None)
    if detach is None:
        return np.asarray(img)
    arr = detach().cpu().float().numpy()
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        return arr.transpose(1, 2, 0)
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        return arr.transpose(0, 2, 3, 1)
    return arr


def _frames(frames: object) -> list:
    """A clip as a list of images (a list/tuple is kept, an array or tensor is split on axis 0)."""
    if isinstance(frames, (list, tuple)):
        return list(frames)
    return list(_to_numpy(frames))


def rgb_to_y(img: object) -> np.ndarray:
    """BT.601 Y (BasicSR/MATLAB ``rgb2ycbcr``) of an image, float64 on the 0..255 scale.

    Accepts ``(H, W, 3)`` RGB (uint8 0..255 or float 0..1), a ``(3, H, W)`` tensor, or a 2-D Y
    plane on 0..255 which is returned as float64 unchanged.
    """
    arr = _to_numpy(img)
    if arr.ndim == 2:
        return arr.astype(np.float64)
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[..., 0].astype(np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidOptionError(f"expected an (H, W, 3) RGB image, got shape {arr.shape}")
    rgb = arr.astype(np.float64)
    if arr.dtype == np.uint8:
        rgb /= 255.0
    # element-wise, not a matmul: BLAS rounding would depend on memory layout, and identical
    # images must give exactly equal Y (infinite PSNR)
    w = _Y_WEIGHTS
    return rgb[..., 0] * w[0] + rgb[..., 1] * w[1] + rgb[..., 2] * w[2] + 16.0


def _clip_y(frames: object) -> np.ndarray:
    """A clip as a ``(T, H, W)`` float64 Y stack on 0..255."""
    items = _frames(frames)
    if len(items) == 0:
        raise InvalidOptionError("a clip needs at least one frame")
    return np.stack([rgb_to_y(f) for f in items])


def _crop(img: np.ndarray, border: int) -> np.ndarray:
    if border < 0:
        raise InvalidOptionError(f"crop_border must be >= 0, got {border}")
    if border == 0:
        return img
    return img[border:-border, border:-border]


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InvalidOptionError(f"images differ in size: {a.shape} vs {b.shape}")


def psnr_y(img: object, ref: object, crop_border: int = 0) -> float:
    """PSNR in dB of ``img`` against ``ref`` on BT.601 Y (0..255), ``crop_border`` pixels cut off.

    Identical images give ``inf``. Matches ``basicsr.metrics.calculate_psnr(test_y_channel=True)``.
    """
    a, b = rgb_to_y(img), rgb_to_y(ref)
    _check_same_shape(a, b)
    a, b = _crop(a, crop_border), _crop(b, crop_border)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * float(np.log10(255.0**2 / mse))


def _gaussian_valid(img: np.ndarray, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Separable Gaussian filter keeping only the fully covered ('valid') pixels."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x**2) / (2.0 * sigma**2))
    k /= k.sum()
    h, w = img.shape
    rows = sum(k[i] * img[i : h - size + 1 + i, :] for i in range(size))
    return sum(k[j] * rows[:, j : w - size + 1 + j] for j in range(size))


def ssim_y(img: object, ref: object, crop_border: int = 0) -> float:
    """SSIM of ``img`` against ``ref`` on BT.601 Y (0..255), ``crop_border`` pixels cut off.

    Wang et al.'s SSIM with an 11x11 Gaussian window (sigma 1.5), K1=0.01, K2=0.03, averaged over
    the fully covered pixels, as ``basicsr.metrics.calculate_ssim(test_y_channel=True)`` and
    MATLAB's ``ssim_index`` compute it.
    """
    a, b = rgb_to_y(img), rgb_to_y(ref)
    _check_same_shape(a, b)
    a, b = _crop(a, crop_border), _crop(b, crop_border)
    if min(a.shape) < 11:
        raise InvalidOptionError(f"SSIM needs at least 11x11 pixels, got {a.shape}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = _gaussian_valid(a), _gaussian_valid(b)
    s11 = _gaussian_valid(a * a) - mu1**2
    s22 = _gaussian_valid(b * b) - mu2**2
    s12 = _gaussian_valid(a * b) - mu1 * mu2
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1**2 + mu2**2 + c1) * (s11 + s22 + c2)
    return float(np.mean(num / den))


# --- motion -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Motion:
    """Backward motion of a clip: for each t >= 1, the flow from frame t to frame t-1.

    ``flows[t-1]`` is ``(H, W, 2)`` float32 (x, y displacement in pixels: pixel ``p`` of frame t
    is at ``p + flow[p]`` in frame t-1); ``valid[t-1]`` is an ``(H, W)`` bool mask of the pixels
    that pass a forward-backward consistency check (not occluded, flow trustworthy).
    """

    flows: list[np.ndarray]
    valid: list[np.ndarray]


def _to_u8(y: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _dis_flow(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Dense flow from ``src`` to ``dst`` (uint8 planes) with OpenCV's DIS, medium preset."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(src, dst, None)


def warp_backward(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``img`` (H, W[, C]) at ``p + flow[p]``: bilinear, border pixels replicated."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = gx + flow[..., 0]
    my = gy + flow[..., 1]
    return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """Forward-backward check: True where following ``flow_ab`` then ``flow_ba`` comes back.

    The test is Sundaram et al.'s: ``|f_ab + f_ba(p + f_ab)|^2 < 0.01 (|f_ab|^2 + |f_ba|^2) + 0.5``,
    and the target ``p + f_ab`` must fall inside the frame.
    """
    back = warp_backward(flow_ba, flow_ab)
    diff = np.sum((flow_ab + back) ** 2, axis=-1)
    mag = np.sum(flow_ab**2, axis=-1) + np.sum(back**2, axis=-1)
    ok = diff < 0.01 * mag + 0.5
    h, w = flow_ab.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    tx, ty = gx + flow_ab[..., 0], gy + flow_ab[..., 1]
    return ok & (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)


def estimate_motion(frames: object, scale: int = 1) -> Motion:
    """Backward flows and validity masks of a clip, from DIS optical flow on its Y.

    With ``scale > 1`` the flows are computed on these frames and then upsampled to ``scale``
    times their size (vectors multiplied by ``scale``): this gives the motion of an upscaled
    output from its low-resolution input when no reference is available.
    """
    if scale < 1:
        raise InvalidOptionError(f"scale must be >= 1, got {scale}")
    ys = [_to_u8(y) for y in _clip_y(frames)]
    flows: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    for prev, cur in itertools.pairwise(ys):
        back = _dis_flow(cur, prev)
        fwd = _dis_flow(prev, cur)
        ok = consistent(back, fwd)
        if scale > 1:
            h, w = cur.shape
            size = (w * scale, h * scale)
            back = cv2.resize(back, size, interpolation=cv2.INTER_LINEAR) * scale
            ok = cv2.resize(ok.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        flows.append(back)
        valid.append(ok)
    return Motion(flows, valid)


def warping_error(output: object, motion: Motion) -> float:
    """Temporal instability of ``output`` along ``motion`` (see :func:`estimate_motion`).

    Mean over t of the mean squared Y difference (0..255 scale) between ``O_t`` and ``O_{t-1}``
    warped by the backward flow, over the pixels ``motion`` marks valid. Pass the motion of the
    reference (``estimate_motion(reference)``) or, without one, of the input
    (``estimate_motion(lr, scale)``). A one-frame clip gives 0.
    """
    ys = _clip_y(output).astype(np.float32)
    if len(motion.flows) != len(ys) - 1:
        raise InvalidOptionError(
            f"{len(ys)} frames need {len(ys) - 1} flows, got {len(motion.flows)}"
        )
    errs = []
    for t in range(1, len(ys)):
        flow, ok = motion.flows[t - 1], motion.valid[t - 1]
        if flow.shape[:2] != ys[t].shape:
            raise InvalidOptionError(f"flow size {flow.shape[:2]} differs from frame {ys[t].shape}")
        if not ok.any():
            continue
        warped = warp_backward(ys[t - 1], flow)
        errs.append(float(np.mean((ys[t][ok] - warped[ok]) ** 2)))
    return float(np.mean(errs)) if errs else 0.0


# --- tOF, flicker, frame difference --------------------------------------------------------------


def _gray_u8(img: object) -> np.ndarray:
    """Grey level as TecoGAN's tOF takes it (OpenCV's 0.299/0.587/0.114 on 8-bit)."""
    arr = _to_numpy(img)
    if arr.ndim == 2:
        return _to_u8(arr)
    if arr.dtype != np.uint8:
        arr = _to_u8(arr.astype(np.float64) * 255.0)
    return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)


def farneback_flows(frames: object) -> list[np.ndarray]:
    """Farneback flows from frame t-1 to frame t (TecoGAN's parameters), one per pair."""
    grey = [_gray_u8(f) for f in _frames(frames)]
    return [
        cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        for a, b in itertools.pairwise(grey)
    ]


def tof(
    output: object, reference: object | None = None, reference_flows: list | None = None
) -> float:
    """tOF (TecoGAN): mean L2 norm of the difference of output and reference Farneback flows.

    Pass ``reference_flows`` (from :func:`farneback_flows`) to reuse them across outputs.
    """
    if reference_flows is None:
        if reference is None:
            raise InvalidOptionError("tof needs a reference or its flows")
        reference_flows = farneback_flows(reference)
    out_flows = farneback_flows(output)
    if len(out_flows) != len(reference_flows):
        raise InvalidOptionError("output and reference differ in frame count")
    if not out_flows:
        return 0.0
    return float(
        np.mean(
            [
                np.mean(np.sqrt(np.sum((o - r) ** 2, axis=-1)))
                for o, r in zip(out_flows, reference_flows, strict=True)
            ]
        )
    )


def flicker_error(output: object, reference: object) -> float:
    """Mean over t of mean ``|(O_t - O_{t-1}) - (G_t - G_{t-1})|`` on Y (0..255)."""
    o, g = _clip_y(output), _clip_y(reference)
    _check_same_shape(o, g)
    if len(o) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(o, axis=0) - np.diff(g, axis=0))))


def temporal_difference(output: object) -> float:
    """Mean ``|O_t - O_{t-1}|`` on Y (0..255): how much a (static) clip moves frame to frame."""
    o = _clip_y(output)
    if len(o) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(o, axis=0))))


# --- blockiness ----------------------------------------------------------------------------------


def blockiness(img: object, block: int = 8, scale: int = 1) -> float:
    """Ratio of the luma step across ``block``-grid borders to the step inside blocks.

    The mean absolute difference between horizontally and vertically adjacent Y pixels that
    straddle a grid line (positions ``k*block - 1 | k*block``) divided by the mean over the other
    adjacent pairs. About 1 for natural images; coding blocks push it above 1. For an output
    upscaled by ``s`` from a coded input use ``block=8*s, scale=s``: then only pairs at the same
    phase of the ``s``-pixel upscaling grid count as "inside", so a model's own periodic pattern
    on that grid is not mistaken for blocks.
    """
    if block < 2 or scale < 1 or block % scale:
        raise InvalidOptionError(f"need block >= 2 and a multiple of scale, got {block}, {scale}")
    y = rgb_to_y(img)
    dx = np.abs(np.diff(y, axis=1))
    dy = np.abs(np.diff(y, axis=0))

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        pos = np.arange(n) + 1
        return pos % block == 0, (pos % scale == 0) & (pos % block != 0)

    bx, ix = split(dx.shape[1])
    by, iy = split(dy.shape[0])
    if not (bx.any() or by.any()) or not (ix.any() or iy.any()):
        raise InvalidOptionError(f"image {y.shape} is smaller than two {block}-pixel blocks")
    border = np.concatenate([dx[:, bx].ravel(), dy[by, :].ravel()])
    inside = np.concatenate([dx[:, ix].ravel(), dy[iy, :].ravel()])
    return float(border.mean() / max(inside.mean(), 1e-6))


def clip_blockiness(frames: object, block: int = 8, scale: int = 1) -> float:
    """Mean :func:`blockiness` over the frames of a clip."""
    return float(np.mean([blockiness(f, block, scale) for f in _frames(frames)]))
