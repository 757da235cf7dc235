"""The temporal stage: motion-compensated stabilisation of per-frame SR output.

Per-frame SR invents detail independently in every frame, so textures shimmer. The stabiliser
estimates motion on the low-resolution input (OpenCV DIS optical flow: cheap, no weights), warps
the previous stabilised output and the next few SR outputs onto the current frame, and blends
them in where the warp is trustworthy: the flow passes a forward-backward check, is smooth (no
motion boundary) and the warped input matches the current input. Elsewhere the current SR frame
is kept untouched. Two bands are blended separately: the bicubic-upscaled input (strictly) and
the detail the model added over it (more loosely, since that is what shimmers). The
reconstruction check then brings the blend back down with the benchmarks' bicubic kernel and
adds what it fails to explain of the current input back into the low band (back-projection,
soft-thresholded at twice the frame's median residual so averaged coding noise stays averaged;
a global change such as a fade is added back whole), so blending can add steadiness but not
move the picture away from what the current frame shows. Where the input
is still, the output then keeps its previous value unless the blend moved further than about a
level (the hold: coding noise on a still picture changes the blend by less). Scene cuts reset
the state, so nothing crosses a cut.

torch, numpy and OpenCV only: this module never imports PyAV.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vidsr.config import TEMPORAL_LOOKAHEAD
from vidsr.errors import InvalidOptionError
from vidsr.strengths import parse_strength
from vidsr.temporal_device import DeviceSplit, device_bytes, residual
from vidsr.temporal_device import blend as device_blend
from vidsr.temporal_device import hold as device_hold
from vidsr.temporal_device import project as device_project
from vidsr.temporal_device import split as device_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    """Internal knobs of the stabiliser (defaults measured in ``scripts/bench_temporal.py``)."""

    # weight of the warped previous output at strength 1, with a look-ahead of 0, 1, 2 or more
    # frames (alone, the history needs less weight: at 4.5 look-ahead 0 lost 0.16 dB)
    history_weights: tuple[float, ...] = (3.0, 3.75, 4.5)
    future_weight: float = 1.5 / 0.6  # weight of the next warped SR frame (1/k for the k-th)
    tau_min: float = 20.0  # warp error (Y, 0..255, LR) accepted at any noise level
    tau_max: float = 40.0  # largest noise-adapted tolerance
    detail_tau: float = 5.0  # the detail band (SR minus bicubic) tolerates this times more error
    detail_weight: float = 3.0  # and is blended with this times the base band's weights
    detail_cubic: bool = False  # warp the detail band bicubically (bilinear measured better;
    # OpenCV path only)
    # still areas: the output keeps its previous value while the blended frame stays within
    # this many levels (of 255, at strength 1) of it, so coding noise there no longer flickers
    hold_levels: float = 1.6
    hold_flow: float = 0.1  # motion (LR pixels) below which an area counts as still
    erode: float = 0.5  # confidence is eroded (min filter) over this many LR pixels
    flow_grad: float = 0.3  # flow gradient (px/px) where confidence falls to 1/e (0: ignore)
    tau_noise: float = 2.0  # tolerance = tau_noise * median warp error, within [tau_min, tau_max]
    min_flow_side: int = 128  # flow is computed on the LR upscaled to at least this short side
    # the reconstruction check: what the blend brought back down (bicubic) fails to explain of
    # the input is added back to its low band (back-projection), less recon_shrink times the
    # frame's median residual (soft threshold: averaged coding noise stays averaged)
    recon_project: bool = False  # on in FAITHFUL (below), not yet by default
    recon_shrink: float = 3.0  # 2.0 put cars CRF 35 blockiness above bicubic's (README)
    fade_levels: float = 1.0  # mean luma change (0..255) where a neighbour's trust falls to 1/e
    cut_error: float = 20.0  # mean warp error (Y, 0..255) above which two frames are a cut
    cut_confidence: float = 0.25  # mean confidence below which two frames are a cut
    dis_preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    dis_finest_scale: int | None = 1  # None: the preset's
    dis_refine_iters: int | None = None  # None: the preset's


FAITHFUL = Tuning(tau_min=8.0, detail_tau=2.0, recon_project=True)
"""Issue 14's fidelity-first tuning: tight warp tolerances and the reconstruction check. It no
longer smears fast motion (articulated clip inside the motion mask: +0.02 dB against per-frame SR,
the default -2.4 dB; bbb lossless -0.23 dB against -4.76) but halves steadiness (a noisy still
photo at CRF 35, all-intra: 0.73 of per-frame SR's frame-to-frame change, the target and the
default 0.48), so it is not the default yet (README, "fast motion")."""


def tuning_digest(tuning: Tuning | None = None) -> str:
    """A short hash of the stabiliser's knobs (default: this version's): a resumable job
    records it, so segments blended by two different tunings never end up in one output."""
    return hashlib.sha256(repr(tuning or Tuning()).encode()).hexdigest()[:16]


@dataclass
class _Pair:
    """Motion between frame a (the one being built) and a neighbour n, on the flow grid."""

    flow_an: np.ndarray  # (hf, wf, 2): pixel p of a is at p + flow in n
    base: np.ndarray  # (hf, wf) float32 confidence in [0, 1] for the low band
    detail: np.ndarray  # the same for the detail band (looser)
    cut: bool
    fade: float = 1.0  # trust left after the frames' mean brightness change (1: none)

    @property
    def confidence(self) -> np.ndarray:
        """(hf, wf, 2): base and detail confidence, upscaled in one go."""
        if self._confidence is None:
            self._confidence = np.dstack([self.base, self.detail])
        return self._confidence

    _confidence: np.ndarray | None = None


BAND_PIXELS = 1 << 17
"""Output pixels converted or blended at a time: the work space stays a few MB at any size."""

_U16 = 65535.0  # the low band is kept as 16-bit fixed point in [0, 1]
_D16 = 32767.0  # the detail band in [-1, 1] as 16-bit fixed point around _D0 (remap is 2x
_D0 = 32768.0  # faster on uint16 than on int16)


def _affine(
    img: np.ndarray, scale: float, offset: float, dtype: int, out: np.ndarray | None = None
) -> np.ndarray:
    """``img * scale + offset`` converted to ``dtype`` (rounded and saturated for integers),
    into ``out`` (contiguous) when given."""
    return cv2.addWeighted(img, scale, img, 0.0, offset, out, dtype=dtype)


@dataclass
class _Split:
    """A frame (H, W, 3) as two bands in 16-bit fixed point: ``low`` (the bicubic-upscaled
    input, or its blend) and ``detail`` (the rest); low + detail is the frame within 2e-5."""

    detail: np.ndarray  # uint16, offset _D0
    low: np.ndarray  # uint16

    @property
    def size(self) -> tuple[int, int]:
        return self.low.shape[0], self.low.shape[1]

    @classmethod
    def empty(cls, h: int, w: int) -> _Split:
        return cls(np.empty((h, w, 3), np.uint16), np.empty((h, w, 3), np.uint16))

    def put(self, rows: slice, frame: np.ndarray, low: np.ndarray) -> None:
        """Store rows of ``frame`` split around ``low`` (float32; clipped to [0, 1] here)."""
        low16 = _affine(low, _U16, 0.0, cv2.CV_16U, self.low[rows])
        detail = _affine(low16, -1.0 / _U16, 0.0, cv2.CV_32F)
        cv2.add(detail, frame, dst=detail)
        _affine(detail, _D16, _D0, cv2.CV_16U, self.detail[rows])

    def get(self, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Rows of (detail, low) as float32."""
        return _detail_f32(self.detail[rows]), _affine(self.low[rows], 1 / _U16, 0.0, cv2.CV_32F)


def _detail_f32(detail: np.ndarray) -> np.ndarray:
    return _affine(detail, 1.0 / _D16, -_D0 / _D16, cv2.CV_32F)


@dataclass
class _Entry:
    lr_y: np.ndarray  # uint8 luma on the flow grid
    frame: _Split | DeviceSplit  # the SR output around its input's bicubic upscale
    lr: torch.Tensor  # (3, h, w) the input frame, for the reconstruction check
    back: _Pair | None = None  # to the previous frame (None at the start of a segment)
    ahead: _Pair | None = None  # previous frame's view of this one (flow prev -> this)


def _luma_u8(lr: torch.Tensor, factor: float) -> list[np.ndarray]:
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


def _bands(h: int, w: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Rows of an (h, w) frame in bands of about BAND_PIXELS, one at a time: (rows, xy) with
    the band's pixel positions, (rows, w, 2) float32 x and y."""
    step = max(8, BAND_PIXELS // max(1, w))
    xs = np.arange(w, dtype=np.float32)
    for r0 in range(0, h, step):
        ys = np.arange(r0, min(h, r0 + step), dtype=np.float32)
        yield slice(r0, min(h, r0 + step)), np.dstack(np.meshgrid(xs, ys))


def _upscaled_rows(img: np.ndarray, rows: slice, size: tuple[int, int], xy: np.ndarray,
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


def _remap(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def _sample(img: np.ndarray, maps: tuple[np.ndarray, np.ndarray], cubic: bool) -> np.ndarray:
    """``img`` at the positions of fixed-point ``maps``; edges replicated."""
    mode = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(img, maps[0], maps[1], mode, borderMode=cv2.BORDER_REPLICATE)


class TemporalStabilizer:
    """Motion-compensated temporal blending of SR frames; output lags input by ``lookahead``.

    ``strength`` is ``off|low|medium|high`` or a number in [0, 1]; ``off`` returns the SR
    tensors unchanged with no lag. Feed consecutive frames with :meth:`process`, then call
    :meth:`flush` at the end of a segment; every frame comes out exactly once, in order.
    ``device``: where output tensors go (default: the device of the SR input). Motion is
    estimated on the CPU with OpenCV; the full-resolution work runs there too (``backend``
    ``opencv``), or on the SR frames' torch device (``torch``, :mod:`vidsr.temporal_device`);
    ``auto`` picks ``torch`` for frames on a GPU. ``cuts`` counts the scene cuts seen so far.

    Memory: buffered SR frames and the history are kept as two 16-bit fixed-point bands (steps
    of 1/65535 and 1/32767, finer than any output format) and frames are blended in bands of
    :data:`BAND_PIXELS` pixels, so the stage holds :meth:`bytes_per_pixel` bytes per output
    pixel plus a few MB.
    """

    def __init__(
        self,
        strength: float | str = "medium",
        lookahead: int = TEMPORAL_LOOKAHEAD,
        device: torch.device | str | None = None,
        tuning: Tuning | None = None,
        backend: str = "auto",
    ) -> None:
        self.strength = parse_strength(strength)
        if backend not in ("auto", "opencv", "torch"):
            raise InvalidOptionError(f"backend must be auto, opencv or torch, got {backend!r}")
        self.backend = backend
        if lookahead < 0 or int(lookahead) != lookahead:
            raise InvalidOptionError(f"lookahead must be an integer >= 0, got {lookahead!r}")
        self.lookahead = int(lookahead)
        self.device = torch.device(device) if device is not None else None
        self.tuning = tuning or Tuning()
        self._dis = cv2.DISOpticalFlow_create(self.tuning.dis_preset)
        if self.tuning.dis_finest_scale is not None:
            self._dis.setFinestScale(self.tuning.dis_finest_scale)
        if self.tuning.dis_refine_iters is not None:
            self._dis.setVariationalRefinementIterations(self.tuning.dis_refine_iters)
        self._like = torch.empty(0, 3, 0, 0)
        self.cuts = 0  # scene cuts detected so far (not reset)
        self.reset()

    def reset(self) -> None:
        """Forget every buffered frame and the history (start of a new segment)."""
        self._pending: list[_Entry] = []
        self._last_y: np.ndarray | None = None
        self._history: _Split | DeviceSplit | None = None
        self._shown: np.ndarray | torch.Tensor | None = None  # the last output, for the hold
        self._factor: float | None = None
        self._on_device = False  # the full-resolution work runs on the SR frames' device

    def bytes_per_pixel(self, batch: int = 1) -> int:
        """Memory the stage holds per output pixel at most, fed ``batch`` frames at a time.

        Buffered SR frames (up to look-ahead + batch), the history and the one being built
        (12 bytes each: two bands of three 16-bit channels), the last output for the hold (6:
        three 16-bit channels), the float frames it returns (12 bytes each) and the
        reconstruction check's bicubic reduction of one frame (3: a quarter frame). That is host
        memory on the OpenCV path; the torch path keeps its frames on the device (24 bytes
        each, float32).
        """
        if self.strength == 0.0:
            return 0
        return 12 * (self.lookahead + batch) + 24 + 6 + 12 * max(batch, self.lookahead) + 3

    # --- public API ------------------------------------------------------------------------------

    def process(self, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """Take N consecutive frames (LR input and SR output); return the M >= 0 finished ones."""
        self._check(lr, sr)
        if self.strength == 0.0:
            return sr
        self._like = sr[:0] if self.device is None else sr[:0].to(self.device)
        if self._factor is None:  # the first frames of a segment
            self._factor = max(1.0, self.tuning.min_flow_side / min(lr.shape[-2:]))
            self._on_device = self.backend == "torch" or (
                self.backend == "auto" and sr.device.type == "cuda" and self._fits(sr)
            )
        lumas = _luma_u8(lr, self._factor)
        if self._on_device:
            lr = lr.to(sr.device)
            for i, y in enumerate(lumas):
                self._append(y, device_split(sr[i], lr[i]), lr[i])
            return self._emit(final=False)
        lr = lr.detach().to("cpu", torch.float32)
        inputs = lr.permute(0, 2, 3, 1).numpy()
        for i, (y, small) in enumerate(zip(lumas, inputs, strict=True)):
            self._append(y, self._split(sr[i], np.ascontiguousarray(small)), lr[i])
        return self._emit(final=False)

    def flush(self) -> torch.Tensor:
        """Return the frames still buffered, (K,3,H,W) with K >= 0, and start a new segment."""
        out = self._emit(final=True)
        self.reset()
        return out

    # --- internals -------------------------------------------------------------------------------

    def _fits(self, sr: torch.Tensor) -> bool:
        """Whether the frames this stage would hold fit in half the GPU's free memory (the
        model keeps the rest); if not, the OpenCV path runs, with a warning."""
        frames = self.lookahead + len(sr) + 3  # buffered, history, the one being built
        # (device_bytes counts the last output kept for the hold in its work space)
        need = device_bytes(int(sr.shape[-2]) * int(sr.shape[-1]), frames)
        free, _ = torch.cuda.mem_get_info(sr.device)
        if need <= free // 2:
            return True
        log.warning(
            "temporal stage on the CPU: its %d frames of %dx%d need %d MiB, %d MiB are free on %s",
            frames, sr.shape[-1], sr.shape[-2], need >> 20, free >> 20, sr.device,
        )  # fmt: skip
        return False

    def _check(self, lr: torch.Tensor, sr: torch.Tensor) -> None:
        if lr.ndim != 4 or sr.ndim != 4 or lr.shape[1] != 3 or sr.shape[1] != 3:
            raise InvalidOptionError(f"expected (N,3,h,w) tensors, got {lr.shape} and {sr.shape}")
        if lr.shape[0] != sr.shape[0]:
            raise InvalidOptionError(f"{lr.shape[0]} LR frames but {sr.shape[0]} SR frames")
        if self._pending and tuple(sr.shape[-2:]) != self._pending[0].frame.size:
            raise InvalidOptionError("frame size changed inside a segment: call flush() first")

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._dis.calc(a, b, None)

    def _pair(
        self, a: np.ndarray, n: np.ndarray, flow_an: np.ndarray, flow_na: np.ndarray
    ) -> _Pair:
        """Confidence that neighbour ``n`` warped by ``flow_an`` stands for frame ``a``."""
        t = self.tuning
        back = _remap(flow_na, flow_an)
        diff = np.sum((flow_an + back) ** 2, axis=-1)
        mag = np.sum(flow_an**2, axis=-1) + np.sum(back**2, axis=-1)
        consistent = (diff < 0.01 * mag + 0.5).astype(np.float32)
        warped = _remap(n.astype(np.float32), flow_an)
        err = cv2.blur(np.abs(a.astype(np.float32) - warped), (3, 3))
        tau = float(np.clip(t.tau_noise * np.median(err), t.tau_min, t.tau_max))
        ok = cv2.blur(consistent, (3, 3))
        if t.flow_grad > 0:  # motion boundaries: flow there is a blend of two motions
            grad = sum(
                cv2.Sobel(
                    np.ascontiguousarray(flow_an[..., c]), cv2.CV_32F, dx, 1 - dx, scale=0.125
                )
                ** 2
                for c in (0, 1)
                for dx in (0, 1)
            )
            ok = ok * np.exp(-grad / t.flow_grad**2)
        base = np.exp(-((err / tau) ** 2)) * ok
        detail = np.exp(-((err / (tau * t.detail_tau)) ** 2)) * ok
        cut = float(err.mean()) > t.cut_error or float(base.mean()) < t.cut_confidence
        fade = 1.0  # a global brightness change (a fade): the neighbour lags it
        if t.fade_levels > 0:
            fade = np.exp(-(((float(a.mean()) - float(warped.mean())) / t.fade_levels) ** 2))
            base, detail = base * fade, detail * fade
        if t.erode > 0:
            radius = max(1, round(t.erode * (self._factor or 1.0)))
            kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
            base = cv2.erode(base, kernel)
            detail = cv2.erode(detail, kernel)
        return _Pair(flow_an, base.astype(np.float32), detail.astype(np.float32), cut, fade)

    @staticmethod
    def _split(sr: torch.Tensor, lr: np.ndarray) -> _Split:
        """One SR frame (3, H, W) split around the bicubic upscale of its input (h, w, 3)."""
        chw = sr.detach().to("cpu", torch.float32).contiguous().numpy()
        h, w = chw.shape[-2:]
        split = _Split.empty(h, w)
        for rows, xy in _bands(h, w):
            up = _upscaled_rows(lr, rows, (h, w), xy, cubic=True)
            split.put(rows, cv2.merge([chw[0, rows], chw[1, rows], chw[2, rows]]), up)
        return split

    def _append(self, y: np.ndarray, frame: _Split | DeviceSplit, lr: torch.Tensor) -> None:
        entry = _Entry(y, frame, lr)
        prev = self._last_y
        if prev is not None:
            back = self._flow(y, prev)
            fwd = self._flow(prev, y)
            entry.back = self._pair(y, prev, back, fwd)
            if entry.back.cut:
                self.cuts += 1
                entry.back = None
            else:
                entry.ahead = self._pair(prev, y, fwd, back)
        self._last_y = y
        self._pending.append(entry)

    def _ready(self, i: int) -> bool:
        """Pending frame ``i`` has all the look-ahead it can get."""
        for k in range(1, self.lookahead + 1):
            if i + k >= len(self._pending):
                return False
            if self._pending[i + k].back is None:  # a cut: nothing further ahead is usable
                return True
        return True

    def _emit(self, final: bool) -> torch.Tensor:
        count = 0
        while count < len(self._pending) and (final or self._ready(count)):
            count += 1
        if count == 0:
            return self._like.clone()
        if self._on_device:
            frames = []
            for _ in range(count):
                current = self._pending[0].frame
                limit = self._hold_limit()
                sources = self._sources()
                frame, self._history = device_blend(current, sources)  # type: ignore[arg-type]
                res = self._residual(frame) if sources else None
                if res is not None:  # the reconstruction check
                    frame, self._history = device_project(frame, self._history, res)  # type: ignore[arg-type]
                if limit is not None:
                    frame = device_hold(frame, self._shown, limit)  # type: ignore[arg-type]
                self._shown = frame
                frames.append(frame)
                self._pending.pop(0)
            return torch.stack(frames).to(device=self._like.device, dtype=self._like.dtype)
        h, w = self._pending[0].frame.size
        out = torch.empty((count, 3, h, w), dtype=torch.float32)
        planes = out.numpy()  # written in place
        for i in range(count):
            self._finish(planes[i])
            self._pending.pop(0)
        return out.to(device=self._like.device, dtype=self._like.dtype)

    def _sources(self) -> list[tuple[_Split | DeviceSplit, np.ndarray, np.ndarray]]:
        """What the oldest pending frame is blended with: the history and each usable
        look-ahead frame, with the flow in output pixels and the base and detail weights
        (strength included), both on the flow grid."""
        t, s = self.tuning, self.strength
        cur = self._pending[0]
        found: list[tuple[_Split | DeviceSplit, _Pair, float]] = []
        if cur.back is not None and self._history is not None:
            weight = t.history_weights[min(self.lookahead, len(t.history_weights) - 1)]
            found.append((self._history, cur.back, weight))
        for k in range(1, self.lookahead + 1):
            if k >= len(self._pending) or self._pending[k].back is None:
                break
            other = self._pending[k]
            pair = other.ahead if k == 1 else self._chained(k)
            found.append((other.frame, pair, t.future_weight / k))  # type: ignore[arg-type]
        h, w = cur.frame.size
        sources = []
        for source, pair, weight in found:
            fh, fw = pair.flow_an.shape[:2]
            flow = pair.flow_an * np.array([w / fw, h / fh], np.float32)
            gains = np.array([s * weight, s * weight * t.detail_weight], np.float32)
            sources.append((source, flow, pair.confidence * gains))
        return sources

    def _finish(self, out: np.ndarray) -> None:
        """Blend the oldest pending frame with its warped history and look-ahead frames into
        ``out`` (3, H, W), band of rows by band of rows.

        Two bands of frequency are blended separately: the low band (the bicubic-upscaled
        input) with strict confidence, and the detail the SR model added on top of it with a
        looser one.
        """
        t, cur = self.tuning, self._pending[0]
        warps = self._sources()
        h, w = cur.frame.size
        history = _Split.empty(h, w)
        limit = self._hold_limit()
        keep = t.hold_levels > 0  # the output is kept for the next frame's hold
        if keep and self._shown is None:  # first frame of a segment
            self._shown = np.empty((h, w, 3), np.uint16)
        shown = self._shown
        for rows, xy in _bands(h, w):  # first pass: the blend, into out and the history
            high, low = cur.frame.get(rows)  # type: ignore[union-attr]
            w_low = np.ones(low.shape[:2], np.float32)
            w_high = np.ones(low.shape[:2], np.float32)
            for source, flow, confidence in warps:  # running weighted means of both bands
                where = _upscaled_rows(flow, rows, (h, w), xy, cubic=False)
                cv2.add(where, xy, dst=where)
                maps = cv2.convertMaps(where, None, cv2.CV_16SC2)
                a, d = cv2.split(_upscaled_rows(confidence, rows, (h, w), xy, cubic=False))
                warped = _detail_f32(_sample(source.detail, maps, cubic=t.detail_cubic))
                high = cv2.blendLinear(high, warped, w_high, d)
                warped = _affine(_sample(source.low, maps, cubic=False), 1 / _U16, 0.0, cv2.CV_32F)
                low = cv2.blendLinear(low, warped, w_low, a)
                cv2.add(w_high, d, dst=w_high)
                cv2.add(w_low, a, dst=w_low)
            cv2.add(high, low, dst=high)
            np.clip(high, 0.0, 1.0, out=high)
            history.put(rows, high, low)
            cv2.split(high, [out[0, rows], out[1, rows], out[2, rows]])
        res = self._residual(torch.from_numpy(out)) if warps else None
        if res is not None:
            res = np.ascontiguousarray(res.permute(1, 2, 0).numpy())
        for rows, xy in _bands(h, w):  # second pass: the reconstruction check, then the hold
            high = None
            if res is not None:  # back-projection: the input's residual into the low band
                high = cv2.merge([out[0, rows], out[1, rows], out[2, rows]])
                _, low = history.get(rows)
                up = _upscaled_rows(res, rows, (h, w), xy, cubic=True)
                cv2.add(low, up, dst=low)
                cv2.add(high, up, dst=high)
                np.clip(high, 0.0, 1.0, out=high)
                history.put(rows, high, low)
            lim = None if limit is None else _upscaled_rows(limit, rows, (h, w), xy, cubic=False)
            if lim is not None and cv2.countNonZero(lim):  # the hold: keep the last output
                if high is None:
                    high = cv2.merge([out[0, rows], out[1, rows], out[2, rows]])
                lim = cv2.merge([lim, lim, lim])  # within the limit of this one (where still)
                kept = _affine(shown[rows], 1 / _U16, 0.0, cv2.CV_32F)
                cv2.subtract(kept, high, dst=kept)
                cv2.min(kept, lim, dst=kept)
                cv2.max(kept, cv2.multiply(lim, -1.0), dst=kept)
                cv2.add(high, kept, dst=high)
            if high is not None:
                cv2.split(high, [out[0, rows], out[1, rows], out[2, rows]])
            if keep:
                if high is None:
                    high = cv2.merge([out[0, rows], out[1, rows], out[2, rows]])
                _affine(high, _U16, 0.0, cv2.CV_16U, shown[rows])  # type: ignore[index]
        self._history = history

    def _residual(self, frame: torch.Tensor) -> torch.Tensor | None:
        """The reconstruction check of the oldest pending frame's blend ``frame`` (3, H, W):
        what it fails to explain of its input once brought down to the input's size (3, h, w),
        soft-thresholded at ``recon_shrink`` times its median beside its mean per channel (a
        global change, such as a fade, is kept whole); None when the check is off."""
        t = self.tuning
        if not t.recon_project:
            return None
        res = residual(frame, self._pending[0].lr)
        if t.recon_shrink > 0:
            gain = res.mean(dim=(1, 2), keepdim=True)
            res = res - gain
            level = t.recon_shrink * float(res.abs().median())
            res = res.sign() * (res.abs() - level).clamp_(min=0.0) + gain
        return res

    def _hold_limit(self) -> np.ndarray | None:
        """How far (0..1, on the flow grid) the oldest pending frame's output may stay at the
        last output: ``hold_levels`` where the area is still, 0 where it moves; None at the
        start of a segment or after a cut."""
        t, cur = self.tuning, self._pending[0]
        if cur.back is None or self._shown is None or t.hold_levels <= 0:
            return None
        flow = cur.back.flow_an
        still = np.hypot(flow[..., 0], flow[..., 1]) < t.hold_flow * (self._factor or 1.0)
        still = cv2.erode(still.astype(np.float32), np.ones((3, 3), np.uint8))
        # a fade moves still areas too: the hold would freeze them at the last brightness
        return still * np.float32(t.hold_levels * self.strength * cur.back.fade / 255.0)

    def _chained(self, k: int) -> _Pair:
        """Motion from the oldest pending frame to the k-th next, by chaining consecutive flows."""
        frames = self._pending[: k + 1]
        fwd = frames[1].ahead.flow_an  # type: ignore[union-attr]
        back = frames[1].back.flow_an  # type: ignore[union-attr]
        for nxt in frames[2:]:
            fwd = fwd + _remap(nxt.ahead.flow_an, fwd)  # type: ignore[union-attr]
            step = nxt.back.flow_an  # type: ignore[union-attr]
            back = step + _remap(back, step)
        return self._pair(frames[0].lr_y, frames[-1].lr_y, fwd, back)
