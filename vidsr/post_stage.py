"""A post stage (the temporal stabiliser) and the one way to feed it frames in batches.

A post stage takes the model's batches (``process(lr, sr)``) and may hold frames back (its
look-ahead), returning them from a later call or from ``flush()``; it keeps no timestamps.
:class:`StageFeed` keeps each frame's metadata (pts, whether it is pre-roll, ...) in a FIFO beside
the stage and hands every frame that comes out back with its own metadata, so the pipeline,
``vidsr bench``, the video evaluation and the benchmarks cannot pair frames and times differently.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

import torch

from vidsr.errors import VidsrError

Meta = TypeVar("Meta")


class PostStage(Protocol):
    """A stage after the model that may hold frames back (the temporal stabiliser)."""

    def process(self, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """Take a batch (input and model output); return the frames ready so far, in order."""

    def flush(self) -> torch.Tensor:
        """Return every frame still held back (end of the input)."""

    def reset(self) -> None:
        """Forget all state (a new, unrelated sequence follows)."""

    def bytes_per_pixel(self, batch: int = 1) -> int:
        """Host memory it holds per output pixel at most (the ``--max-memory`` plan)."""


class MetaFifo(Generic[Meta]):
    """Each frame's metadata in the order the frames went into a stage that may hold some
    back: what comes out takes the oldest first, and the end checks nothing was lost."""

    def __init__(self) -> None:
        self._pending: deque[Meta | None] = deque()

    def add(self, meta: Sequence[Meta] | None, count: int) -> None:
        """``count`` frames went in, with ``meta`` (one item per frame, or None)."""
        if meta is not None and len(meta) != count:
            raise ValueError(f"{len(meta)} metadata items for a batch of {count} frames")
        self._pending.extend(meta if meta is not None else [None] * count)

    def take(self, count: int) -> list[Meta | None]:
        """The metadata of the ``count`` frames that came out."""
        if count > len(self._pending):
            raise VidsrError(f"a stage returned {count} frames, {len(self._pending)} went in")
        return [self._pending.popleft() for _ in range(count)]

    def check_empty(self) -> None:
        """At the end of the input: VidsrError when a stage kept frames it never returned."""
        if self._pending:
            raise VidsrError(
                f"{len(self._pending)} frames were held back by a stage and never returned"
            )


class StageFeed(Generic[Meta]):
    """Feed ``stage`` batch by batch (or pass frames through when it is None), keeping each
    frame's metadata beside it; :meth:`finish` flushes and checks every frame came back."""

    def __init__(self, stage: PostStage | None) -> None:
        self.stage = stage
        self._fifo: MetaFifo[Meta] = MetaFifo()

    def push(
        self, lr: torch.Tensor, sr: torch.Tensor, meta: Sequence[Meta] | None = None
    ) -> tuple[torch.Tensor, list[Meta | None]]:
        """One batch in (``meta``: one item per frame, or None); the frames ready so far out,
        each with the metadata it went in with."""
        self._fifo.add(meta, sr.shape[0])
        out = sr if self.stage is None else self.stage.process(lr, sr)
        return out, self._fifo.take(out.shape[0])

    def finish(self) -> tuple[torch.Tensor, list[Meta | None]]:
        """The frames the stage still held (none without a stage), with their metadata."""
        tail = torch.empty(0) if self.stage is None else self.stage.flush()
        ready = self._fifo.take(tail.shape[0])
        self._fifo.check_empty()
        return tail, ready


def feed_all(stage: PostStage, lr: torch.Tensor, sr: torch.Tensor, batch: int) -> torch.Tensor:
    """A whole clip's model inputs and outputs through ``stage`` in batches of ``batch`` frames,
    as the pipeline feeds it; returns every frame, in order (benchmarks on cached SR frames)."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    feed: StageFeed[None] = StageFeed(stage)
    parts = [feed.push(lr[i : i + batch], sr[i : i + batch])[0] for i in range(0, len(lr), batch)]
    parts.append(feed.finish()[0])
    return torch.cat([p for p in parts if len(p)])
