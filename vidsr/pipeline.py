"""probe -> decode -> model -> (post stages) -> encode + mux, with decode and encode in threads.

The pipeline owns threads, queues, progress and cancellation. Decoding runs in one thread and
hands batches of frames on through a bounded queue; the model runs in the calling thread; encoding
and muxing run in another thread. Frames keep their pts from decoder to muxer; every frame that is
decoded is encoded exactly once, in order, or the run fails.

A run covers one time window of the input (the whole file by default), so later work can run it on
one keyframe-delimited segment at a time. A stage between the model and the encoder (the temporal
stabiliser) plugs in through :class:`PostStage`.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import torch

from vidsr.config import MIN_TILE, UpscaleOptions
from vidsr.errors import CancelledError, InvalidOptionError, Terminated, VidsrError
from vidsr.media.containers import check_holds
from vidsr.media.deblock import deblock_decision
from vidsr.media.decode import VideoDecoder
from vidsr.media.encode import EncodeSettings, VideoWriter
from vidsr.media.encoders import choose_encoder
from vidsr.media.formats import output_pix_fmt
from vidsr.media.images import first_frame_number, image_pix_fmt, input_spec, is_pattern
from vidsr.media.probe import probe
from vidsr.media.rawvideo import name_disagrees, uncompressed_output
from vidsr.models import Upscaler, auto_tile_size, load_model
from vidsr.paths import OutputTarget, check_paths, default_output_path, remove_dead_temporaries
from vidsr.plan import output_geometry
from vidsr.post_stage import PostStage, StageFeed
from vidsr.process import status_kb
from vidsr.reuse.regions import RegionReuse, ReuseCounters, held_bytes, region_reuse
from vidsr.tensors import planes_to_rgb, rgb_to_planes
from vidsr.types import MediaInfo, PlanarFrame, RunState, Window

log = logging.getLogger(__name__)

_DONE = object()


MEMORY_RESERVE_FIXED = 64 << 20
MEMORY_RESERVE_SHARE = 0.08
"""--max-memory keeps this much (64 MB + 8% of the limit) for what the plan cannot count."""


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
        self._turns = 0

    @property
    def upscaler(self) -> Upscaler:
        """The model, loaded on first use."""
        if self._upscaler is None:
            self._upscaler = load_model_for(self.options)
        return self._upscaler

    def cancel(self) -> None:
        """Ask the run to stop as soon as possible."""
        self._cancel.set()

    def window(self) -> Window:
        """The time window the options select."""
        o = self.options
        end = None if o.duration is None else o.start + o.duration
        return Window(o.start, end)

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
        info = probe(input_path, self.options.fps)
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
        self.stats = RunStats(state=RunState.RUNNING, frames_total=self._estimate_frames(info))
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

    def _estimate_frames(self, info: MediaInfo) -> int:
        v = info.video
        total = v.frames or (
            round((v.duration_s or 0) * float(v.average_rate)) if v.average_rate else 0
        )
        if self.options.duration is not None and v.average_rate:
            total = min(total or 10**9, round(self.options.duration * float(v.average_rate)))
        elif self.options.start and v.average_rate and total:
            total = max(0, total - int(self.options.start * float(v.average_rate)))
        return total

    def _plan_memory(self, upscaler: Upscaler, info: MediaInfo, height: int, width: int) -> int:
        """Batch size, and tiles for the model, that keep the process under ``max_memory``.

        Budget = limit - what the process already holds - a reserve (allocator slack, encoder
        and decoder state, thread stacks) - per-frame buffers (decoded and encoded planes in
        the queues, float RGB batches and colour-conversion temporaries at the output size,
        what ``--reuse`` keeps) - what the post stage (temporal) holds. What is left bounds
        one model call; if a whole frame does not fit, the model runs tile by tile. Returns the
        batch size to use.
        """
        o = self.options
        if o.max_memory is None or upscaler.device.type != "cpu":
            return o.batch_on(upscaler.device.type)
        used = current_rss()
        lr_px, hr_px = info.video.height * info.video.width, height * width
        # float RGB out of the model (+ resize), one batch queued for and one in the post
        # thread, planes; conversions go by bands
        per_frame = 52 * hr_px + 16 * lr_px
        queued = 3 * 2 * hr_px + 3 * 2 * lr_px  # bounded queues of 8/16-bit planes
        if reuse_for(o, upscaler) is not None:  # --reuse keeps an output and its references
            queued += held_bytes(lr_px, hr_px)
        reserve = MEMORY_RESERVE_FIXED + int(MEMORY_RESERVE_SHARE * o.max_memory)
        free = o.max_memory - used - queued - reserve

        def held(batch: int) -> int:  # by the post stage
            return self.post_stage.bytes_per_pixel(batch) * hr_px if self.post_stage else 0

        def need(batch: int) -> int:
            return batch * per_frame + held(batch)

        batch = o.batch_on(upscaler.device.type)
        while batch > 1 and need(batch) > free * 0.5:
            batch -= 1
        model_budget = free - need(batch)
        if model_budget <= 0:
            stage_mb = held(batch) >> 20
            hint = (
                f"; the temporal stage alone needs {stage_mb}M (--temporal off)" if stage_mb else ""
            )
            smallest = upscaler.bytes_per_pixel() * (MIN_TILE + 2 * upscaler.tile_pad) ** 2
            fits = (used + queued + need(1) + MEMORY_RESERVE_FIXED + smallest) / (
                1 - MEMORY_RESERVE_SHARE
            )
            fits_mb = -(-int(fits) // (64 << 20)) * 64  # rounded up to 64M
            raise InvalidOptionError(
                f"--max-memory {o.max_memory / 2**20:.0f}M is too small for {width}x{height} "
                f"frames (the process already uses {used / 2**20:.0f}M{hint}); about "
                f"--max-memory {fits_mb}M would fit"
            )
        tile = auto_tile_size(
            info.video.height,
            info.video.width,
            budget_bytes=int(model_budget),
            bytes_per_pixel=upscaler.bytes_per_pixel(),
            pad=upscaler.tile_pad,
            batch=batch,
        )
        if tile and (upscaler.tile == 0 or upscaler.tile > tile):
            upscaler.tile = tile
        log.info(
            "memory plan: batch %d, tile %s (process %dM, frames and stages %dM, model %dM)",
            batch, upscaler.tile or "off", used >> 20, (need(batch) + queued) >> 20,
            model_budget >> 20,
        )  # fmt: skip
        return batch

    def _encode_settings(
        self,
        target: OutputTarget,
        in_layout,
        info: MediaInfo,
        window: Window,
        encode_for: str | None = None,
    ) -> tuple[str, EncodeSettings]:
        """Where to open the output and how to encode it (video, or images for sequences)."""
        o = self.options
        if target.images:
            single = not target.folder and not is_pattern(target.final)
            spec, encoder = target.image_output(1 if single else self.stats.frames_total)
            pix_fmt = o.pix_fmt or image_pix_fmt(encoder, in_layout.bit_depth)
            muxer_options = dict(spec.options)
            first = None if single else first_frame_number(info.path)
            if first is not None:  # keep the input's frame numbers (editors match by them)
                rate = float(info.video.average_rate or 25)
                skipped = math.ceil(window.start * rate - 1e-6) if window.start else 0
                muxer_options["start_number"] = str(first + skipped)
            settings = EncodeSettings(
                codec=encoder,
                pix_fmt=pix_fmt,
                container_format=spec.format,
                container_options=muxer_options,
            )
            return spec.url, settings
        raw = uncompressed_output(target.final)
        if raw is not None:  # .yuv/.y4m: uncompressed frames, nothing else
            muxer, encoder, muxer_options = raw
            pix_fmt = output_pix_fmt(encoder, in_layout, o.pix_fmt)
            settings = EncodeSettings(
                codec=encoder,
                pix_fmt=pix_fmt,
                container_format=muxer,
                container_options=muxer_options,
                bare_frames=True,
            )
            self._warn_uncompressed(target.final, info)
            return target.tmp, settings
        final = encode_for or target.final
        codec = choose_encoder(o.codec, final, in_layout.bit_depth)
        check_holds(final, codec)
        pix_fmt = output_pix_fmt(codec, in_layout, o.pix_fmt)
        return target.tmp, EncodeSettings(codec, o.crf, o.preset, pix_fmt)

    def _warn_uncompressed(self, path: str, info: MediaInfo) -> None:
        """Say what an uncompressed output leaves out (other streams, the rotation tag,
        variable frame timing)."""
        kinds = sorted({s.kind for s in info.others})
        if kinds:
            log.warning("%s holds video only: the input's %s left out", path, " and ".join(kinds))
        if info.video.variable_rate:
            log.warning(
                "%s has no timestamps: its frames are numbered at the average rate (%.3f fps), "
                "so the input's variable frame timing is not kept",
                path, float(info.video.average_rate or 25),
            )  # fmt: skip
        if info.video.rotation and not self.options.apply_rotation:
            log.warning(
                "%s cannot carry the rotation tag (%d degrees): frames are written as stored "
                "(--apply-rotation turns them upright)",
                path, info.video.rotation,
            )  # fmt: skip

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
        o = self.options
        decoder = make_decoder(info, window, o)
        in_layout = decoder.layout
        url, settings = self._encode_settings(target, in_layout, info, window, encode_for)
        geometry = output_geometry(
            info,
            upscaler,
            settings.pix_fmt,
            apply_rotation=o.apply_rotation,
            rgb_planes=target.images,
        )
        self._turns = geometry.turns
        settings = replace(settings, keep_rotation=not self._turns)
        out_layout, height, width = geometry.layout, geometry.height, geometry.width
        why = name_disagrees(target.final, width, height, settings.pix_fmt)  # raw output only
        if why:
            log.warning("%s", why)
        batch_size = self._plan_memory(upscaler, info, height, width)
        writer = VideoWriter(
            url, info, width, height, settings, window, decoder.time_base, copy_streams, tags
        )
        color = info.video.color
        in_q: queue.Queue = queue.Queue(maxsize=3)
        post_q: queue.Queue = queue.Queue(maxsize=1)
        out_q: queue.Queue = queue.Queue(maxsize=3 * batch_size)

        def put(q: queue.Queue, item) -> bool:
            while not self._cancel.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def decode() -> None:
            batch: list[PlanarFrame] = []
            for frame in decoder.frames():
                batch.append(frame)
                self.stats.frames_decoded += not frame.warmup
                if len(batch) == batch_size:
                    if not put(in_q, batch):
                        return
                    batch = []
            if batch and not put(in_q, batch):
                return
            put(in_q, _DONE)

        def get(q: queue.Queue):
            while not self._cancel.is_set():
                try:
                    return q.get(timeout=0.1)
                except queue.Empty:
                    continue
            raise CancelledError("cancelled; no output written")

        def post() -> None:
            self._post_loop(post_q, out_q, get, put, color, out_layout, (height, width))

        def encode() -> None:
            while (item := get(out_q)) is not _DONE:
                writer.write(item)
                self.stats.frames_encoded += 1

        workers = [
            _Worker(decode, "vidsr-decode", self._cancel),
            _Worker(post, "vidsr-post", self._cancel),
            _Worker(encode, "vidsr-encode", self._cancel),
        ]
        for worker in workers:
            worker.start()
        ok = False
        try:
            self._model_loop(in_q, post_q, put, upscaler, color, in_layout, workers)
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

    def _model_loop(self, in_q, post_q, put, upscaler, color, in_layout, workers) -> None:
        """Decoded batches -> RGB -> model -> the post thread, until the decoder is done."""
        decode_thread = workers[0]
        model = reuse_for(self.options, upscaler) or upscaler  # fresh state: this run only
        if isinstance(model, RegionReuse):
            self.stats.reuse = model.counters
        while True:
            _raise_first_error(workers)
            if self._cancel.is_set():
                raise CancelledError("cancelled; no output written")
            try:
                batch = in_q.get(timeout=0.1)
            except queue.Empty:
                if not decode_thread.is_alive() and in_q.empty():
                    _raise_first_error(workers)
                    raise VidsrError("decoder stopped without finishing") from None
                continue
            if batch is _DONE:
                break
            started = time.perf_counter()
            lr = planes_to_rgb(batch, in_layout, color, upscaler.device).clamp_(0, 1)
            sr = model(lr)
            self.stats.model_seconds += time.perf_counter() - started
            meta = [(f.pts, f.warmup) for f in batch]
            if not put(post_q, (lr, sr, meta, batch[0].time_base)):
                break
        if not put(post_q, _DONE):
            _raise_first_error(workers)
            raise CancelledError("cancelled; no output written")

    def _post_loop(self, post_q, out_q, get, put, color, layout, size) -> None:
        """Model output -> post stage (temporal) -> planes for the encoder, in the post thread,
        so the stage and the colour conversion overlap with the model."""
        feed: StageFeed[tuple[int, bool]] = StageFeed(self.post_stage)  # (pts, warmup) a frame
        time_base = None
        done = 0
        while (item := get(post_q)) is not _DONE:
            lr, sr, meta, time_base = item
            started = time.perf_counter()
            sr, ready = feed.push(lr, sr, meta)
            if self.post_stage is not None:
                self.stats.post_seconds += time.perf_counter() - started
            done += self._emit(sr, ready, time_base, layout, color, size, out_q, put)
            if self.progress:
                self.progress(done, self.stats.frames_total)
        tail, ready = feed.finish()  # every frame back, or an error
        if self.post_stage is not None:
            done += self._emit(tail, ready, time_base, layout, color, size, out_q, put)
            if self.progress:
                self.progress(done, self.stats.frames_total)
        if not put(out_q, _DONE):
            raise CancelledError("cancelled; no output written")

    def _emit(self, sr, ready, time_base, layout, color, size, out_q, put) -> int:
        """Queue the finished frames ``sr`` (``ready``: their (pts, warmup)) for encoding,
        dropping pre-roll frames."""
        if sr.shape[0] == 0:
            return 0
        height, width = size
        if self._turns:  # --apply-rotation: turn the pictures upright (counter-clockwise turns)
            sr = torch.rot90(sr, self._turns, dims=(2, 3))
        keep = [i for i, (_, warmup) in enumerate(ready) if not warmup]
        if not keep:
            return 0
        sr = sr[keep, :, :height, :width]
        pts = [ready[i][0] for i in keep]
        for frame in rgb_to_planes(sr, pts, time_base, layout, color):
            if not put(out_q, frame):
                raise CancelledError("cancelled; no output written")
        return len(pts)


def make_decoder(info: MediaInfo, window: Window, options: UpscaleOptions) -> VideoDecoder:
    """The decoder a run uses: rate override, deinterlacing and deblocking from the options."""
    from vidsr.strengths import parse_deblock

    strength = parse_deblock(options.deblock)
    return VideoDecoder(
        info,
        window,
        fps=options.fps,
        deinterlace=options.deinterlace,
        deblock=deblock_decision if strength is None else strength,
    )


def load_model_for(options: UpscaleOptions) -> Upscaler:
    """The model ``options`` name, loaded as they say (device, precision, tile, scale, compile)."""
    return load_model(
        options.model,
        device=options.device,
        precision=options.precision,
        tile=options.tile,
        scale=options.scale,
        compile=options.compile,
    )


def reuse_for(options: UpscaleOptions, upscaler: Upscaler) -> RegionReuse | None:
    """The region reuse ``options.reuse`` asks for (fresh, no kept output), or None when it is
    off or does not apply to this model (see :func:`vidsr.reuse.regions.supports_reuse`)."""
    return region_reuse(upscaler, options.reuse)


def temporal_stage(options: UpscaleOptions, upscaler: Upscaler) -> PostStage | None:
    """The temporal stabiliser the options ask for, or None when it is off."""
    from vidsr.strengths import resolve_level, temporal_wanted
    from vidsr.temporal import TemporalStabilizer

    if not temporal_wanted(options.temporal, upscaler.classical):
        return None
    level = resolve_level(options.temporal, upscaler.classical)
    return TemporalStabilizer(level, lookahead=options.lookahead, device=upscaler.device)


def current_rss() -> int:
    """Resident memory of this process in bytes (0 where /proc is missing)."""
    return (status_kb("VmRSS") or 0) * 1024


def upscale(input_path: str, output_path: str | None = None, **options) -> RunStats:
    """Upscale a video from Python: ``vidsr.upscale("in.mp4", "out.mp4", scale=2)``.

    Keyword arguments are the fields of :class:`UpscaleOptions`.
    """
    return Pipeline(UpscaleOptions(**options)).run(input_path, output_path)
