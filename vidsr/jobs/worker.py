"""Encode one segment: the unit of work every backend (in-process, processes, Ray) runs.

A :class:`SegmentTask` is plain picklable data, so it crosses process and machine boundaries; the
worker builds its own :class:`~vidsr.pipeline.Pipeline` (model and temporal stage) from the
options and keeps it for the next task it gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from vidsr.config import UpscaleOptions
from vidsr.media.concat import segment_file_info
from vidsr.pipeline import Pipeline
from vidsr.types import Window


@dataclass(frozen=True)
class SegmentTask:
    """Encode ``window`` of ``input_path`` into ``output_path`` (video only, input's pts)."""

    index: int
    input_path: str
    output_path: str
    options: UpscaleOptions
    window: Window
    time_base: Fraction  # the input video's, for the pts the result reports
    key: str = ""  # which job it belongs to, when segments of many jobs run together
    final_output: str | None = None  # the job's output: its container picks the encoder
    tags: tuple[tuple[str, str], ...] = ()  # container tags of the segment (its job's digest)


@dataclass(frozen=True)
class SegmentDone:
    """What a finished segment file holds (counted from the file, not from the run)."""

    index: int
    frames: int
    pts_first: int
    pts_last: int
    seconds: float
    key: str = ""


def make_pipeline(
    options: UpscaleOptions, progress: Callable[[int, int], None] | None = None
) -> Pipeline:
    """The pipeline a job runs (it builds the temporal stabiliser the options ask for)."""
    return Pipeline(options, progress=progress)


def run_segment(task: SegmentTask, pipeline: Pipeline | None = None) -> SegmentDone:
    """Run ``task`` (atomically: the file appears only when finished) and describe the file."""
    pipeline = pipeline or make_pipeline(task.options)
    started = time.perf_counter()
    pipeline.run(
        task.input_path,
        task.output_path,
        window=task.window,
        copy_streams=False,
        encode_for=task.final_output,
        tags=dict(task.tags),
    )
    info = segment_file_info(task.output_path, task.time_base)
    return SegmentDone(
        index=task.index,
        frames=info.frames,
        pts_first=info.pts_first,
        pts_last=info.pts_last,
        seconds=time.perf_counter() - started,
        key=task.key,
    )


_PIPELINE: Pipeline | None = None


def run_segment_cached(task: SegmentTask) -> SegmentDone:
    """:func:`run_segment` with one pipeline kept per worker process (the model loads once)."""
    global _PIPELINE
    if _PIPELINE is None or _PIPELINE.options != task.options:
        _PIPELINE = make_pipeline(task.options)
    return run_segment(task, _PIPELINE)
