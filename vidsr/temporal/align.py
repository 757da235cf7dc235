"""Neighbouring frames aligned to the current one, with trust maps, for multi-frame models.

Motion and trust are the temporal stage's (:mod:`vidsr.temporal.motion`): DIS optical flow on
the small input's luma (upscaled to the stage's flow grid), its forward-backward check, warp
error and motion-boundary falloff. Here they are brought back to the input's own grid: each
neighbour is warped onto the current frame bicubically in RGB, and its trust is the stage's low-
band confidence, zero where the warp leaves the frame or the pair is a cut.

torch, numpy and OpenCV only: this module never imports PyAV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vidsr.errors import InvalidOptionError
from vidsr.temporal.motion import Motion, flow_factor, luma_u8
from vidsr.temporal.tuning import Tuning


def neighbour_offsets(neighbours: int) -> list[int]:
    """Frame offsets of the ``neighbours`` (K) frames a multi-frame network reads, in the order
    of its input: the R = K / 2 frames before the current one, then the R after it."""
    if neighbours < 2 or neighbours % 2:
        raise InvalidOptionError(f"neighbours must be an even number >= 2, got {neighbours}")
    radius = neighbours // 2
    return [*range(-radius, 0), *range(1, radius + 1)]


@dataclass(frozen=True)
class Alignment:
    """Neighbours warped onto the current frame (all on the input's grid)."""

    aligned: torch.Tensor
    """(K, 3, h, w) float32 RGB."""
    trust: torch.Tensor
    """(K, 1, h, w) float32 in [0, 1]."""
    flow: np.ndarray
    """(K, h, w, 2) float32: pixel p of the current frame is at p + flow in neighbour k."""
    grid_flows: list[tuple[np.ndarray, np.ndarray]]
    """Per neighbour, the DIS flows on the flow grid from the current frame to it and back (a
    caller aligning the next frame onto this one passes them swapped, see :meth:`align`)."""


class NeighbourAligner:
    """Aligns neighbours to a current frame with the temporal stage's motion and trust."""

    def __init__(self, tuning: Tuning | None = None) -> None:
        self._motion = Motion(tuning or Tuning())

    def align(
        self,
        current: torch.Tensor,
        neighbours: torch.Tensor,
        flows: list[tuple[np.ndarray, np.ndarray] | None] | None = None,
    ) -> Alignment:
        """Warp ``neighbours`` (K, 3, h, w) RGB in [0, 1] onto ``current`` (3, h, w).

        ``flows``: per neighbour, its flows from ``current`` and back when already known (an
        earlier alignment's ``grid_flows`` with the two frames' roles swapped), or None.
        """
        if current.ndim != 3 or neighbours.ndim != 4 or current.shape != neighbours.shape[1:]:
            raise InvalidOptionError(
                f"expected current (3,h,w) and neighbours (K,3,h,w), got "
                f"{tuple(current.shape)} and {tuple(neighbours.shape)}"
            )
        motion = self._motion
        h, w = current.shape[-2:]
        factor = flow_factor(h, w, motion.tuning)
        frames = torch.cat([current[None], neighbours]).float().cpu()
        lumas = luma_u8(frames, factor)
        rgb = frames.permute(0, 2, 3, 1).numpy()
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        aligned, trust, fields, grid = [], [], [], []
        for k in range(1, len(frames)):
            known = flows[k - 1] if flows else None
            if known is None:
                known = (motion.flow(lumas[0], lumas[k]), motion.flow(lumas[k], lumas[0]))
            ahead, back = known
            grid.append(known)
            pair = motion.pair(lumas[0], lumas[k], ahead, back, factor)
            flow = cv2.resize(ahead, (w, h), interpolation=cv2.INTER_LINEAR) / factor
            mx, my = gx + flow[..., 0], gy + flow[..., 1]
            warped = cv2.remap(
                np.ascontiguousarray(rgb[k]), mx, my, cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REPLICATE,
            )  # fmt: skip
            conf = cv2.resize(pair.base, (w, h), interpolation=cv2.INTER_AREA)
            inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
            conf = np.where(inside, np.clip(conf, 0.0, 1.0), 0.0) * (not pair.cut)
            aligned.append(np.clip(warped, 0.0, 1.0))
            trust.append(conf.astype(np.float32))
            fields.append(flow.astype(np.float32))
        return Alignment(
            aligned=torch.from_numpy(np.stack(aligned)).permute(0, 3, 1, 2).contiguous(),
            trust=torch.from_numpy(np.stack(trust))[:, None].contiguous(),
            flow=np.stack(fields),
            grid_flows=grid,
        )


@dataclass(frozen=True)
class NeighbourViews:
    """K neighbours of N current frames with their motion both ways, all on the input's grid:
    what a multi-frame network reads (each architecture takes the parts it uses)."""

    frames: torch.Tensor
    """(N, K, 3, h, w) float32 RGB: the neighbours' own input frames."""
    aligned: torch.Tensor
    """(N, K, 3, h, w): the neighbours warped onto the current frame."""
    trust: torch.Tensor
    """(N, K, 1, h, w) in [0, 1]: trust in ``flow``, in the current frame."""
    flow: torch.Tensor
    """(N, K, 2, h, w): pixel p of the current frame is at p + flow in the neighbour."""
    back_flow: torch.Tensor
    """(N, K, 2, h, w): pixel q of the neighbour is at q + back_flow in the current frame."""
    back_trust: torch.Tensor
    """(N, K, 1, h, w) in [0, 1]: trust in ``back_flow``, in the neighbour's frame."""


Pair = tuple[Alignment, Alignment]
"""One neighbour aligned onto the current frame and the current frame onto it (one each)."""


def align_pair(aligner: NeighbourAligner, current: torch.Tensor, other: torch.Tensor) -> Pair:
    """``other`` (3, h, w) aligned onto ``current`` and ``current`` onto ``other``: two DIS
    flows for both ways."""
    there = aligner.align(current, other[None])
    ahead, back = there.grid_flows[0]
    here = aligner.align(other, current[None], [(back, ahead)])
    return there, here


def views_of(
    current: torch.Tensor, others: list[torch.Tensor | None], pairs: list[Pair | None]
) -> NeighbourViews:
    """:class:`NeighbourViews` (N = 1) of ``current`` (3, h, w) from each slot's neighbour frame
    and :func:`align_pair` result; a slot with None (no neighbour there: before the first frame,
    after the last) is the current frame itself at trust 0 and zero motion."""
    cpu = current.float().cpu()
    zero_flow, zero = torch.zeros(2, *cpu.shape[-2:]), torch.zeros(1, *cpu.shape[-2:])
    rows: list[list[torch.Tensor]] = []
    for other, pair in zip(others, pairs, strict=True):
        if other is None or pair is None:  # both None together: no frame there
            rows.append([cpu, cpu, zero, zero_flow, zero_flow, zero])
            continue
        there, here = pair
        rows.append(
            [
                other.float().cpu(),
                there.aligned[0],
                there.trust[0],
                torch.from_numpy(there.flow[0]).permute(2, 0, 1),
                torch.from_numpy(here.flow[0]).permute(2, 0, 1),
                here.trust[0],
            ]
        )
    channels = (3, 3, 1, 2, 2, 1)
    parts = [
        torch.stack([r[i] for r in rows])[None].contiguous()
        if rows
        else torch.zeros(1, 0, c, *cpu.shape[-2:])
        for i, c in enumerate(channels)
    ]
    return NeighbourViews(*parts)


def neighbour_views(
    current: torch.Tensor, others: torch.Tensor, aligner: NeighbourAligner | None = None
) -> NeighbourViews:
    """``others`` (K, 3, h, w) and their motion to and from ``current`` (3, h, w), RGB in
    [0, 1] (two DIS flows a neighbour): N = 1."""
    aligner = aligner or NeighbourAligner()
    return views_of(current, list(others), [align_pair(aligner, current, o) for o in others])
