"""The model lane of a network that reads neighbouring frames (``MultiFrameSRVGG``,
``BackProjectSRVGG``).

Each frame goes to the network with the frames at :func:`~vidsr.temporal.align.neighbour_offsets`
around it and their motion both ways with its trust
(:class:`~vidsr.temporal.align.NeighbourViews` from
:class:`~vidsr.temporal.align.NeighbourAligner`, the motion the training sequences were aligned
with; the architecture's ``network_input`` takes what it reads), so a frame comes out ``lag`` = R
frames after it came in. A neighbour before the first frame or after the last one of the sequence
(a run, a job segment with its pre- and post-roll) is missing: it enters as the current frame with
trust 0 and no motion, as a neighbour across a scene cut enters at trust 0. So a segment that
decodes R frames on each side of itself gives its frames exactly the inputs a run over the whole
video gives them.
"""

from __future__ import annotations

import torch

from vidsr.errors import UnsupportedModelError
from vidsr.models import Upscaler
from vidsr.temporal.align import NeighbourAligner, Pair, align_pair, neighbour_offsets, views_of


def held_bytes(neighbours: int, lr_px: int) -> int:
    """What a :class:`NeighbourModel` keeps between calls at most: the 2R + 1 input frames its
    frames still need (float RGB at the input size; the batch's stacked input is the
    architecture's ``bytes_per_pixel``)."""
    return 12 * (neighbours + 1) * lr_px


class NeighbourModel:
    """An :class:`~vidsr.models.Upscaler` whose network reads K aligned neighbours, fed
    consecutive frames of one sequence (the :class:`~vidsr.pipeline.model_lane.FrameModel`
    interface)."""

    def __init__(self, upscaler: Upscaler, aligner: NeighbourAligner | None = None) -> None:
        k = upscaler.info.neighbours
        if k == 0:
            raise UnsupportedModelError(f"{upscaler.name} reads no neighbouring frames")
        self.upscaler = upscaler
        self.offsets = neighbour_offsets(k)
        self.lag = max(self.offsets)
        self._aligner = aligner or NeighbourAligner()
        self._frames: list[torch.Tensor] = []  # (3, h, w) as they came, from index _first
        self._cpu: list[torch.Tensor] = []  # the same as float32 on the CPU (the aligner's)
        self._first = 0  # sequence index of _frames[0]
        self._next = 0  # sequence index of the next frame to answer
        # pairs (a aligned onto b, b onto a) aligned for frame a, kept by (b, a) for frame b,
        # which reads the same pair the other way round: each is computed once
        self._pairs: dict[tuple[int, int], Pair] = {}

    def reset(self) -> None:
        """Forget the frames held (a new, unrelated sequence follows)."""
        self._frames, self._cpu, self._first, self._next, self._pairs = [], [], 0, 0, {}

    def process(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch (N, 3, h, w) in; (inputs, outputs) of every frame whose later neighbours
        have all come, in order."""
        self._frames.extend(lr.unbind(0))
        self._cpu.extend(lr.detach().to("cpu", torch.float32).unbind(0))  # copied once
        end = self._first + len(self._frames)
        return self._answer(range(self._next, end - self.lag))

    def flush(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, outputs) of the frames still held, their missing later neighbours at
        trust 0."""
        out = self._answer(range(self._next, self._first + len(self._frames)))
        self.reset()
        return out

    def _frame(self, index: int) -> torch.Tensor | None:
        """The CPU copy of the frame at sequence ``index``, or None outside the sequence."""
        i = index - self._first
        return self._cpu[i] if 0 <= i < len(self._cpu) else None

    def _answer(self, indices: range) -> tuple[torch.Tensor, torch.Tensor]:
        if not len(indices):
            return torch.empty(0), torch.empty(0)
        arch = self.upscaler.info.architecture
        current = torch.stack([self._frames[t - self._first] for t in indices])
        inputs = []
        for t in indices:
            cpu = self._cpu[t - self._first]
            others = [self._frame(t + d) for d in self.offsets]
            pairs: list[Pair | None] = []
            for d, other in zip(self.offsets, others, strict=True):
                if other is None:
                    pairs.append(None)
                    continue
                pair = self._pairs.pop((t, t + d), None)  # a frame before this one aligned it
                if pair is None:
                    pair = align_pair(self._aligner, cpu, other)
                    if d > 0:  # the later frame will read the same pair the other way round
                        self._pairs[(t + d, t)] = (pair[1], pair[0])
                pairs.append(pair)
            views = views_of(cpu, others, pairs)
            inputs.append(arch.network_input(cpu[None], views)[0])
        sr = self.upscaler(torch.stack(inputs))
        self._next = indices.stop
        drop = max(0, self._next - self.lag - self._first)  # frames no later one reads
        del self._frames[:drop], self._cpu[:drop]
        self._first += drop
        return current, sr
