"""The ``--max-memory`` plan: frames per model call, and tiles for the model, that keep the
process under the limit (decided once per run, before any frame is decoded)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vidsr.config import MIN_TILE, UpscaleOptions
from vidsr.errors import InvalidOptionError
from vidsr.models import Upscaler, auto_tile_size
from vidsr.pipeline.neighbours import held_bytes as neighbour_bytes
from vidsr.pipeline.stages import reuse_for
from vidsr.post_stage import PostStage
from vidsr.process import status_kb
from vidsr.reuse.regions import held_bytes
from vidsr.types import MediaInfo

log = logging.getLogger(__name__)

MEMORY_RESERVE_FIXED = 64 << 20
MEMORY_RESERVE_SHARE = 0.08
"""--max-memory keeps this much (64 MB + 8% of the limit) for what the plan cannot count."""


@dataclass(frozen=True)
class MemoryPlan:
    """Frames per model call, and the tile the model runs at (None: as it is)."""

    batch_size: int
    tile: int | None = None

    def apply_to(self, upscaler: Upscaler) -> None:
        """Give ``upscaler`` the planned tile (nothing when the plan leaves it)."""
        if self.tile is not None:
            upscaler.tile = self.tile


def current_rss() -> int:
    """Resident memory of this process in bytes (0 where /proc is missing)."""
    return (status_kb("VmRSS") or 0) * 1024


def plan_memory(
    options: UpscaleOptions,
    upscaler: Upscaler,
    info: MediaInfo,
    height: int,
    width: int,
    post_stage: PostStage | None = None,
    encoder: int = 0,
) -> MemoryPlan:
    """Batch size, and tiles for the model, that keep the process under ``max_memory`` for
    ``height`` x ``width`` output frames.

    Budget = limit - what the process already holds - a reserve (allocator slack, encoder
    and decoder state, thread stacks) - per-frame buffers (decoded and encoded planes in
    the queues, float RGB batches and colour-conversion temporaries at the output size,
    what ``--reuse`` keeps, the inputs a network reading neighbours keeps, ``encoder``: the
    bytes the video encoder holds, its look-ahead
    (:func:`vidsr.media.encoders.encoder_bytes`)) - what the post stage (temporal) holds.
    What is left bounds one model call; if a whole frame does not fit, the model runs tile by
    tile. Without ``max_memory`` (or off the CPU) it is the device's default batch and the
    model's tile.
    """
    limit = options.max_memory
    batch = options.model.batch_on(upscaler.device.type)
    if limit is None or upscaler.device.type != "cpu":
        return MemoryPlan(batch)
    used = current_rss()
    lr_px, hr_px = info.video.height * info.video.width, height * width
    # float RGB out of the model (+ resize), one batch queued for and one in the post
    # thread, planes; conversions go by bands
    per_frame = 52 * hr_px + 16 * lr_px
    queued = 3 * 2 * hr_px + 3 * 2 * lr_px  # bounded queues of 8/16-bit planes
    if reuse_for(options, upscaler) is not None:  # --reuse keeps an output and its references
        queued += held_bytes(lr_px, hr_px)
    if upscaler.info.neighbours:  # a network reading neighbours keeps their inputs
        queued += neighbour_bytes(upscaler.info.neighbours, lr_px)
    queued += encoder
    reserve = MEMORY_RESERVE_FIXED + int(MEMORY_RESERVE_SHARE * limit)
    free = limit - used - queued - reserve

    def held(batch: int) -> int:  # by the post stage
        return post_stage.bytes_per_pixel(batch) * hr_px if post_stage else 0

    def need(batch: int) -> int:
        return batch * per_frame + held(batch)

    while batch > 1 and need(batch) > free * 0.5:
        batch -= 1
    model_budget = free - need(batch)
    if model_budget <= 0:
        stage_mb = held(batch) >> 20
        hint = f"; the temporal stage alone needs {stage_mb}M (--temporal off)" if stage_mb else ""
        smallest = upscaler.bytes_per_pixel() * (MIN_TILE + 2 * upscaler.tile_pad) ** 2
        fits = (used + queued + need(1) + MEMORY_RESERVE_FIXED + smallest) / (
            1 - MEMORY_RESERVE_SHARE
        )
        fits_mb = -(-int(fits) // (64 << 20)) * 64  # rounded up to 64M
        raise InvalidOptionError(
            f"--max-memory {limit / 2**20:.0f}M is too small for {width}x{height} "
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
    planned = tile if tile and (upscaler.tile == 0 or upscaler.tile > tile) else None
    log.info(
        "memory plan: batch %d, tile %s (process %dM, frames and stages %dM, model %dM)",
        batch, planned or upscaler.tile or "off", used >> 20, (need(batch) + queued) >> 20,
        model_budget >> 20,
    )  # fmt: skip
    return MemoryPlan(batch, planned)
