"""What the page shows of a video: the probe summary, thumbnails, before/after pictures.

PyAV and Pillow only (no torch): this runs in the server's thread pool, not in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from vidsr.errors import CorruptInputError
from vidsr.media.mux import StreamAction, other_stream_actions
from vidsr.media.probe import demux, main_video_stream, open_input, probe
from vidsr.paths import default_output_path
from vidsr.types import MediaInfo

THUMB_WIDTH = 160
EPS = 1e-6


def _fraction(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def summary(info: MediaInfo, output: str | None = None) -> dict[str, Any]:
    """What ``vidsr probe`` knows, as JSON: the video stream and what writing ``output`` (the
    default output name when None) does with every other stream, as the mux decides it."""
    v = info.video
    output = output or default_output_path(info.path, 4)  # the container, not the scale, counts
    actions = other_stream_actions(info.path, output) if info.others else {}
    interlaced = v.field_order not in ("progressive", "unknown")
    hdr = {16: "PQ (HDR10)", 18: "HLG"}.get(v.color.transfer)
    return {
        "format": info.format_name,
        "duration_s": info.duration_s or v.duration_s or 0.0,
        "video": {
            "index": v.index,
            "codec": v.codec,
            "width": v.width,
            "height": v.height,
            "pix_fmt": v.pix_fmt,
            "bit_depth": v.bit_depth,
            "fps": float(v.average_rate) if v.average_rate else None,
            "rate": _fraction(v.average_rate),
            "variable_rate": v.variable_rate,
            "frames": v.frames,
            "sample_aspect_ratio": _fraction(v.sample_aspect_ratio),
            "rotation": v.rotation,
            "field_order": v.field_order,
            "interlaced": interlaced,
            "deinterlace": "bwdif" if interlaced else None,
            "colour": v.color.describe(),
            "hdr": hdr,
        },
        "streams": [
            {
                "index": s.index,
                "kind": s.kind,
                "codec": s.codec,
                "language": s.language,
                "channels": s.channels,
                "sample_rate": s.sample_rate,
                "action": actions.get(s.index, StreamAction.LEFT_OUT).value,
            }
            for s in info.others
        ],
    }


def probe_summary(path: str) -> dict[str, Any]:
    """Probe ``path`` (VidsrError with the CLI's one-line message if it is not a video)."""
    return summary(probe(path))


def _rgb(frame: av.VideoFrame, width: int | None = None, height: int | None = None) -> np.ndarray:
    """RGB24 with the stream's matrix and range (untagged: FFmpeg's guess by size)."""
    tagged = int(frame.colorspace) not in (0, 2)
    src = int(frame.colorspace) if tagged else (1 if frame.height >= 720 else 5)
    rng = 2 if int(frame.color_range) == 2 else 1
    out = frame.reformat(
        width=width, height=height, format="rgb24", src_colorspace=src, src_color_range=rng
    )
    return out.to_ndarray()


def _frames_from(path: str, start: float):
    """Decoded (time, frame) pairs of the main video stream from ``start`` seconds on."""
    with open_input(path) as container:
        stream = main_video_stream(container)
        if start > 0 and stream.time_base:
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
        for frame in (f for packet in demux(container, stream) for f in packet.decode()):
            t = float(frame.time) if frame.time is not None else 0.0
            if t + EPS < start:
                continue
            yield t, frame


def thumbnails(path: str, duration: float, folder: Path, count: int = 8) -> list[Path]:
    """``count`` JPEG thumbnails evenly spread over the video, ``folder/thumb-N.jpg``."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    try:
        for i in range(count):
            at = duration * i / count
            for _t, frame in _frames_from(path, at):
                height = max(2, round(frame.height * THUMB_WIDTH / frame.width / 2) * 2)
                image = Image.fromarray(_rgb(frame, THUMB_WIDTH, height))
                target = folder / f"thumb-{i}.jpg"
                image.save(target, format="JPEG", quality=80)
                made.append(target)
                break
    except av.FFmpegError as err:
        raise CorruptInputError(f"cannot read a frame of {Path(path).name}: {err}") from err
    return made


@dataclass(frozen=True)
class FramePair:
    """The same moment of the input (scaled up without smoothing) and of the output."""

    before: Image.Image
    after: Image.Image
    time_s: float


def frame_pair(input_path: str, output_path: str, input_start: float, at: float) -> FramePair:
    """The output's frame at ``at`` s (its own clock) and the input's frame shown then.

    ``input_start`` is where the output's first frame sits in the input (a preview's window
    start; 0 for a whole video, whose output keeps the input's timestamps).
    """
    try:
        out_first = None
        after = None
        for t, frame in _frames_from(output_path, 0.0):
            out_first = t if out_first is None else out_first
            after = frame
            if t + EPS >= at:
                break
        if after is None or out_first is None:
            raise CorruptInputError(f"{Path(output_path).name} has no frame")
        out_time = float(after.time or 0.0)
        in_first = None
        before = None
        for t, frame in _frames_from(input_path, input_start):
            in_first = t if in_first is None else in_first
            before = frame
            if t + EPS >= in_first + (out_time - out_first):
                break
        if before is None:
            raise CorruptInputError(f"{Path(input_path).name} has no frame at {input_start} s")
        after_rgb = _rgb(after)
        before_img = Image.fromarray(_rgb(before)).resize(
            (after_rgb.shape[1], after_rgb.shape[0]), Image.Resampling.NEAREST
        )
    except av.FFmpegError as err:
        raise CorruptInputError(f"cannot read a frame: {err}") from err
    return FramePair(before_img, Image.fromarray(after_rgb), out_time)


def side_by_side(pair: FramePair) -> Image.Image:
    """Before | after in one picture (for the PNG download)."""
    w, h = pair.after.size
    canvas = Image.new("RGB", (2 * w, h))
    canvas.paste(pair.before, (0, 0))
    canvas.paste(pair.after, (w, 0))
    return canvas
