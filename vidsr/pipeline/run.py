"""probe -> decode -> model -> (post stages) -> encode + mux, with decode and encode in threads.

The pipeline owns threads, queues, progress and cancellation. Decoding runs in one thread and
hands batches of frames on through a bounded queue; the model runs in the calling thread; encoding
and muxing run in another thread. Frames keep their pts from decoder to muxer; every frame that is
decoded is encoded exactly once, in order, or the run fails.

A run covers one time window of the input (the whole file by default), so later work can run it on
one keyframe-delimited segment at a time. A stage between the model and the encoder (the temporal
stabiliser) plugs in through :class:`PostStage`. What a run will do (encoder, output frames,
memory plan) is decided first, by :func:`vidsr.pipeline.plan.plan_run`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from vidsr.config import UpscaleOptions
from vidsr.errors import CancelledError, InvalidOptionError, Terminated, VidsrError
from vidsr.media.decode import VideoDecoder
from vidsr.media.encode import VideoWriter
from vidsr.media.images import input_spec, is_pattern
from vidsr.media.probe import probe
from vidsr.models import Upscaler
from vidsr.paths import OutputTarget, check_paths, default_output_path, remove_dead_temporaries
from vidsr.pipeline.model_lane import ModelFeed
from vidsr.pipeline.plan import OutputGeometry, estimate_frames, plan_run
from vidsr.pipeline.stages import (
    frame_model,
    load_model_for,
    make_decoder,
    reuse_for,
    temporal_stage,
)
from vidsr.post_stage import PostStage, StageFeed
from vidsr.reuse.regions import ReuseCounters
from vidsr.tensors import planes_to_rgb, rgb_to_planes
from vidsr.types import ColorInfo, MediaInfo, PlanarFrame, PlaneLayout, RunState, Window

log = logging.getLogger(__name__)

_DONE = object()


def _cancelled() -> CancelledError:
    return CancelledError("cancelled; no output written")


class _Lanes:
    """The bounded queues between the threads; waiting on one gives up when the run is
    cancelled (or another thread failed, which cancels it)."""

    def __init__(self, cancel: threading.Event, batch_size: int):
        self._cancel = cancel
        self.decoded: queue.Queue = queue.Queue(maxsize=3)  # batches of frames for the model
        self.upscaled: queue.Queue = queue.Queue(maxsize=1)  # model output for the post thread
        self.planes: queue.Queue = queue.Queue(maxsize=3 * batch_size)  # frames to encode

    def put(self, lane: queue.Queue, item: Any) -> bool:
        """Hand ``item`` on; False when the run was cancelled first."""
        while not self._cancel.is_set():
            try:
                lane.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, lane: queue.Queue) -> Any:
        """The next item; CancelledError when the run is cancelled first."""
        while not self._cancel.is_set():
            try:
                return lane.get(timeout=0.1)
            except queue.Empty:
                continue
        raise _cancelled()


@dataclass
class RunStats:
    """Counters of a run, readable while it runs (``Pipeline.stats``)."""

    state: RunState = RunState.IDLE
    frames_total: int = 0
    frames_decoded: int = 0
    frames_encoded: int = 0
    model_seconds: float = 0.0
    post_seconds: float = 0.0  # the post stage (temporal), in its own thread
    wall_seconds: float = 0.0
    reuse: ReuseCounters | None = None  # what --reuse skipped (None: reuse off)
    model_lag: int = 0  # frames the model's output lags its input (a network reading neighbours)
    output: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames encoded per wall-clock second."""
        return self.frames_encoded / self.wall_seconds if self.wall_seconds else 0.0


class _Worker(threading.Thread):
    """A thread that remembers the exception that ended it."""

    def __init__(self, target: Callable[[], None], name: str, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self._stop_all = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as err:  # handed to the main thread, which re-raises it
            self.error = err
            self._stop_all.set()  # the other threads stop waiting on this one


def _failed(workers: list[_Worker]) -> bool:
    return any(w.error is not None for w in workers)


def _raise_first_error(workers: list[_Worker]) -> None:
    """Re-raise, in the calling thread, the error that ended a worker: the cause, not the
    CancelledError that the other threads then stopped with (unless that is all there is)."""
    errors = [w.error for w in workers if w.error is not None]
    causes = [e for e in errors if not isinstance(e, CancelledError)]
    if errors:
        raise (causes or errors)[0]


class Pipeline:
    """Upscale one video: ``Pipeline(options).run(input, output)``.

    ``progress`` is called as ``progress(frames_done, frames_total)`` from the post thread.
    :meth:`cancel` may be called from any thread; the run then stops, deletes its temporary file
    and raises :class:`CancelledError`.
    """

    def __init__(
        self,
        options: UpscaleOptions = UpscaleOptions(),
        progress: Callable[[int, int], None] | None = None,
        upscaler: Upscaler | None = None,
        post_stage: PostStage | None = None,
    ):
        self.options = options
        self.progress = progress
        self._upscaler = upscaler
        self.post_stage = post_stage
        self.stats = RunStats()
        self._cancel = threading.Event()

    @property
    def upscaler(self) -> Upscaler:
        """The model, loaded on first use."""
        if self._upscaler is None:
            self._upscaler = load_model_for(self.options.model)
        return self._upscaler

    def cancel(self) -> None:
        """Ask the run to stop as soon as possible."""
        self._cancel.set()

    def window(self) -> Window:
        """The time window the options select."""
        return self.options.window.window()

    def run(
        self,
        input_path: str,
        output_path: str | None = None,
        *,
        window: Window | None = None,
        copy_streams: bool = True,
        encode_for: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunStats:
        """Upscale ``input_path`` into ``output_path`` (default: beside the input).

        ``window`` overrides the options' ``start``/``duration`` (a job runs one segment at a
        time this way); ``copy_streams=False`` writes the video stream alone; ``encode_for``
        names the file whose container picks the encoder (a job's output, for its segments);
        ``tags`` are written into the output container's metadata (a segment's job digest).
        """
        info = probe(input_path, self.options.window.fps)
        window = window or self.window()
        upscaler = self.upscaler
        if self.post_stage is None:
            self.post_stage = temporal_stage(self.options, upscaler)
        else:
            self.post_stage.reset()  # each run (segment) starts with no history
        output_path = output_path or default_output_path(input_path, upscaler.scale)
        check_paths(input_path, output_path)
        remove_dead_temporaries(output_path)  # of runs of this output killed by SIGKILL
        target = OutputTarget.for_path(output_path)
        single_image_in = input_spec(input_path).images and os.path.isfile(input_path)
        if (
            target.images
            and not target.folder
            and not is_pattern(output_path)
            and not single_image_in
        ):
            raise InvalidOptionError(
                f"{output_path} is one image but the input is a video or sequence: give a folder "
                "(OUT/) or a pattern (OUT_%06d.png)"
            )
        self.stats = RunStats(
            state=RunState.RUNNING, frames_total=estimate_frames(info, self.options)
        )
        started = time.perf_counter()
        try:
            target.prepare()
            self._run(info, upscaler, target, window, copy_streams, encode_for, tags)
            target.commit()
        except BaseException as err:
            cancelled = isinstance(err, (CancelledError, KeyboardInterrupt))
            self.stats.state = RunState.CANCELLED if cancelled else RunState.FAILED
            target.discard()
            if isinstance(err, KeyboardInterrupt):
                how = "SIGTERM" if isinstance(err, Terminated) else "Ctrl-C"
                raise CancelledError(f"cancelled ({how}); no output written") from err
            raise
        self.stats.wall_seconds = time.perf_counter() - started
        self.stats.state = RunState.DONE
        self.stats.output = output_path
        return self.stats

    def _run(
        self,
        info: MediaInfo,
        upscaler: Upscaler,
        target: OutputTarget,
        window: Window,
        copy_streams: bool,
        encode_for: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Plan the run, then decode, upscale, post-process and encode in the threads."""
        decoder = make_decoder(info, window, self.options)
        plan = plan_run(
            info,
            upscaler,
            self.options,
            target,
            decoder.layout,
            window,
            frames_total=self.stats.frames_total,
            encode_for=encode_for,
            post_stage=self.post_stage,
        )
        for warning in plan.warnings:
            log.warning("%s", warning)
        plan.memory.apply_to(upscaler)
        geometry = plan.geometry
        writer = VideoWriter(
            plan.url,
            info,
            geometry.width,
            geometry.height,
            plan.settings,
            window,
            decoder.time_base,
            copy_streams,
            tags,
        )
        lanes = _Lanes(self._cancel, plan.batch_size)
        color = info.video.color
        workers = [
            _Worker(
                lambda: self._decode_loop(decoder, lanes, plan.batch_size),
                "vidsr-decode",
                self._cancel,
            ),
            _Worker(lambda: self._post_loop(lanes, color, geometry), "vidsr-post", self._cancel),
            _Worker(lambda: self._encode_loop(lanes, writer), "vidsr-encode", self._cancel),
        ]
        for worker in workers:
            worker.start()
        ok = False
        try:
            self._model_loop(lanes, upscaler, color, decoder.layout, workers)
            for worker in workers[1:]:
                while worker.is_alive() and not _failed(workers):
                    worker.join(timeout=0.1)
                _raise_first_error(workers)
            writer.close()
            ok = True
        finally:
            if not ok:
                self._cancel.set()
                for worker in workers:
                    worker.join(timeout=5)
                writer.abort()
        if self.stats.frames_encoded == 0:
            length = info.video.duration_s or info.duration_s
            told = f" (the video is {length:.2f} s long)" if length else ""
            raise VidsrError(f"no video frames in the selected window{told}")

    def _decode_loop(self, decoder: VideoDecoder, lanes: _Lanes, batch_size: int) -> None:
        """Decoded frames -> batches for the model, in the decode thread."""
        batch: list[PlanarFrame] = []
        for frame in decoder.frames():
            batch.append(frame)
            self.stats.frames_decoded += not frame.warmup
            if len(batch) == batch_size:
                if not lanes.put(lanes.decoded, batch):
                    return
                batch = []
        if batch and not lanes.put(lanes.decoded, batch):
            return
        lanes.put(lanes.decoded, _DONE)

    def _encode_loop(self, lanes: _Lanes, writer: VideoWriter) -> None:
        """Finished frames -> the encoder and muxer, in the encode thread."""
        while (item := lanes.get(lanes.planes)) is not _DONE:
            writer.write(item)
            self.stats.frames_encoded += 1

    def _model_loop(
        self,
        lanes: _Lanes,
        upscaler: Upscaler,
        color: ColorInfo,
        in_layout: PlaneLayout,
        workers: list[_Worker],
    ) -> None:
        """Decoded batches -> RGB -> model -> the post thread, until the decoder is done."""
        decode_thread = workers[0]
        reuse = reuse_for(self.options, upscaler)  # fresh state: this run only
        if reuse is not None:
            self.stats.reuse = reuse.counters
        lane = frame_model(upscaler, reuse)
        self.stats.model_lag = lane.lag
        if lane.lag:
            log.info("%s reads %d frames on each side: its output lags by %d", upscaler.name,
                     lane.lag, lane.lag)  # fmt: skip
        feed: ModelFeed[tuple[int, bool]] = ModelFeed(lane)
        time_base = None
        while True:
            _raise_first_error(workers)
            if self._cancel.is_set():
                raise _cancelled()
            try:
                batch = lanes.decoded.get(timeout=0.1)
            except queue.Empty:
                if not decode_thread.is_alive() and lanes.decoded.empty():
                    _raise_first_error(workers)
                    raise VidsrError("decoder stopped without finishing") from None
                continue
            if batch is _DONE:
                break
            started = time.perf_counter()
            lr = planes_to_rgb(batch, in_layout, color, upscaler.device).clamp_(0, 1)
            time_base = batch[0].time_base
            lr, sr, meta = feed.push(lr, [(f.pts, f.warmup) for f in batch])
            self.stats.model_seconds += time.perf_counter() - started
            if len(sr) and not lanes.put(lanes.upscaled, (lr, sr, meta, time_base)):
                break
        if not self._cancel.is_set():
            started = time.perf_counter()
            lr, sr, meta = feed.finish()  # frames a network reading neighbours still held
            self.stats.model_seconds += time.perf_counter() - started
            if len(sr) and not lanes.put(lanes.upscaled, (lr, sr, meta, time_base)):
                _raise_first_error(workers)
                raise _cancelled()
        if not lanes.put(lanes.upscaled, _DONE):
            _raise_first_error(workers)
            raise _cancelled()

    def _post_loop(self, lanes: _Lanes, color: ColorInfo, geometry: OutputGeometry) -> None:
        """Model output -> post stage (temporal) -> planes for the encoder, in the post thread,
        so the stage and the colour conversion overlap with the model."""
        feed: StageFeed[tuple[int, bool]] = StageFeed(self.post_stage)  # (pts, warmup) a frame
        time_base = None
        done = 0
        while (item := lanes.get(lanes.upscaled)) is not _DONE:
            lr, sr, meta, time_base = item
            started = time.perf_counter()
            sr, ready = feed.push(lr, sr, meta)
            if self.post_stage is not None:
                self.stats.post_seconds += time.perf_counter() - started
            done += self._emit(sr, ready, time_base, geometry, color, lanes)
            if self.progress:
                self.progress(done, self.stats.frames_total)
        tail, ready = feed.finish()  # every frame back, or an error
        if self.post_stage is not None:
            done += self._emit(tail, ready, time_base, geometry, color, lanes)
            if self.progress:
                self.progress(done, self.stats.frames_total)
        if not lanes.put(lanes.planes, _DONE):
            raise _cancelled()

    def _emit(
        self,
        sr: torch.Tensor,
        ready: list[tuple[int, bool]],
        time_base,
        geometry: OutputGeometry,
        color: ColorInfo,
        lanes: _Lanes,
    ) -> int:
        """Queue the finished frames ``sr`` (``ready``: their (pts, warmup)) for encoding,
        dropping pre-roll frames."""
        if sr.shape[0] == 0:
            return 0
        if geometry.turns:  # --apply-rotation: turn the pictures upright (counter-clockwise)
            sr = torch.rot90(sr, geometry.turns, dims=(2, 3))
        keep = [i for i, (_, warmup) in enumerate(ready) if not warmup]
        if not keep:
            return 0
        sr = sr[keep, :, : geometry.height, : geometry.width]
        pts = [ready[i][0] for i in keep]
        for frame in rgb_to_planes(sr, pts, time_base, geometry.layout, color):
            if not lanes.put(lanes.planes, frame):
                raise _cancelled()
        return len(pts)


def upscale(input_path: str, output_path: str | None = None, **options) -> RunStats:
    """Upscale a video from Python: ``vidsr.upscale("in.mp4", "out.mp4", scale=2)``.

    Keyword arguments are the flat keywords of :meth:`UpscaleOptions.of`.
    """
    return Pipeline(UpscaleOptions.of(**options)).run(input_path, output_path)
