"""What a run will do, decided once before any frame is decoded: where and how the output is
encoded, what its frames look like (size, planes, rotation), frames per model call and tiles
(the memory plan), and the warnings the choices call for. The pipeline and ``vidsr bench`` both
take it from here."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from vidsr.config import UpscaleOptions
from vidsr.media.containers import check_holds
from vidsr.media.encode import EncodeSettings
from vidsr.media.encoders import choose_encoder, encoder_bytes
from vidsr.media.formats import output_pix_fmt, plane_layout_for
from vidsr.media.images import first_frame_number, image_pix_fmt, is_pattern
from vidsr.media.rawvideo import name_disagrees, uncompressed_output
from vidsr.models import Upscaler
from vidsr.paths import OutputTarget
from vidsr.pipeline.memory import MemoryPlan, plan_memory
from vidsr.post_stage import PostStage
from vidsr.types import MediaInfo, PlaneLayout, Window


@dataclass(frozen=True)
class OutputGeometry:
    """The planes the post stage writes and the encoder takes, and their size."""

    layout: PlaneLayout
    height: int
    width: int
    turns: int = 0
    """Quarter turns the frames are rotated by (``--apply-rotation``), 0 when kept as a tag."""


@dataclass(frozen=True)
class RunPlan:
    """Everything a run decides before its first frame (see :func:`plan_run`)."""

    url: str
    """Where the writer opens the output (the temporary file, or an image pattern)."""
    settings: EncodeSettings
    geometry: OutputGeometry
    memory: MemoryPlan
    warnings: tuple[str, ...] = ()
    """What the output leaves out or gets wrong, to be logged once."""

    @property
    def batch_size(self) -> int:
        """Frames per model call."""
        return self.memory.batch_size


def output_geometry(
    info: MediaInfo,
    upscaler: Upscaler,
    pix_fmt: str,
    *,
    apply_rotation: bool = False,
    rgb_planes: bool = False,
) -> OutputGeometry:
    """The model's output size for ``info``'s frames (sides swapped when a quarter turn is
    applied), cropped to what ``pix_fmt``'s chroma subsampling can hold (4:2:0 / 4:2:2 encoders
    need even sizes: the last row/column goes when odd). ``rgb_planes``: write GBR planes
    instead of YUV ones (image outputs, whose encoders convert from RGB)."""
    height, width = upscaler.output_size(info.video.height, info.video.width)
    turns = round(info.video.rotation / 90) % 4 if apply_rotation else 0
    if turns % 2:
        height, width = width, height
    layout = plane_layout_for(pix_fmt)
    if rgb_planes and layout.kind == "yuv":
        layout = plane_layout_for("gbrp")
    height -= height % (1 << layout.log2_chroma_h)
    width -= width % (1 << layout.log2_chroma_w)
    return OutputGeometry(layout, height, width, turns)


def estimate_frames(info: MediaInfo, options: UpscaleOptions) -> int:
    """Frames the options' window will hold, as far as the container tells (0: unknown)."""
    v = info.video
    total = v.frames or (
        round((v.duration_s or 0) * float(v.average_rate)) if v.average_rate else 0
    )
    w = options.window
    if w.duration is not None and v.average_rate:
        # the frames whose times fall in [start, start + duration): 0.5 s at 25 fps holds 13
        held = math.ceil(w.duration * float(v.average_rate) - 1e-6)
        total = min(total or 10**9, held)
    elif w.start and v.average_rate and total:
        total = max(0, total - int(w.start * float(v.average_rate)))
    return total


def plan_run(
    info: MediaInfo,
    upscaler: Upscaler,
    options: UpscaleOptions,
    target: OutputTarget,
    in_layout: PlaneLayout,
    window: Window,
    *,
    frames_total: int = 0,
    encode_for: str | None = None,
    post_stage: PostStage | None = None,
) -> RunPlan:
    """The plan of one run of ``upscaler`` on ``info``'s frames (decoded as ``in_layout``) into
    ``target``: the encoder (for ``encode_for``'s container when given: a job's output, for its
    segments), the output frames, and the memory plan (which counts ``post_stage``).
    ``frames_total`` numbers an image sequence's files."""
    url, settings, warnings = _encode_settings(
        options, target, in_layout, info, window, frames_total, encode_for
    )
    geometry = output_geometry(
        info,
        upscaler,
        settings.pix_fmt,
        apply_rotation=options.decode.apply_rotation,
        rgb_planes=target.images,
    )
    settings = replace(settings, keep_rotation=not geometry.turns)
    why = name_disagrees(target.final, geometry.width, geometry.height, settings.pix_fmt)
    if why:  # raw output only
        warnings.append(why)
    held = encoder_bytes(settings.codec, settings.preset, geometry.width, geometry.height)
    memory = plan_memory(
        options, upscaler, info, geometry.height, geometry.width, post_stage, encoder=held
    )
    return RunPlan(url, settings, geometry, memory, tuple(warnings))


def _encode_settings(
    options: UpscaleOptions,
    target: OutputTarget,
    in_layout: PlaneLayout,
    info: MediaInfo,
    window: Window,
    frames_total: int,
    encode_for: str | None,
) -> tuple[str, EncodeSettings, list[str]]:
    """Where to open the output, how to encode it (video, or images for sequences), and what
    to warn of."""
    o = options.encode
    if target.images:
        single = not target.folder and not is_pattern(target.final)
        spec, encoder = target.image_output(1 if single else frames_total)
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
        return spec.url, settings, []
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
        return target.tmp, settings, _uncompressed_warnings(target.final, info, options)
    final = encode_for or target.final
    codec = choose_encoder(o.codec, final, in_layout.bit_depth)
    check_holds(final, codec)
    pix_fmt = output_pix_fmt(codec, in_layout, o.pix_fmt)
    return target.tmp, EncodeSettings(codec, o.crf, o.preset, pix_fmt), []


def _uncompressed_warnings(path: str, info: MediaInfo, options: UpscaleOptions) -> list[str]:
    """What an uncompressed output leaves out (other streams, the rotation tag, variable frame
    timing)."""
    warnings = []
    kinds = sorted({s.kind for s in info.others})
    if kinds:
        warnings.append(f"{path} holds video only: the input's {' and '.join(kinds)} left out")
    if info.video.variable_rate:
        warnings.append(
            f"{path} has no timestamps: its frames are numbered at the average rate "
            f"({float(info.video.average_rate or 25):.3f} fps), so the input's variable frame "
            "timing is not kept"
        )
    if info.video.rotation and not options.decode.apply_rotation:
        warnings.append(
            f"{path} cannot carry the rotation tag ({info.video.rotation} degrees): frames are "
            "written as stored (--apply-rotation turns them upright)"
        )
    return warnings
