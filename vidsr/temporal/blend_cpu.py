"""The temporal stage's full-resolution work on the CPU, with OpenCV, in bands of rows.

The same functions as :mod:`vidsr.temporal.blend_torch` (``split_frames``, ``build``), so the
stage picks one module per segment and never branches on it. Frames are kept in 16-bit fixed
point (:mod:`vidsr.temporal.storage`); a band of :data:`BAND_PIXELS` output pixels is converted
or blended at a time, so the work space stays a few MB at any size.

numpy, OpenCV and torch (to read and write frames); never PyAV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np
import torch

from vidsr.temporal.storage import U16, Split, affine, detail_f32
from vidsr.temporal.tuning import Tuning

BAND_PIXELS = 1 << 17
"""Output pixels converted or blended at a time: the work space stays a few MB at any size."""


def bands(h: int, w: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Rows of an (h, w) frame in bands of about BAND_PIXELS, one at a time: (rows, xy) with
    the band's pixel positions, (rows, w, 2) float32 x and y."""
    step = max(8, BAND_PIXELS // max(1, w))
    xs = np.arange(w, dtype=np.float32)
    for r0 in range(0, h, step):
        ys = np.arange(r0, min(h, r0 + step), dtype=np.float32)
        yield slice(r0, min(h, r0 + step)), np.dstack(np.meshgrid(xs, ys))


def upscaled_rows(img: np.ndarray, rows: slice, size: tuple[int, int], xy: np.ndarray,
                   cubic: bool) -> np.ndarray:  # fmt: skip
    """Rows ``rows`` of ``img`` (h, w[, C]) resized to ``size`` (H, W), pixel centres aligned
    as ``cv2.resize`` aligns them; ``xy`` holds the band's pixel positions.

    At an integer factor, only the input rows the band needs (plus a margin for the filter) are
    resized, several times faster than sampling at arbitrary positions; other factors sample
    with ``cv2.remap``.
    """
    h, w = img.shape[:2]
    big_h, big_w = size
    s = big_h // h
    mode = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    if s >= 1 and big_h == s * h and big_w == s * w:
        a0 = max(0, rows.start // s - 2)
        a1 = min(h, -(-rows.stop // s) + 2)
        up = cv2.resize(img[a0:a1], (big_w, (a1 - a0) * s), interpolation=mode)
        return up[rows.start - a0 * s : rows.stop - a0 * s]
    grid = (xy + 0.5) * np.array([w / big_w, h / big_h], np.float32) - 0.5
    maps = cv2.convertMaps(grid, None, cv2.CV_16SC2)
    return cv2.remap(img, maps[0], maps[1], mode, borderMode=cv2.BORDER_REPLICATE)


def sample(img: np.ndarray, maps: tuple[np.ndarray, np.ndarray], cubic: bool) -> np.ndarray:
    """``img`` at the positions of fixed-point ``maps``; edges replicated."""
    mode = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(img, maps[0], maps[1], mode, borderMode=cv2.BORDER_REPLICATE)


def split(sr: torch.Tensor, lr: np.ndarray) -> Split:
    """One SR frame (3, H, W) split around the bicubic upscale of its input (h, w, 3)."""
    chw = sr.detach().to("cpu", torch.float32).contiguous().numpy()
    h, w = chw.shape[-2:]
    split = Split.empty(h, w)
    for rows, xy in bands(h, w):
        up = upscaled_rows(lr, rows, (h, w), xy, cubic=True)
        split.put(rows, cv2.merge([chw[0, rows], chw[1, rows], chw[2, rows]]), up)
    return split


def split_frames(sr: torch.Tensor, lr: torch.Tensor) -> list[tuple[Split, torch.Tensor]]:
    """Each SR frame of a batch (N, 3, H, W) stored around the bicubic upscale of its input
    (N, 3, h, w), with that input (3, h, w, float32 on the CPU) for the reconstruction check."""
    lr = lr.detach().to("cpu", torch.float32)
    inputs = lr.permute(0, 2, 3, 1).numpy()
    return [(split(sr[i], np.ascontiguousarray(small)), lr[i]) for i, small in enumerate(inputs)]


def build(
    out: torch.Tensor,
    current: Split,
    sources: list[tuple[Split, np.ndarray, np.ndarray, float]],
    limit: np.ndarray | None,
    shown: np.ndarray | None,
    check: Callable[[torch.Tensor], torch.Tensor | None],
    tuning: Tuning,
) -> tuple[Split, np.ndarray | None]:
    """Blend ``current`` with its ``sources`` (split, flow in output pixels, base and detail
    weights on the flow grid, gain) into ``out`` (3, H, W) float32, band of rows by band of
    rows; then the reconstruction check (``check``: the residual of a blended frame, or None)
    and the hold (keep the last output ``shown`` within ``limit``). Returns the history split
    and the output kept for the next hold (None when the hold is off).

    Two bands of frequency are blended separately: the low band (the bicubic-upscaled input)
    with strict confidence, and the detail the SR model added on top of it with a looser one.
    """
    t, warps = tuning, sources
    h, w = current.size
    planes = out.numpy()  # written in place
    history = Split.empty(h, w)
    keep = t.hold_levels > 0  # the output is kept for the next frame's hold
    if keep and shown is None:  # first frame of a segment
        shown = np.empty((h, w, 3), np.uint16)
    for rows, xy in bands(h, w):  # first pass: the blend, into out and the history
        high, low = current.get(rows)
        w_low = np.ones(low.shape[:2], np.float32)
        w_high = np.ones(low.shape[:2], np.float32)
        for source, flow, confidence, gain in warps:  # running weighted means of both bands
            where = upscaled_rows(flow, rows, (h, w), xy, cubic=False)
            cv2.add(where, xy, dst=where)
            maps = cv2.convertMaps(where, None, cv2.CV_16SC2)
            a, d = cv2.split(upscaled_rows(confidence, rows, (h, w), xy, cubic=False))
            warped = detail_f32(sample(source.detail, maps, cubic=t.detail_cubic))
            if gain != 1.0:
                cv2.multiply(warped, gain, dst=warped)
            high = cv2.blendLinear(high, warped, w_high, d)
            warped = affine(sample(source.low, maps, cubic=False), gain / U16, 0.0, cv2.CV_32F)
            low = cv2.blendLinear(low, warped, w_low, a)
            cv2.add(w_high, d, dst=w_high)
            cv2.add(w_low, a, dst=w_low)
        cv2.add(high, low, dst=high)
        np.clip(high, 0.0, 1.0, out=high)
        history.put(rows, high, low)
        cv2.split(high, [planes[0, rows], planes[1, rows], planes[2, rows]])
    res = check(out) if warps else None
    if res is not None:
        res = np.ascontiguousarray(res.permute(1, 2, 0).numpy())
    for rows, xy in bands(h, w):  # second pass: the reconstruction check, then the hold
        high = None
        if res is not None:  # back-projection: the input's residual into the low band
            high = cv2.merge([planes[0, rows], planes[1, rows], planes[2, rows]])
            up = upscaled_rows(res, rows, (h, w), xy, cubic=True)
            history.shift_low(rows, up)  # the history moves by up, its detail kept
            cv2.add(high, up, dst=high)
            np.clip(high, 0.0, 1.0, out=high)
        lim = None if limit is None else upscaled_rows(limit, rows, (h, w), xy, cubic=False)
        if lim is not None and cv2.countNonZero(lim):  # the hold: keep the last output
            if high is None:
                high = cv2.merge([planes[0, rows], planes[1, rows], planes[2, rows]])
            lim = cv2.merge([lim, lim, lim])  # within the limit of this one (where still)
            kept = affine(shown[rows], 1 / U16, 0.0, cv2.CV_32F)
            cv2.subtract(kept, high, dst=kept)
            cv2.min(kept, lim, dst=kept)
            cv2.max(kept, cv2.multiply(lim, -1.0), dst=kept)
            cv2.add(high, kept, dst=high)
        if high is not None:
            cv2.split(high, [planes[0, rows], planes[1, rows], planes[2, rows]])
        if keep:
            if high is None:
                high = cv2.merge([planes[0, rows], planes[1, rows], planes[2, rows]])
            affine(high, U16, 0.0, cv2.CV_16U, shown[rows])  # type: ignore[index]
    return history, shown
