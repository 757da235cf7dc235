"""Fidelity and temporal stability of an upscaler on a video clip taken as ground truth.

The first ``frames`` frames of a video (decoded as the pipeline decodes them, rounded to 8-bit
RGB, cropped at the bottom/right to a multiple of ``8 * scale`` so the LR has whole 8x8 coding
blocks) are the reference. The LR is made by MATLAB bicubic reduction as for image sets, and
optionally coded with libx264 at a CRF. The model runs on batches of frames, then the temporal
stabiliser at the asked strength. Scores follow ``scripts/bench_temporal.py``: Y-PSNR and Y-SSIM
(border crop = scale), warping error along the reference's motion, tOF, flicker error, and
blockiness on the ``8 * scale`` grid. Bicubic up-scaling of the same LR is scored alongside, and
when the temporal stage is on, the model's per-frame output too. Nothing is printed.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidsr.config import TEMPORAL_LOOKAHEAD, ModelOptions, check_lookahead
from vidsr.errors import InvalidOptionError
from vidsr.quality import metrics
from vidsr.quality.image_sets import (
    Upscale,
    bicubic_upscale,
    load_for_evaluation,
    make_lr,
    model_fields,
)

DEFAULT_FRAMES = 30


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) float [0, 1] -> (T, H, W, 3) uint8 (rounded, as an 8-bit output would be)."""
    return frames.float().clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def to_float(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) float32 on [0, 1] (read-only input is copied first:
    torch warns about tensors over read-only memory)."""
    data = np.require(frames, requirements=["C", "W"])
    return torch.from_numpy(data).permute(0, 3, 1, 2).float().div(255.0)


def read_frames(path: str | Path, frames: int = DEFAULT_FRAMES, multiple: int = 1) -> np.ndarray:
    """The first ``frames`` frames of a video as (T, H, W, 3) uint8 RGB, T <= ``frames``.

    Decoded by vidsr's own decoder (deinterlaced when the stream is interlaced) and converted with
    the source's matrix and range, then cropped at the bottom/right to a multiple of ``multiple``.
    """
    from vidsr.media.decode import VideoDecoder
    from vidsr.media.probe import probe
    from vidsr.tensors import planes_to_rgb

    if frames < 1:
        raise InvalidOptionError(f"frames must be at least 1, got {frames}")
    info = probe(str(path))
    h = info.video.height // multiple * multiple
    w = info.video.width // multiple * multiple
    if h == 0 or w == 0:
        raise InvalidOptionError(
            f"{path}: {info.video.width}x{info.video.height} is smaller than {multiple} pixels "
            "(8 coding blocks times the scale)"
        )
    decoder = VideoDecoder(info)
    stream = decoder.frames()
    try:
        planar = list(itertools.islice(stream, frames))
    finally:
        stream.close()
    cpu = torch.device("cpu")
    out = [
        to_uint8(planes_to_rgb(planar[i : i + 8], decoder.layout, info.video.color, cpu))
        for i in range(0, len(planar), 8)
    ]
    return np.ascontiguousarray(np.concatenate(out)[:, :h, :w])


def score_clip(
    output: np.ndarray,
    reference: np.ndarray,
    scale: int,
    *,
    motion: metrics.Motion | None = None,
    reference_flows: list[np.ndarray] | None = None,
    ssim: bool = True,
) -> dict[str, float | None]:
    """Every metric of an upscaled clip against its reference, both (T, H, W, 3) uint8.

    ``motion`` (:func:`.metrics.estimate_motion` of the reference) and ``reference_flows``
    (:func:`.metrics.farneback_flows` of it) are computed when not given; pass them to reuse
    them across outputs. Returns ``psnr``, ``ssim`` (None when ``ssim`` is False; both means over
    frames, Y, border crop = ``scale``), ``warping_error``, ``tof``, ``flicker`` and
    ``blockiness`` (on the ``8 * scale`` grid).
    """
    if output.shape != reference.shape:
        raise ValueError(f"output {output.shape} and reference {reference.shape} differ")
    if motion is None:
        motion = metrics.estimate_motion(reference)
    flows = reference_flows if reference_flows is not None else metrics.farneback_flows(reference)
    pairs = list(zip(output, reference, strict=True))
    return {
        "psnr": float(np.mean([metrics.psnr_y(o, g, scale) for o, g in pairs])),
        "ssim": float(np.mean([metrics.ssim_y(o, g, scale) for o, g in pairs])) if ssim else None,
        "warping_error": metrics.warping_error(output, motion),
        "tof": metrics.tof(output, reference_flows=flows),
        "flicker": metrics.flicker_error(output, reference),
        "blockiness": metrics.clip_blockiness(output, 8 * scale, scale),
    }


def _run_model(
    upscale: Upscale, lr: torch.Tensor, scale: int, temporal: str, lookahead: int, batch: int
) -> tuple[np.ndarray, np.ndarray | None, float, float]:
    """Per-frame output, stabilised output (None when off), model and temporal seconds."""
    from vidsr.pipeline.model_lane import ModelFeed
    from vidsr.pipeline.stages import frame_model
    from vidsr.post_stage import StageFeed
    from vidsr.strengths import parse_strength
    from vidsr.temporal import TemporalStabilizer

    stabiliser = TemporalStabilizer(temporal, lookahead) if parse_strength(temporal) > 0 else None
    lane: ModelFeed[None] = ModelFeed(frame_model(upscale))  # frames late if it reads neighbours
    feed: StageFeed[None] = StageFeed(stabiliser)
    per_frame: list[np.ndarray] = []
    steady: list[np.ndarray] = []
    model_s = temporal_s = 0.0
    want = (lr.shape[-2] * scale, lr.shape[-1] * scale)
    for i in range(0, len(lr) + batch, batch):  # one step past the end: the lane's flush
        t0 = time.perf_counter()
        with torch.inference_mode():
            if i < len(lr):
                x, y, _ = lane.push(lr[i : i + batch])
            else:
                x, y, _ = lane.finish()
            y = y.float().cpu()
        model_s += time.perf_counter() - t0
        if len(y) == 0:
            continue
        if tuple(y.shape[-2:]) != want or len(y) != len(x):
            raise ValueError(
                f"model output {tuple(y.shape)} is not x{scale} of the input {tuple(x.shape)}"
            )
        per_frame.append(to_uint8(y))
        if stabiliser is not None:  # fed the model's batches, as the pipeline does
            t0 = time.perf_counter()
            done, _ = feed.push(x, y)
            temporal_s += time.perf_counter() - t0
            if len(done):
                steady.append(to_uint8(done))
    if stabiliser is not None:
        t0 = time.perf_counter()
        done, _ = feed.finish()  # every frame back, or an error
        temporal_s += time.perf_counter() - t0
        if len(done):
            steady.append(to_uint8(done))
    out = np.concatenate(per_frame)
    return out, (np.concatenate(steady) if stabiliser is not None else None), model_s, temporal_s


def evaluate_video(
    upscale: Upscale,
    video: str | Path,
    scale: int,
    *,
    frames: int = DEFAULT_FRAMES,
    crf: int | None = None,
    temporal: str | float = "auto",
    lookahead: int = TEMPORAL_LOOKAHEAD,
    batch: int = 4,
    ssim: bool = True,
) -> dict[str, Any]:
    """Score ``upscale`` ((N, 3, h, w) float [0, 1] -> (N, 3, h*s, w*s)) on a video's frames.

    ``crf`` codes the LR with libx264 at that CRF first (None: lossless LR). ``temporal`` is the
    stabiliser's strength (``auto``: ``off`` when ``upscale.classical`` is true, else the
    pipeline's default) and ``lookahead`` its look-ahead. Returns ``{"video", "scale",
    "frames", "size": [W, H], "crf", "temporal", "lookahead", "fps", "model_seconds",
    "temporal_seconds", "methods": [row, ...]}``, where each row is ``{"method", "temporal",
    "psnr", "ssim", "warping_error", "tof", "flicker", "blockiness", "fps"}`` and ``method`` is
    ``model`` (with its temporal setting), ``per_frame`` (the model with the temporal stage off;
    only when it is on) and ``bicubic`` (the MATLAB bicubic baseline). ``fps`` is frames per
    second of the model plus its temporal stage. PSNR of identical clips is ``inf``.
    """
    if int(scale) != scale or scale < 1:
        raise InvalidOptionError(f"evaluation needs an integer scale >= 1, not {scale}")
    if batch < 1:
        raise InvalidOptionError(f"batch must be at least 1, got {batch}")
    check_lookahead(lookahead)
    scale = int(scale)
    from vidsr.strengths import resolve_level

    level = resolve_level(temporal, bool(getattr(upscale, "classical", False)))
    hr = read_frames(video, frames, 8 * scale)
    lr_u8 = np.stack([to_uint8(make_lr(to_float(f[None])[0], scale)[None])[0] for f in hr])
    if crf is not None:
        from vidsr.media.roundtrip import h264_roundtrip

        lr_u8, _ = h264_roundtrip(lr_u8, crf)
    lr = to_float(lr_u8)
    n = len(hr)

    per_frame, steady, model_s, temporal_s = _run_model(upscale, lr, scale, level, lookahead, batch)
    t0 = time.perf_counter()
    base = np.concatenate(
        [to_uint8(bicubic_upscale(lr[i : i + batch], scale)) for i in range(0, n, batch)]
    )
    base_s = time.perf_counter() - t0

    motion = metrics.estimate_motion(hr)
    flows = metrics.farneback_flows(hr)

    def row(method: str, setting: str, out: np.ndarray, seconds: float) -> dict[str, Any]:
        scores = score_clip(out, hr, scale, motion=motion, reference_flows=flows, ssim=ssim)
        return {"method": method, "temporal": setting, **scores, "fps": n / max(seconds, 1e-9)}

    methods = []
    if steady is not None:
        methods.append(row("model", level, steady, model_s + temporal_s))
        methods.append(row("per_frame", "off", per_frame, model_s))
    else:
        methods.append(row("model", "off", per_frame, model_s))
    methods.append(row("bicubic", "off", base, base_s))
    return {
        "video": str(video),
        "scale": scale,
        "frames": n,
        "size": [int(hr.shape[2]), int(hr.shape[1])],
        "crf": crf,
        "temporal": level,
        "lookahead": lookahead,
        "fps": methods[0]["fps"],
        "model_seconds": model_s,
        "temporal_seconds": temporal_s,
        "methods": methods,
    }


def evaluate_video_model(
    model: ModelOptions,
    video: str | Path,
    *,
    frames: int = DEFAULT_FRAMES,
    crf: int | None = None,
    temporal: str | float = "auto",
    lookahead: int = TEMPORAL_LOOKAHEAD,
    batch: int = 4,
    ssim: bool = True,
    reuse: str = "auto",
) -> dict[str, Any]:
    """Load the model ``model`` names (catalog name or ``.pth``; scores are recorded in fp32,
    ``vidsr eval``'s default precision) and score it with :func:`evaluate_video`, computing
    only changed regions as ``reuse`` says (``--reuse``). The result also holds ``model``,
    ``precision``, ``device`` and ``reuse`` (:meth:`vidsr.reuse.regions.ReuseCounters.as_dict`,
    None when reuse is off)."""
    from vidsr.reuse.regions import region_reuse

    upscaler, factor = load_for_evaluation(model)
    reusing = region_reuse(upscaler, reuse)
    result = evaluate_video(
        reusing or upscaler,
        video,
        factor,
        frames=frames,
        crf=crf,
        temporal=temporal,
        lookahead=lookahead,
        batch=batch,
        ssim=ssim,
    )
    counters = reusing.counters.as_dict() if reusing is not None else None
    return {**model_fields(upscaler), **result, "reuse": counters}
