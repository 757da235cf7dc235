"""The model's lane of a run: batches of input frames in, upscaled frames out, in order.

A per-frame network answers each batch at once; a network that reads neighbouring frames
(:class:`~vidsr.pipeline.neighbours.NeighbourModel`) answers a frame only once the frames after
it have come (its ``lag``), and the rest at ``flush``. :class:`ModelFeed` keeps each frame's
metadata (pts, pre-roll) beside it either way, so the pipeline, ``vidsr bench`` and the video
evaluation pair frames and times the same way (as :class:`vidsr.post_stage.StageFeed` does for the
temporal stage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol

import torch

from vidsr.post_stage import Meta, MetaFifo

Upscale = Callable[[torch.Tensor], torch.Tensor]
"""(N, 3, h, w) RGB in [0, 1] -> (N, 3, H, W): an Upscaler, region reuse, or any callable."""


class FrameModel(Protocol):
    """Upscales consecutive frames of one sequence, perhaps some frames late."""

    lag: int
    """Frames a frame's output waits for after it came in (0: answered in the same call)."""

    def process(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch (N, 3, h, w) in; (inputs, outputs) of the frames ready so far, in order."""

    def flush(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, outputs) of every frame still held (end of the sequence)."""


class PerFrameModel:
    """A per-frame network (or region reuse): every batch answered at once."""

    lag = 0

    def __init__(self, upscale: Upscale) -> None:
        self.upscale = upscale

    def process(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``lr`` and its upscaled frames."""
        return lr, self.upscale(lr)

    def flush(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Nothing is ever held."""
        return torch.empty(0), torch.empty(0)


class ModelFeed(Generic[Meta]):
    """Feeds a :class:`FrameModel` batch by batch, each frame's metadata beside it;
    :meth:`finish` flushes and checks every frame came back."""

    def __init__(self, model: FrameModel) -> None:
        self.model = model
        self._fifo: MetaFifo[Meta] = MetaFifo()

    def push(
        self, lr: torch.Tensor, meta: Sequence[Meta] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[Meta | None]]:
        """One batch in; (inputs, outputs, metadata) of the frames ready so far."""
        self._fifo.add(meta, lr.shape[0])
        lr_out, sr = self.model.process(lr)
        return lr_out, sr, self._fifo.take(sr.shape[0])

    def finish(self) -> tuple[torch.Tensor, torch.Tensor, list[Meta | None]]:
        """(inputs, outputs, metadata) of the frames the model still held."""
        lr_out, sr = self.model.flush()
        ready = self._fifo.take(sr.shape[0])
        self._fifo.check_empty()
        return lr_out, sr, ready
