"""The model lane of a network that reads neighbouring frames (``MultiFrameSRVGG``).

Each frame goes to the network with the frames at :func:`~vidsr.temporal.align.neighbour_offsets`
around it, warped onto it with their trust maps (:class:`~vidsr.temporal.align.NeighbourAligner`,
the motion the training sequences were aligned with), so a frame comes out ``lag`` = R frames
after it came in. A neighbour before the first frame or after the last one of the sequence (a run,
a job segment with its pre- and post-roll) is missing: it enters as the current frame with trust
0, as a neighbour across a scene cut does. So a segment that decodes R frames on each side of
itself gives its frames exactly the inputs a run over the whole video gives them.
"""

from __future__ import annotations

import numpy as np
import torch

from vidsr.errors import UnsupportedModelError
from vidsr.models import Upscaler
from vidsr.temporal.align import NeighbourAligner, neighbour_offsets


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
        # flows (a -> b, b -> a) of the pairs aligned so far, by sequence indices (a, b): the
        # frame b aligns a with the same two flows swapped, so each is computed once
        self._flows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        """Forget the frames held (a new, unrelated sequence follows)."""
        self._frames, self._cpu, self._first, self._next, self._flows = [], [], 0, 0, {}

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
            found = [(j, self._frame(t + d)) for j, d in enumerate(self.offsets)]
            present = [(j, f) for j, f in found if f is not None]
            aligned = cpu.expand(len(self.offsets), *cpu.shape).clone()
            trust = torch.zeros(len(self.offsets), 1, *cpu.shape[-2:])
            if present:
                pairs = [(t, t + self.offsets[j]) for j, _ in present]
                known = [self._flows.pop((b, a), None) for a, b in pairs]
                flows = [None if f is None else (f[1], f[0]) for f in known]
                got = self._aligner.align(cpu, torch.stack([f for _, f in present]), flows)
                for i, (j, _) in enumerate(present):
                    aligned[j], trust[j] = got.aligned[i], got.trust[i]
                    if pairs[i][1] > t:  # the later frame will align this one
                        self._flows[pairs[i]] = got.grid_flows[i]
            inputs.append(arch.network_input(cpu[None], aligned[None], trust[None])[0])
        sr = self.upscaler(torch.stack(inputs))
        self._next = indices.stop
        drop = max(0, self._next - self.lag - self._first)  # frames no later one reads
        del self._frames[:drop], self._cpu[:drop]
        self._first += drop
        return current, sr
