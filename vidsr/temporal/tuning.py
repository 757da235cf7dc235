"""The temporal stage's knobs: :class:`Tuning` (the defaults), :data:`STEADY` and :data:`FAITHFUL`
(earlier tunings the benchmarks compare with), and the digest a
resumable job records so that segments blended by two tunings never meet in one output."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field, fields

import cv2

INERT = {"inert": True}
"""Field metadata of a knob whose default turns its rule off: at that value the knob is left out
of :func:`tuning_digest`, so adding one keeps the digest (and resumable jobs) of the tunings
that do not use it."""


@dataclass(frozen=True)
class Tuning:
    """Internal knobs of the stabiliser (defaults measured in ``scripts/bench_temporal.py``)."""

    # weight of the warped previous output at strength 1, with a look-ahead of 0, 1, 2 or more
    # frames (alone, the history needs less weight: at 4.5 look-ahead 0 lost 0.16 dB)
    history_weights: tuple[float, ...] = (3.0, 3.75, 4.5)
    future_weight: float = 1.5 / 0.6  # weight of the next warped SR frame (1/k for the k-th)
    tau_min: float = 8.0  # warp error (Y, 0..255, LR) accepted at any noise level (20 smeared
    # fast non-rigid motion: issue 14, README "fast motion")
    tau_max: float = 40.0  # largest noise-adapted tolerance
    detail_tau: float = 2.0  # the detail band (SR minus bicubic) tolerates this times more error
    detail_weight: float = 0.5  # and is blended with this times the base band's weights (3 cost
    # fire2 and foreman lossless 0.15-0.19 dB: the history's detail blurs; README "fast motion")
    # the history's detail band alone at this weight (issue 14, measured: the history's detail
    # has been warped frame after frame, fresh SR frames once; negative: detail_weight, inert)
    history_detail_weight: float = field(default=-1.0, metadata=INERT)
    detail_cubic: bool = False  # warp the detail band bicubically (bilinear measured better;
    # OpenCV path only)
    # still areas: the output keeps its previous value while the blended frame stays within
    # this many levels (of 255, at strength 1) of it, so coding noise there no longer flickers
    hold_levels: float = 1.6
    hold_flow: float = 0.1  # motion (LR pixels) below which an area counts as still
    erode: float = 0.5  # confidence is eroded (min filter) over this many LR pixels
    flow_grad: float = 0.3  # flow gradient (px/px) where confidence falls to 1/e (0: ignore)
    # tolerance = tau_noise * median warp error, within [tau_min, tau_max]: the tight tau_min
    # on clean clips, a loose one where coding noise is everywhere (a still photo at CRF 35)
    tau_noise: float = 6.0
    min_flow_side: int = 128  # flow is computed on the LR upscaled to at least this short side
    # the reconstruction check: what the blend brought back down (bicubic) fails to explain of
    # the input is added back to its low band (back-projection), less recon_shrink times the
    # frame's median residual (soft threshold: averaged coding noise stays averaged)
    recon_project: bool = True
    recon_shrink: float = 3.0  # 2.0 put cars CRF 35 blockiness above bicubic's (README)
    # where the input moves by recon_moving LR px (1 - 1/e; 0: off) the whole residual
    # goes back, unthresholded: the threshold is for coding noise on still areas (issue 14)
    recon_moving: float = 3.0
    # the residual taken against what per-frame SR brought down explains (SR's own residual
    # left out), so a frame the stage did not change is not changed by the check (inert)
    recon_to_sr: bool = field(default=False, metadata=INERT)
    # the same only where nothing was blended: SR's own residual taken out in proportion to the
    # current frame's share of the low band's weights (a frame nothing was blended into, as in a
    # flickering clip, stays SR; a blended one is still checked against the input)
    recon_to_sr_unblended: bool = True
    # during a fade (mean luma of consecutive frames blended changing by more than this share
    # of it) the whole residual goes back: it is the neighbours' brightness, not noise (0: off)
    recon_fade: float = 0.05
    # during a fade only the residual's smooth part (Gaussian, this sigma in LR px) goes back
    # whole, the rest is soft-thresholded as on still areas: the fade is a smooth brightness
    # change, the coded input's block edges are not (issue 14: rotate-bunny CRF 35; 0: inert)
    recon_fade_sigma: float = field(default=0.0, metadata=INERT)
    # per-region tolerance (issue 14, measured, not the default): where the flow says the area
    # moves, tau_min and detail_tau fall to the tight values below; 0 (inert): one tolerance
    tight_tau_min: float = field(default=0.0, metadata=INERT)
    tight_detail_tau: float = field(default=0.0, metadata=INERT)
    moving_flow: float = field(default=1.0, metadata=INERT)  # motion (LR px): 1 - 1/e of tight
    moving_grad: float = field(default=0.0, metadata=INERT)  # flow gradient (px/px) counted too
    moving_radius: float = field(default=0.0, metadata=INERT)  # moving map dilated (LR px)
    # structured error (issue 14, measured): coding noise in the warp error averages out over a
    # window, a misaligned limb or edge does not; the local mean of the signed error over
    # struct_radius LR px around each pixel costs trust, 1/e at struct_tau levels (0: off)
    struct_tau: float = field(default=0.0, metadata=INERT)
    struct_radius: float = field(default=3.0, metadata=INERT)
    # occlusion from the neighbour's own motion (issue 14, measured): where the neighbour moves
    # by more than this frame near the warped position (LR px; its motion spread over
    # occlusion_margin times its magnitude), trust falls to 1/e at occlusion_flow (0: off)
    occlusion_flow: float = field(default=0.0, metadata=INERT)
    occlusion_margin: float = field(default=1.0, metadata=INERT)
    # a fade compensated (issue 14, measured): the neighbour is scaled by the ratio of the
    # frames' mean luma before it is compared and blended (off: inert)
    fade_gain: bool = field(default=False, metadata=INERT)
    fade_levels: float = 1.0  # mean luma change (0..255) where a neighbour's trust falls to 1/e
    cut_error: float = 20.0  # mean warp error (Y, 0..255) above which two frames are a cut
    cut_confidence: float = 0.25  # mean confidence below which two frames are a cut
    dis_preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    dis_finest_scale: int | None = 1  # None: the preset's
    dis_refine_iters: int | None = None  # None: the preset's


STEADY = Tuning(
    tau_min=20.0,
    detail_tau=5.0,
    detail_weight=3.0,
    tau_noise=2.0,
    recon_project=False,
    recon_moving=0.0,
    recon_to_sr_unblended=False,
    recon_fade=0.0,
)
"""The default before issue 14's fix: loose warp tolerances, no reconstruction check. Steadier
(warping error -29% against per-frame SR over the fast-motion benchmark, the default -16%) but
it smears what moves fast and changes shape (articulated limbs -1.5 dB inside the motion mask,
fire2 lossless -1.1 dB, bbb's fade -0.7 dB). Kept for the benchmarks' comparison."""

FAITHFUL = dataclasses.replace(STEADY, tau_min=8.0, detail_tau=2.0, recon_project=True)
"""Issue 14's first fidelity-first tuning: tight tolerances and the thresholded reconstruction
check everywhere; a noisy still photo at CRF 35 all-intra kept 0.73 of per-frame SR's
frame-to-frame change (the default: under 0.5). The default adds the noise-adaptive tolerance
and puts the residual back where the input moves, fades, or nothing was blended."""


def tuning_digest(tuning: Tuning | None = None) -> str:
    """A short hash of the stabiliser's knobs (default: this version's): a resumable job
    records it, so segments blended by two different tunings never end up in one output."""
    t, default = tuning or Tuning(), Tuning()
    kept = [
        f"{f.name}={getattr(t, f.name)!r}"
        for f in fields(t)
        if not (f.metadata.get("inert") and getattr(t, f.name) == getattr(default, f.name))
    ]  # the dataclass's repr, without inert knobs at their defaults
    return hashlib.sha256(f"Tuning({', '.join(kept)})".encode()).hexdigest()[:16]
