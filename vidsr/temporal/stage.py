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
soft-thresholded at a few times the frame's median residual on still areas so averaged coding
noise stays averaged, whole where the input moves or fades; a global change is added back
whole; SR's own residual is left out where nothing was blended), so blending can add steadiness
but not move the picture away from what the current frame shows. The warp tolerance is tight
and follows the coding noise (a multiple of the median warp error), so what moves and changes
shape is not blended with what was behind it (issue 14). Where the input
is still, the output then keeps its previous value unless the blend moved further than about a
level (the hold: coding noise on a still picture changes the blend by less). A frame whose
input and SR frame repeat the previous one exactly (animation on twos, held titles; with a
look-ahead) takes the previous output as it is, with no full-resolution work. Scene cuts reset
the state, so nothing crosses a cut.

The stage itself (buffer, look-ahead, cuts, what each frame is blended with, the hold's limit);
motion is :mod:`vidsr.temporal.motion`, the full-resolution work :mod:`vidsr.temporal.blend_cpu`
or :mod:`vidsr.temporal.blend_torch` (the same functions; one is picked per segment).

torch, numpy and OpenCV only: this module never imports PyAV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import torch

from vidsr.config import TEMPORAL_LOOKAHEAD
from vidsr.errors import InvalidOptionError
from vidsr.strengths import parse_strength
from vidsr.temporal import blend_cpu, blend_torch
from vidsr.temporal.blend_torch import DeviceSplit, device_bytes
from vidsr.temporal.motion import Motion, Pair, flow_factor, luma_u8, remap
from vidsr.temporal.storage import Split
from vidsr.temporal.tuning import Tuning

log = logging.getLogger(__name__)


class Blend(Protocol):
    """Where the full-resolution work runs: :mod:`~vidsr.temporal.blend_cpu` (OpenCV) or
    :mod:`~vidsr.temporal.blend_torch` (the SR frames' torch device), same functions."""

    def split_frames(self, sr: torch.Tensor, lr: torch.Tensor) -> list: ...

    def build(self, out, current, sources, limit, shown, check, tuning) -> tuple: ...


@dataclass
class _Entry:
    lr_y: np.ndarray  # uint8 luma on the flow grid
    frame: Split | DeviceSplit  # the SR output around its input's bicubic upscale
    lr: torch.Tensor  # (3, h, w) the input frame, for the reconstruction check
    back: Pair | None = None  # to the previous frame (None at the start of a segment)
    ahead: Pair | None = None  # previous frame's view of this one (flow prev -> this)
    change: float = 0.0  # mean luma change from the previous frame, relative to this one's
    sr_residual: torch.Tensor | None = None  # what the SR frame fails to explain of lr
    repeat: bool = False  # input and SR frame exactly the previous frame's (no cut between)


class TemporalStabilizer:
    """Motion-compensated temporal blending of SR frames; output lags input by ``lookahead``.

    ``strength`` is ``off|low|medium|high`` or a number in [0, 1]; ``off`` returns the SR
    tensors unchanged with no lag. Feed consecutive frames with :meth:`process`, then call
    :meth:`flush` at the end of a segment; every frame comes out exactly once, in order.
    ``device``: where output tensors go (default: the device of the SR input). Motion is
    estimated on the CPU with OpenCV; the full-resolution work runs there too (``backend``
    ``opencv``), or on the SR frames' torch device (``torch``, :mod:`vidsr.temporal.blend_torch`);
    ``auto`` picks ``torch`` for frames on a GPU. ``cuts`` counts the scene cuts seen so far.

    Memory: buffered SR frames and the history are kept as two 16-bit fixed-point bands (steps
    of 1/65535 and 1/32767, finer than any output format) and frames are blended in bands of
    :data:`vidsr.temporal.blend_cpu.BAND_PIXELS` pixels, so the stage holds
    :meth:`bytes_per_pixel` bytes per output pixel plus a few MB.
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
        self._motion = Motion(self.tuning)
        self._like = torch.empty(0, 3, 0, 0)
        self.cuts = 0  # scene cuts detected so far (not reset)
        self.repeats = 0  # exact repeats held without blending so far (not reset)
        self.reset()

    def reset(self) -> None:
        """Forget every buffered frame and the history (start of a new segment)."""
        self._pending: list[_Entry] = []
        self._last_y: np.ndarray | None = None
        self._history: Split | DeviceSplit | None = None
        self._shown: np.ndarray | torch.Tensor | None = None  # the last output, for the hold
        self._factor: float | None = None
        self._on_device = False  # the full-resolution work runs on the SR frames' device
        self._blend: Blend = blend_cpu  # where it runs: blend_cpu or blend_torch
        self._own_share: np.ndarray | None = None  # see _share
        self._held: torch.Tensor | None = None  # the last output, kept while repeats follow

    def bytes_per_pixel(self, batch: int = 1) -> int:
        """Memory the stage holds per output pixel at most, fed ``batch`` frames at a time.

        Buffered SR frames (up to look-ahead + batch), the history and the one being built
        (12 bytes each: two bands of three 16-bit channels), the last output for the hold (6:
        three 16-bit channels), the float frames it returns (12 bytes each) and the
        reconstruction check's bicubic reduction of one frame (3: a quarter frame); the output
        held for exact repeats (12) only lives while no history is built. That is host
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
            self._factor = flow_factor(*lr.shape[-2:], self.tuning)
            self._on_device = self.backend == "torch" or (
                self.backend == "auto" and sr.device.type == "cuda" and self._fits(sr)
            )
            self._blend = blend_torch if self._on_device else blend_cpu
        lumas = luma_u8(lr, self._factor)
        frames = self._blend.split_frames(sr, lr)
        for i, (y, (frame, small)) in enumerate(zip(lumas, frames, strict=True)):
            entry = self._append(y, frame, small)
            t = self.tuning
            if entry.repeat:  # the previous frame's residual: the same frames give the same
                entry.sr_residual = self._pending[-2].sr_residual
            elif (t.recon_to_sr or t.recon_to_sr_unblended) and t.recon_project:
                entry.sr_residual = blend_torch.residual(sr[i], small)
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

    def _append(self, y: np.ndarray, frame: Split | DeviceSplit, lr: torch.Tensor) -> _Entry:
        entry = _Entry(y, frame, lr)
        prev = self._last_y
        # with a look-ahead the previous frame is always still pending here, and this one is
        # when the previous is emitted, so what is held does not depend on the batching
        if self.lookahead > 0 and self._pending and _same(self._pending[-1], entry):
            entry.repeat = True  # its motion is still measured: later frames chain through it
            entry.frame = self._pending[-1].frame  # one copy of the frame buffered, not two
        if prev is not None:
            back = self._motion.flow(y, prev)
            fwd = self._motion.flow(prev, y)
            entry.back = self._motion.pair(y, prev, back, fwd, self._factor or 1.0)
            if entry.back.cut:
                self.cuts += 1
                entry.back = None
                entry.repeat = False
            else:
                entry.ahead = self._motion.pair(prev, y, fwd, back, self._factor or 1.0)
                mean = float(y.mean())
                entry.change = abs(mean - float(prev.mean())) / max(mean, 1.0)
        self._last_y = y
        self._pending.append(entry)
        return entry

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
        first = self._pending[0]
        h, w = first.frame.size
        out = torch.empty((count, 3, h, w), dtype=torch.float32, device=first.lr.device)
        for i in range(count):  # the oldest pending frame, blended with what it may use
            if self._pending[0].repeat and self._held is not None:  # an exact repeat: held
                out[i] = self._held  # no full-resolution work; history and hold unchanged
                self.repeats += 1
            else:
                limit = self._hold_limit()
                sources = self._sources()
                self._own_share = self._share(sources)
                self._history, self._shown = self._blend.build(
                    out[i], self._pending[0].frame, sources, limit, self._shown,  # type: ignore[arg-type]
                    self._residual, self.tuning,
                )  # fmt: skip
            self._pending.pop(0)
            following = self._pending[0].repeat if self._pending else False
            if not following:
                self._held = None
            elif self._held is None:  # the next frame repeats this one: keep its output
                self._held = out[i].clone()
        return out.to(device=self._like.device, dtype=self._like.dtype)

    def _sources(self) -> list[tuple[Split | DeviceSplit, np.ndarray, np.ndarray, float]]:
        """What the oldest pending frame is blended with: the history and each usable
        look-ahead frame, with the flow in output pixels, the base and detail weights
        (strength included), both on the flow grid, and the gain the source is scaled by."""
        t, s = self.tuning, self.strength
        cur = self._pending[0]
        found: list[tuple[Split | DeviceSplit, Pair, float, float]] = []
        if cur.back is not None and self._history is not None:
            weight = t.history_weights[min(self.lookahead, len(t.history_weights) - 1)]
            detail = t.detail_weight if t.history_detail_weight < 0 else t.history_detail_weight
            found.append((self._history, cur.back, weight, detail))
        for k in range(1, self.lookahead + 1):
            if k >= len(self._pending) or self._pending[k].back is None:
                break
            other = self._pending[k]
            pair = other.ahead if k == 1 else self._chained(k)
            found.append((other.frame, pair, t.future_weight / k, t.detail_weight))  # type: ignore[arg-type]
        h, w = cur.frame.size
        sources = []
        for source, pair, weight, detail in found:
            fh, fw = pair.flow_an.shape[:2]
            flow = pair.flow_an * np.array([w / fw, h / fh], np.float32)
            gains = np.array([s * weight, s * weight * detail], np.float32)
            sources.append((source, flow, pair.confidence * gains, pair.gain))
        return sources

    def _residual(self, frame: torch.Tensor) -> torch.Tensor | None:
        """The reconstruction check of the oldest pending frame's blend ``frame`` (3, H, W):
        what it fails to explain of its input once brought down to the input's size (3, h, w),
        soft-thresholded at ``recon_shrink`` times its median beside its mean per channel (a
        global change, such as a fade, is kept whole); None when the check is off."""
        t = self.tuning
        if not t.recon_project:
            return None
        res = blend_torch.residual(frame, self._pending[0].lr)
        own = self._pending[0].sr_residual
        if own is not None and t.recon_to_sr:  # against what SR explains
            res = res - own.to(res.device)
        elif own is not None and self._own_share is not None:  # the same where not blended
            share = cv2.resize(
                self._own_share, tuple(res.shape[-2:])[::-1], interpolation=cv2.INTER_AREA
            )
            res = res - own.to(res.device) * torch.from_numpy(share).to(res.device)
        if t.recon_shrink > 0:
            gain = res.mean(dim=(1, 2), keepdim=True)
            res = res - gain
            fading = t.recon_fade > 0 and self._brightness_change() > t.recon_fade
            if fading and t.recon_fade_sigma > 0:  # the fade's smooth part whole, edges not
                smooth = _blurred(res, t.recon_fade_sigma)
                edges = res - smooth
                level = t.recon_shrink * float(edges.abs().median())
                soft = edges.sign() * (edges.abs() - level).clamp_(min=0.0) + smooth + gain
            else:
                level = 0.0 if fading else t.recon_shrink * float(res.abs().median())
                soft = res.sign() * (res.abs() - level).clamp_(min=0.0) + gain
            if t.recon_moving > 0:  # where the input moves, the whole residual goes back
                moves = torch.from_numpy(self._moving(res.shape[-2:])).to(res.device)
                return soft + (res + gain - soft) * moves
            return soft
        return res

    def _share(self, sources: list) -> np.ndarray | None:
        """(hf, wf) float32: the current frame's share of the low band's blend weights (1 where
        nothing is blended), when ``recon_to_sr_unblended`` is on; None otherwise."""
        if not self.tuning.recon_to_sr_unblended or not sources:
            return None
        total = sum(confidence[..., 0] for _, _, confidence, _ in sources)
        return (1.0 / (1.0 + total)).astype(np.float32)

    def _brightness_change(self) -> float:
        """The largest relative mean luma change between consecutive frames of those the oldest
        pending frame is blended with (its history and look-ahead)."""
        changes = [self._pending[0].change]
        for k in range(1, min(len(self._pending), self.lookahead + 1)):
            if self._pending[k].back is None:  # a cut: what follows is not blended in
                break
            changes.append(self._pending[k].change)
        return max(changes)

    def _moving(self, size: tuple[int, int]) -> np.ndarray:
        """(h, w) float32 in [0, 1]: how much the oldest pending frame's input moves against
        its neighbours (1 - exp(-(m / recon_moving)^2), m the largest motion in LR pixels),
        resized from the flow grid to ``size``."""
        t, factor = self.tuning, self._factor or 1.0
        flows = [p.flow_an for p in (self._pending[0].back,) if p is not None]
        # the next frame only when it is blended in (it may be pending without look-ahead)
        if self.lookahead > 0 and len(self._pending) > 1 and self._pending[1].ahead is not None:
            flows.append(self._pending[1].ahead.flow_an)
        if not flows:
            return np.zeros(size, np.float32)
        mag2 = np.max([np.sum(f**2, axis=-1) for f in flows], axis=0) / factor**2
        moves = 1.0 - np.exp(-mag2 / t.recon_moving**2)
        return cv2.resize(moves.astype(np.float32), size[::-1], interpolation=cv2.INTER_AREA)

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

    def _chained(self, k: int) -> Pair:
        """Motion from the oldest pending frame to the k-th next, by chaining consecutive flows."""
        frames = self._pending[: k + 1]
        fwd = frames[1].ahead.flow_an  # type: ignore[union-attr]
        back = frames[1].back.flow_an  # type: ignore[union-attr]
        for nxt in frames[2:]:
            fwd = fwd + remap(nxt.ahead.flow_an, fwd)  # type: ignore[union-attr]
            step = nxt.back.flow_an  # type: ignore[union-attr]
            back = step + remap(back, step)
        return self._motion.pair(frames[0].lr_y, frames[-1].lr_y, fwd, back, self._factor or 1.0)


def _blurred(planes: torch.Tensor, sigma: float) -> torch.Tensor:
    """(C, h, w) float32 planes blurred by a Gaussian of ``sigma`` pixels (edges reflected)."""
    hwc = np.ascontiguousarray(planes.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy())
    out = cv2.GaussianBlur(hwc, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return torch.from_numpy(out.reshape(hwc.shape)).permute(2, 0, 1).to(planes.device)


def _same(a: _Entry, b: _Entry) -> bool:
    """Whether two entries hold exactly the same input and SR frame (a repeat: its output is
    the previous output, so nothing at full resolution is computed for it)."""
    if not torch.equal(a.lr, b.lr):
        return False
    fa, fb = a.frame, b.frame
    if isinstance(fa, Split) and isinstance(fb, Split):
        return np.array_equal(fa.low, fb.low) and np.array_equal(fa.detail, fb.detail)
    if isinstance(fa, DeviceSplit) and isinstance(fb, DeviceSplit):
        return torch.equal(fa.low, fb.low) and torch.equal(fa.detail, fb.detail)
    return False
