"""Speed benchmark: the whole pipeline, each stage alone on the same frames, and a baseline.

:func:`run_bench` times, on one clip and with one loaded model,

* ``whole``: :class:`vidsr.pipeline.Pipeline` run to a temporary file (threads and queues on);
* each stage alone, one after another with nothing else running: ``decode``
  (:class:`VideoDecoder`), ``color`` (``planes_to_rgb`` + ``rgb_to_planes``), ``model``
  (:class:`Upscaler` on the same batches), ``temporal`` (only when the options turn it on) and
  ``encode`` (:class:`VideoWriter` fed the pre-made frames, streams copied as in a run);
* optionally the baseline: the same weights in fp32 through a plain loop in the style of
  Real-ESRGAN's ``inference_realesrgan_video.py`` -- one ffmpeg process decodes to raw BGR on a
  pipe, Python runs the model one frame at a time, another ffmpeg process encodes the raw BGR it
  is piped (libx264, ffmpeg's defaults). It needs the optional ``bench`` extra
  (``imageio-ffmpeg`` for the ffmpeg binary, ``ffmpeg-python`` to drive it); without them it is
  skipped with a reason.

Everything is returned as plain dicts (JSON-ready); nothing is printed. Each measurement has
wall seconds and CPU seconds (user + system, all threads; for the baseline its ffmpeg children
too): on a shared machine CPU time is the steadier figure. Peak memory is the process's
resident high-water mark (``VmHWM``), reset before each measurement through
``/proc/self/clear_refs`` where Linux allows it (else the process's lifetime peak).

OpenMP's idle threads spin by default; with decode and encode threads beside the model on few
cores that spinning takes their CPU. ``OMP_WAIT_POLICY=PASSIVE`` (set before torch is imported;
``scripts/bench.py`` does) avoids it; ``machine.omp_wait_policy`` records what the run used.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidsr.config import ModelOptions, UpscaleOptions
from vidsr.errors import InvalidOptionError, VidsrError
from vidsr.process import status_kb
from vidsr.types import MediaInfo, PlanarFrame

if TYPE_CHECKING:
    import torch

    from vidsr.media.decode import VideoDecoder
    from vidsr.models import Upscaler
    from vidsr.pipeline.plan import RunPlan
    from vidsr.post_stage import PostStage

# torch, PyAV and the pipeline are imported inside the functions that use them, so that
# ``add_arguments`` (called whenever the ``vidsr`` parser is built) stays cheap.

STAGES = ("decode", "color", "model", "temporal", "encode")
"""Stage names, in pipeline order (``temporal`` only appears when it is on)."""

RESULT_KEYS = (
    "whole_s",
    "model_s",
    "fps",
    "model_fps",
    "efficiency",
    "peak_rss_mb",
    "frames",
    "stages",
    "model_gflop_per_frame",
    "model_gflops",
    "baseline",
)
"""Keys every :func:`run_bench` result has (more describe the setup)."""


# --- memory ----------------------------------------------------------------------------------


def _reset_peak() -> bool:
    """Reset the resident high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """The process's peak resident memory in MiB since the last reset (or since it started)."""
    kb = status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU seconds of this process (all threads), or of its waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class _Meter:
    """Accumulated seconds and the highest memory peak over several timed sections."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_mb: float = 0.0
    calls: int = 0

    @contextmanager
    def time(self, sync: Callable[[], None] | None = None) -> Iterator[None]:
        _reset_peak()
        cpu = cpu_seconds()
        started = time.perf_counter()
        yield
        if sync is not None:
            sync()
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += cpu_seconds() - cpu
        self.calls += 1
        self.peak_mb = max(self.peak_mb, peak_rss_mb())

    def result(self, frames: int) -> dict[str, float]:
        return {
            "s": self.seconds,
            "cpu_s": self.cpu_seconds,
            "fps": frames / self.seconds if self.seconds > 0 else 0.0,
            "peak_rss_mb": self.peak_mb,
        }


# --- model FLOPs -----------------------------------------------------------------------------


def model_flops(upscaler: Upscaler, height: int, width: int) -> int | None:
    """FLOPs (multiply and add counted apart) of one ``height`` x ``width`` frame through the
    network, counted by :class:`torch.utils.flop_counter.FlopCounterMode` on the meta device
    (shapes only, nothing computed). 0 for classical resamplers; None if it cannot be counted."""
    if upscaler.classical:
        return 0
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    multiple = upscaler.info.multiple if upscaler.info else 1
    h = -(-height // multiple) * multiple
    w = -(-width // multiple) * multiple
    try:
        module = copy.deepcopy(upscaler.module).to(device="meta", dtype=torch.float32)
        x = torch.empty(1, 3, h, w, device="meta")
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            module(x)
    except (RuntimeError, NotImplementedError, TypeError):
        return None
    return int(counter.get_total_flops())


def _plan(
    info: MediaInfo,
    upscaler: Upscaler,
    options: UpscaleOptions,
    decoder: VideoDecoder,
    output_path: str,
    post_stage: PostStage | None,
) -> RunPlan:
    """The plan :class:`Pipeline` makes for a run into ``output_path`` (encoder, output frames,
    batch and tiles: :func:`vidsr.pipeline.plan.plan_run`), its tile given to ``upscaler``."""
    from vidsr.paths import OutputTarget
    from vidsr.pipeline.plan import plan_run

    plan = plan_run(
        info,
        upscaler,
        options,
        OutputTarget.for_path(output_path),
        decoder.layout,
        decoder.window,
        post_stage=post_stage,
    )
    plan.memory.apply_to(upscaler)
    return plan


def _sync_for(device: torch.device) -> Callable[[], None] | None:
    if device.type == "cuda":
        import torch

        return lambda: torch.cuda.synchronize(device)
    return None


# --- the stages one by one --------------------------------------------------------------------


def run_stages(
    info: MediaInfo,
    upscaler: Upscaler,
    options: UpscaleOptions,
    output_path: str,
    post_stage: PostStage | None = None,
) -> dict[str, Any]:
    """Run the pipeline's stages one after another, each timed alone, writing ``output_path``.

    Decodes the options' window, converts and upscales the plan's batch of frames at a
    time, applies ``post_stage`` if given, converts back and encodes, with no threads: the
    sequential reference the overlapped pipeline must match bit for bit. Returns ``{"frames": N,
    "stages": {name: {"s", "cpu_s", "fps", "peak_rss_mb"}}}`` (wall and CPU seconds; ``color``
    also splits them into ``in_*`` (planes -> RGB) and ``out_*`` (RGB -> planes)).
    """
    import torch

    from vidsr.media.encode import VideoWriter
    from vidsr.pipeline import ModelFeed, Pipeline, frame_model, make_decoder, reuse_for
    from vidsr.post_stage import StageFeed
    from vidsr.tensors import planes_to_rgb, rgb_to_planes

    window = Pipeline(options, upscaler=upscaler).window()
    decoder = make_decoder(info, window, options)
    in_layout = decoder.layout
    lane: ModelFeed[int] = ModelFeed(frame_model(upscaler, reuse_for(options, upscaler)))
    plan = _plan(info, upscaler, options, decoder, output_path, post_stage)
    geo = plan.geometry
    color = info.video.color
    sync = _sync_for(upscaler.device)
    meters = {name: _Meter() for name in STAGES}
    color_in, color_out = _Meter(), _Meter()  # the two halves of "color", also reported apart

    with meters["decode"].time():
        frames = list(decoder.frames())
    if not frames:
        raise VidsrError("no video frames in the selected window")

    planes: list[PlanarFrame] = []
    feed: StageFeed[int] = StageFeed(post_stage)  # each frame's pts beside it

    def emit(sr: torch.Tensor, pts: list[int]) -> None:
        if sr.shape[0] == 0:
            return
        if geo.turns:  # --apply-rotation, as the pipeline turns them
            sr = torch.rot90(sr, geo.turns, dims=(2, 3))
        with color_out.time():
            planes.extend(
                rgb_to_planes(
                    sr[..., : geo.height, : geo.width],
                    pts,
                    decoder.time_base,
                    geo.layout,
                    color,
                )
            )

    def stage_meter() -> AbstractContextManager[None]:  # "temporal" appears only when it is on
        return meters["temporal"].time(sync) if post_stage is not None else nullcontext()

    size = plan.batch_size
    for i in range(0, len(frames), size):
        batch = frames[i : i + size]
        with color_in.time(sync):
            lr = planes_to_rgb(batch, in_layout, color, upscaler.device).clamp_(0, 1)
        with meters["model"].time(sync):
            lr, sr, pts = lane.push(lr, [f.pts for f in batch])
        if len(sr):
            with stage_meter():
                sr, pts = feed.push(lr, sr, pts)
            emit(sr, pts)
    with meters["model"].time(sync):  # what a network reading neighbours still held
        lr, sr, pts = lane.finish()
    with stage_meter():
        if len(sr):
            done, ready = feed.push(lr, sr, pts)
            emit(done, ready)
        tail, pts = feed.finish()
    emit(tail, pts)
    del frames

    with meters["encode"].time():
        writer = VideoWriter(
            output_path, info, geo.width, geo.height, plan.settings, window, decoder.time_base
        )
        try:
            for frame in planes:
                writer.write(frame)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    count = len(planes)
    both = meters["color"]
    both.seconds = color_in.seconds + color_out.seconds
    both.cpu_seconds = color_in.cpu_seconds + color_out.cpu_seconds
    both.peak_mb = max(color_in.peak_mb, color_out.peak_mb)
    stages = {name: m.result(count) for name, m in meters.items() if name != "temporal" or m.calls}
    stages["color"].update(
        in_s=color_in.seconds,
        in_cpu_s=color_in.cpu_seconds,
        out_s=color_out.seconds,
        out_cpu_s=color_out.cpu_seconds,
    )
    return {"frames": count, "stages": stages}


# --- the baseline -----------------------------------------------------------------------------


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by ``imageio-ffmpeg`` (ImportError when it is not installed)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def baseline_unavailable() -> str | None:
    """Why the baseline cannot run here, or None when it can."""
    try:
        import ffmpeg  # noqa: F401  (ffmpeg-python)

        ffmpeg_exe()
    except ImportError as err:
        return (
            f"baseline skipped: {err.name or err} is not installed "
            "(pip install 'vidsr-upscaler[bench]' installs imageio-ffmpeg and ffmpeg-python)"
        )
    except RuntimeError as err:  # imageio-ffmpeg found no binary for this platform
        return f"baseline skipped: no ffmpeg binary ({err})"
    return None


def run_baseline(
    info: MediaInfo,
    module: torch.nn.Module,
    device: torch.device,
    frames: int,
    start: float,
    output_path: str,
) -> dict[str, Any]:
    """The plain ffmpeg-pipe loop on ``frames`` frames from ``start`` s; ``module`` runs as is.

    Decoding and encoding run in two ffmpeg processes (so they overlap with Python only through
    the pipes and x264's own threads); each frame goes BGR uint8 -> RGB float /255 -> (1,3,h,w)
    -> model -> clamp -> BGR uint8 (rounded), one frame at a time under ``torch.no_grad``.
    Output: libx264 at ffmpeg's defaults (preset medium, crf 23), yuv420p, audio copied.
    """
    import ffmpeg
    import numpy as np
    import torch

    exe = ffmpeg_exe()
    v = info.video
    fps = float(v.average_rate or 25)
    w, h = v.width, v.height
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    seek = {"ss": start} if start > 0 else {}
    writer = None
    done = 0
    _reset_peak()
    cpu = cpu_seconds() + cpu_seconds(children=True)
    started = time.perf_counter()
    model_s = 0.0
    reader = (
        ffmpeg.input(info.path, **seek)
        .output("pipe:", format="rawvideo", pix_fmt="bgr24", vframes=frames, loglevel="error")
        .run_async(pipe_stdout=True, cmd=exe)
    )
    try:
        while True:
            data = reader.stdout.read(w * h * 3)
            if len(data) < w * h * 3:
                break
            img = np.frombuffer(data, np.uint8).reshape(h, w, 3)
            rgb = img[:, :, ::-1].astype(np.float32) / 255.0
            x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)
            t0 = time.perf_counter()
            with torch.no_grad():
                y = module(x)
            y = y[0].float().cpu().clamp_(0, 1).numpy()
            model_s += time.perf_counter() - t0
            out = (y.transpose(1, 2, 0)[:, :, ::-1] * 255.0).round().astype(np.uint8)
            if writer is None:
                out_h, out_w = out.shape[:2]
                video = ffmpeg.input(
                    "pipe:", format="rawvideo", pix_fmt="bgr24", s=f"{out_w}x{out_h}", framerate=fps
                )
                streams = [video]
                audio = {}
                if any(s.kind == "audio" for s in info.others):
                    streams.append(ffmpeg.input(info.path, **seek, t=frames / fps).audio)
                    audio = {"acodec": "copy"}
                writer = (
                    ffmpeg.output(
                        *streams,
                        output_path,
                        pix_fmt="yuv420p",
                        vcodec="libx264",
                        loglevel="error",
                        **audio,
                    )
                    .overwrite_output()
                    .run_async(pipe_stdin=True, cmd=exe)
                )
            writer.stdin.write(out.tobytes())
            done += 1
        ffmpeg_peak_kb = sum(
            status_kb("VmHWM", p.pid) or 0 for p in (reader, writer) if p is not None
        )
    finally:
        reader.stdout.close()
        reader.wait()
        if writer is not None:
            writer.stdin.close()
            writer.wait()
    whole_s = time.perf_counter() - started
    cpu = cpu_seconds() + cpu_seconds(children=True) - cpu
    if writer is not None and writer.returncode:
        raise VidsrError(f"baseline ffmpeg encoder failed (exit {writer.returncode})")
    if done == 0:
        raise VidsrError("baseline decoded no frames")
    return {
        "frames": done,
        "whole_s": whole_s,
        "cpu_s": cpu,
        "model_s": model_s,
        "fps": done / whole_s,
        "efficiency": model_s / whole_s,
        "peak_rss_mb": peak_rss_mb(),
        "ffmpeg_peak_rss_mb": ffmpeg_peak_kb / 1024,
        "precision": str(dtype).removeprefix("torch."),
        "encoder": "libx264 preset medium crf 23 (ffmpeg defaults), yuv420p",
    }


# --- the benchmark ----------------------------------------------------------------------------


def _load_avg() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "torch": torch.__version__,
        "load_avg_1m": _load_avg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default: active)"),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def run_bench(
    clip: str,
    options: UpscaleOptions = UpscaleOptions(),
    *,
    frames: int = 16,
    baseline: bool = False,
    repeat: int = 1,
    workdir: str | None = None,
) -> dict[str, Any]:
    """Benchmark ``clip``'s first ``frames`` frames from ``options.window.start`` (default
    options: the default model, precision, batch and encoder of a plain ``vidsr upscale``).

    The model is loaded once and warmed up on one batch; then the whole pipeline and the
    stage-by-stage run are measured ``repeat`` times, alternating, and the fastest of each kept
    (other jobs on a shared machine only ever make a run slower). The baseline, when asked for,
    runs once after them. Returns a dict with at least :data:`RESULT_KEYS`; ``efficiency`` is
    model-only seconds / whole-pipeline seconds for the same frames. With the temporal stage on,
    the whole pipeline is also timed without it: ``whole_without_temporal_s`` and
    ``temporal_share`` (1 - that time / ``whole_s``, the share of the time the stage costs).
    """
    from vidsr.media.encoders import choose_encoder
    from vidsr.media.probe import probe
    from vidsr.pipeline import load_model_for, reuse_for, temporal_stage

    if frames < 1:
        raise InvalidOptionError(f"frames must be at least 1, got {frames}")
    if repeat < 1:
        raise InvalidOptionError(f"repeat must be at least 1, got {repeat}")
    info = probe(clip)
    rate = info.video.average_rate
    # the bench writes .mp4/.mkv/.mov files, where ``auto`` is libx264 at any depth
    codec = choose_encoder(options.encode.codec, "bench.mkv", 8)
    options = dataclasses.replace(options, encode=dataclasses.replace(options.encode, codec=codec))
    if options.window.duration is None:
        # The window is in seconds: end it half a frame after the last wanted frame starts.
        duration = (frames - 0.5) / float(rate) if rate else None
        options = options.changed(duration=duration)
    load_started = time.perf_counter()
    upscaler = load_model_for(options.model)
    encode = options.encode
    load_s = time.perf_counter() - load_started
    v = info.video
    ext = Path(clip).suffix.lower()
    ext = ext if ext in (".mp4", ".mkv", ".mov") else ".mkv"
    _warm_up(info, upscaler, options, f"warm-up{ext}")  # the outputs' container, not written

    result: dict[str, Any] = {
        "clip": str(clip),
        "model": upscaler.name,
        "device": str(upscaler.device),
        "precision": str(upscaler.dtype).removeprefix("torch."),
        "compiled": upscaler.compiled,
        "batch_size": options.model.batch_on(upscaler.device.type),
        "encoder": f"{encode.codec} preset {encode.preset} crf {encode.crf}",
        "input_size": [v.width, v.height],
        "load_s": load_s,
        "machine": machine_info(),
        "peak_rss_resettable": _reset_peak(),
    }
    with tempfile.TemporaryDirectory(prefix="vidsr-bench-", dir=workdir) as tmp:
        best_whole: dict[str, Any] | None = None
        best_stages: dict[str, Any] | None = None
        best_off: dict[str, Any] | None = None  # the whole pipeline with the temporal stage off
        best_full: dict[str, Any] | None = None  # the whole pipeline with --reuse off
        temporal_on = temporal_stage(options, upscaler) is not None
        reuse_on = reuse_for(options, upscaler) is not None
        for _ in range(repeat):
            whole = _run_whole(clip, options, upscaler, str(Path(tmp) / f"whole{ext}"))
            if best_whole is None or whole["whole_s"] < best_whole["whole_s"]:
                best_whole = whole
            if temporal_on:
                no_stage = options.changed(temporal="off")
                off = _run_whole(clip, no_stage, upscaler, str(Path(tmp) / f"off{ext}"))
                if best_off is None or off["whole_s"] < best_off["whole_s"]:
                    best_off = off
            if reuse_on:
                no_reuse = options.changed(reuse="off")
                full = _run_whole(clip, no_reuse, upscaler, str(Path(tmp) / f"full{ext}"))
                if best_full is None or full["whole_s"] < best_full["whole_s"]:
                    best_full = full
            post = temporal_stage(options, upscaler)
            staged = run_stages(info, upscaler, options, str(Path(tmp) / f"stages{ext}"), post)
            best_stages = _fastest(best_stages, staged)
        if best_whole is None or best_stages is None:  # unreachable: repeat >= 1
            raise VidsrError("nothing was measured")
        count = best_whole["frames"]
        if best_stages["frames"] != count:
            raise VidsrError(
                f"pipeline encoded {count} frames, the stage run {best_stages['frames']}"
            )
        stages = best_stages["stages"]
        model_s = stages["model"]["s"]
        whole_s = best_whole["whole_s"]
        flops = model_flops(upscaler, v.height, v.width)
        reused = best_whole["reuse"]
        # the frames' worth of pixels the network ran on (reuse skips some; the stage run
        # plans the same frames the same way)
        computed = count * (reused["pixel_fraction"] if reused else 1.0)
        height, width = upscaler.output_size(v.height, v.width)
        result.update(
            frames=count,
            output_size=[width, height],
            whole_s=whole_s,
            model_s=model_s,
            fps=count / whole_s,
            model_fps=count / model_s if model_s > 0 else 0.0,
            efficiency=model_s / whole_s,
            whole_cpu_s=best_whole["cpu_s"],
            model_cpu_s=stages["model"]["cpu_s"],
            cpu_efficiency=stages["model"]["cpu_s"] / best_whole["cpu_s"]
            if best_whole["cpu_s"] > 0
            else None,
            peak_rss_mb=best_whole["peak_rss_mb"],
            pipeline_model_busy_s=best_whole["model_busy_s"],
            stages=stages,
            stage_sum_s=sum(s["s"] for s in stages.values()),
            model_gflop_per_frame=None if flops is None else flops / 1e9,
            model_gflops=None
            if flops is None or model_s <= 0
            else flops * computed / model_s / 1e9,
            model_gflop_per_cpu_s=None
            if flops is None or stages["model"]["cpu_s"] <= 0
            else flops * computed / stages["model"]["cpu_s"] / 1e9,
            baseline=None,
        )
        if best_off is not None:  # what the temporal stage adds to the pipeline's time
            result["whole_without_temporal_s"] = best_off["whole_s"]
            result["temporal_share"] = 1.0 - best_off["whole_s"] / whole_s
        result["reuse"] = best_whole["reuse"]
        if best_full is not None:  # what reusing the unchanged regions saves
            result["whole_without_reuse_s"] = best_full["whole_s"]
            result["reuse_speedup"] = best_full["whole_s"] / whole_s
            full_busy = best_full["model_busy_s"]
            result["reuse_model_saved"] = (
                1.0 - best_whole["model_busy_s"] / full_busy if full_busy > 0 else None
            )
        if baseline:
            reason = baseline_unavailable()
            if reason is not None:
                result["baseline"] = {"skipped": reason}
            else:
                reference = load_model_for(  # the same weights, fp32, whole frames
                    ModelOptions(
                        options.model.name,
                        options.model.scale,
                        device=options.model.device,
                        precision="fp32",
                    )
                )
                base = run_baseline(
                    info,
                    reference.module,
                    reference.device,
                    count,
                    options.window.start,
                    str(Path(tmp) / "base.mp4"),
                )
                result["baseline"] = base
                result["speedup_vs_baseline"] = result["fps"] / base["fps"]
                result["cpu_speedup_vs_baseline"] = (base["cpu_s"] / base["frames"]) / (
                    result["whole_cpu_s"] / count
                )
    result["machine"]["load_avg_1m_after"] = (
        os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    )
    return result


def _warm_up(
    info: MediaInfo, upscaler: Upscaler, options: UpscaleOptions, output_path: str
) -> None:
    """One batch through decode, colour conversion and the model, as the runs into
    ``output_path``'s container will call them (oneDNN builds its kernels for the exact shapes
    and strides on first use)."""
    from vidsr.pipeline import Pipeline, make_decoder, temporal_stage
    from vidsr.pipeline.stages import upscale_alone
    from vidsr.tensors import planes_to_rgb, rgb_to_planes

    window = Pipeline(options, upscaler=upscaler).window()
    decoder = make_decoder(info, window, options)
    plan = _plan(info, upscaler, options, decoder, output_path, temporal_stage(options, upscaler))
    geo = plan.geometry
    batch: list[PlanarFrame] = []
    for frame in decoder.frames():
        batch.append(frame)
        if len(batch) == plan.batch_size:
            break
    if not batch:
        raise VidsrError("no video frames in the selected window")
    lr = planes_to_rgb(batch, decoder.layout, info.video.color, upscaler.device).clamp_(0, 1)
    # a network reading neighbours takes the batch as a sequence of its own, as photos are
    sr = upscale_alone(upscaler, lr)[..., : geo.height, : geo.width]
    rgb_to_planes(sr, [f.pts for f in batch], decoder.time_base, geo.layout, info.video.color)


def _run_whole(
    clip: str, options: UpscaleOptions, upscaler: Upscaler, output_path: str
) -> dict[str, Any]:
    from vidsr.pipeline import Pipeline, temporal_stage

    post = temporal_stage(options, upscaler)
    pipeline = Pipeline(options, upscaler=upscaler, post_stage=post)
    _reset_peak()
    cpu = cpu_seconds()
    started = time.perf_counter()
    stats = pipeline.run(clip, output_path)
    whole_s = time.perf_counter() - started
    return {
        "frames": stats.frames_encoded,
        "whole_s": whole_s,
        "cpu_s": cpu_seconds() - cpu,
        "model_busy_s": stats.model_seconds,
        "post_busy_s": stats.post_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "reuse": stats.reuse.as_dict() if stats.reuse is not None else None,
    }


def _fastest(best: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if best is None:
        return new
    merged = {"frames": new["frames"], "stages": {}}
    for name, stage in new["stages"].items():
        old = best["stages"].get(name)
        merged["stages"][name] = stage if old is None or stage["s"] < old["s"] else old
    return merged


# --- a table for people -----------------------------------------------------------------------


def format_table(result: dict[str, Any]) -> str:
    """The result of :func:`run_bench` as a plain-text table (for the CLI and the script)."""
    m = result["machine"]
    w, h = result["input_size"]
    ow, oh = result["output_size"]
    n = result["frames"]
    load = f"load avg {m['load_avg_1m']:.1f} -> {m['load_avg_1m_after']:.1f}"
    lines = [
        f"clip      {result['clip']}  ({w}x{h} -> {ow}x{oh}, {n} frames)",
        f"model     {result['model']} on {result['device']} in {result['precision']}, "
        f"batch {result['batch_size']}; encoder {result['encoder']}",
        f"machine   {m['cpu']}, {m['cpus']} CPUs, torch {m['torch']} ({m['cpu_capability']}), "
        f"OMP_WAIT_POLICY {m['omp_wait_policy']}, " + load,
        "",
        f"{'':<24}{'wall s':>8}{'fps':>8}{'CPU s':>8}{'peak MiB':>10}",
    ]

    def row(name: str, wall: float, cpu: float, peak: float, extra: str = "") -> str:
        fps = n / wall if wall > 0 else 0.0
        return f"{name:<24}{wall:>8.2f}{fps:>8.2f}{cpu:>8.2f}{peak:>10.0f}{extra}"

    for name, st in result["stages"].items():
        lines.append(row(f"{name} (alone)", st["s"], st["cpu_s"], st["peak_rss_mb"]))
        if name == "color":
            lines.append(row("  planes -> RGB (LR)", st["in_s"], st["in_cpu_s"], 0)[:-10])
            lines.append(row("  RGB -> planes (HR)", st["out_s"], st["out_cpu_s"], 0)[:-10])
    cpu_sum = sum(st["cpu_s"] for st in result["stages"].values())
    lines.append(f"{'sum of stages':<24}{result['stage_sum_s']:>8.2f}{'':>8}{cpu_sum:>8.2f}")
    lines.append(
        row("whole pipeline", result["whole_s"], result["whole_cpu_s"], result["peak_rss_mb"])
    )
    if "temporal_share" in result:
        off_s = result["whole_without_temporal_s"]
        lines.append(f"{'  with temporal off':<24}{off_s:>8.2f}{n / off_s:>8.2f}")
    if "reuse_speedup" in result:
        full_s = result["whole_without_reuse_s"]
        lines.append(f"{'  with --reuse off':<24}{full_s:>8.2f}{n / full_s:>8.2f}")
    base = result.get("baseline")
    if base and "skipped" not in base:
        lines.append(
            row(
                "baseline (ffmpeg pipe)",
                base["whole_s"],
                base["cpu_s"],
                base["peak_rss_mb"],
                f"  + {base['ffmpeg_peak_rss_mb']:.0f} MiB in ffmpeg; {base['precision']}",
            )
        )
    lines.append("")
    lines.append(
        f"efficiency (model alone / whole)   {result['efficiency']:.2f} wall, "
        f"{result['cpu_efficiency'] or 0:.2f} CPU time"
        f"   (model thread busy in the pipeline: {result['pipeline_model_busy_s']:.2f} s)"
    )
    reuse = result.get("reuse")
    if reuse:
        saved = result.get("reuse_model_saved")
        counts = (
            f"reuse                              {reuse['tile_fraction']:.0%} of tiles computed, "
            f"{reuse['frames_skipped']} of {reuse['frames']} frames skipped, "
            f"{reuse['pixel_fraction']:.0%} of the model's pixels"
        )
        if reuse["pixel_fraction"] >= 1.0:  # the same work both ways: a ratio would be noise
            lines.append(counts + "; nothing reused, so no time is saved (the runs' spread)")
        else:
            lines.append(
                counts
                + (f"; model time {saved:.0%} lower" if saved is not None else "")
                + (f", whole {result['reuse_speedup']:.2f}x" if "reuse_speedup" in result else "")
            )
    if "temporal_share" in result:
        lines.append(
            f"temporal stage share               {result['temporal_share']:.0%} of the whole "
            "pipeline's time (1 - time with it off / time with it on)"
        )
    if result["model_gflops"]:
        lines.append(
            f"model FLOP rate                    {result['model_gflops']:.0f} GFLOP/s"
            f"   ({result['model_gflop_per_frame']:.1f} GFLOP per frame, "
            f"{result['model_gflop_per_cpu_s'] or 0:.0f} GFLOP per CPU second)"
        )
    if base and "skipped" in base:
        lines.append(base["skipped"])
    elif base:
        lines.append(
            f"vidsr / baseline fps               {result['speedup_vs_baseline']:.2f}x wall, "
            f"{result['cpu_speedup_vs_baseline']:.2f}x CPU time"
            f"   (baseline efficiency {base['efficiency']:.2f})"
        )
    return "\n".join(lines)
