"""Each stage of a run built from the options: the decoder, the model (and its lane), region
reuse and the temporal stage (the pipeline, ``vidsr bench`` and the quality tools build them
here)."""

from __future__ import annotations

import torch

from vidsr.config import ModelOptions, UpscaleOptions
from vidsr.media.deblock import deblock_decision
from vidsr.media.decode import VideoDecoder
from vidsr.models import Upscaler, load_model
from vidsr.pipeline.model_lane import FrameModel, PerFrameModel, Upscale
from vidsr.pipeline.neighbours import NeighbourModel
from vidsr.post_stage import PostStage
from vidsr.reuse.regions import RegionReuse, region_reuse
from vidsr.strengths import parse_deblock, resolve_level, temporal_wanted
from vidsr.types import MediaInfo, Window


def make_decoder(info: MediaInfo, window: Window, options: UpscaleOptions) -> VideoDecoder:
    """The decoder a run uses: rate override, deinterlacing and deblocking from the options."""
    strength = parse_deblock(options.decode.deblock)
    return VideoDecoder(
        info,
        window,
        fps=options.window.fps,
        deinterlace=options.decode.deinterlace,
        deblock=deblock_decision if strength is None else strength,
    )


def load_model_for(options: ModelOptions) -> Upscaler:
    """The model ``options`` name, loaded as they say (device, precision, tile, scale, compile)."""
    return load_model(
        options.name,
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


def frame_model(upscale: Upscale, reuse: RegionReuse | None = None) -> FrameModel:
    """The model lane of a run: a network that reads neighbouring frames gets them
    (:class:`NeighbourModel`, its output ``lag`` frames late); any other model (or ``reuse``
    around it, when given) answers every batch at once."""
    if isinstance(upscale, Upscaler) and upscale.info.neighbours:
        return NeighbourModel(upscale)
    return PerFrameModel(reuse or upscale)


def upscale_alone(upscale: Upscale, x: torch.Tensor) -> torch.Tensor:
    """Frames that are no sequence (photos, an image set's pictures), (N, 3, h, w): each goes
    through the model lane as a sequence of its own, so a network that reads neighbours sees
    none (trust 0); any other model takes the batch at once."""
    if not frame_model(upscale).lag:
        return upscale(x)
    out = []
    for frame in x.split(1):
        lane = frame_model(upscale)
        lane.process(frame)
        out.append(lane.flush()[1])
    return torch.cat(out)


def temporal_stage(options: UpscaleOptions, upscaler: Upscaler) -> PostStage | None:
    """The temporal stabiliser the options ask for, or None when it is off."""
    from vidsr.temporal import TemporalStabilizer

    if not temporal_wanted(options.temporal.level, upscaler.classical):
        return None
    level = resolve_level(options.temporal.level, upscaler.classical)
    lookahead = options.temporal.lookahead
    return TemporalStabilizer(level, lookahead=lookahead, device=upscaler.device)
