"""Carry the input's other streams (audio, subtitles) into the output, interleaved with the video.

Audio and subtitle packets are stream-copied: bytes and timestamps unchanged (shifted only when a
preview window starts later than 0). A stream the output container cannot hold is transcoded
(audio to AAC) with a warning, or, for subtitles only, left out with a warning. Nothing is dropped
silently.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

import av

from vidsr.errors import OutputPathError
from vidsr.media.images import is_image_output
from vidsr.media.probe import demux, open_input
from vidsr.media.rawvideo import uncompressed_output
from vidsr.types import Window

log = logging.getLogger(__name__)

COPY_KINDS = ("audio", "subtitle")
_STANDARD_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 6: "5.1", 8: "7.1"}


def container_accepts(format_name: str, input_path: str, index: int) -> bool:
    """True if a ``format_name`` container can hold a copy of stream ``index`` of the input.

    Tried for real, in memory: the stream's first packet is muxed and the file finished, since
    some refusals (an unordered channel layout in MP4) only come when the trailer is written.
    """
    try:
        with av.open(input_path) as source:
            stream = source.streams[index]
            packet = next((p for p in demux(source, stream) if p.dts is not None and p.size), None)
            with av.open(io.BytesIO(), "w", format=format_name) as trial:
                out_stream = trial.add_stream_from_template(stream)
                trial.start_encoding()
                if packet is not None:
                    packet.stream = out_stream
                    trial.mux(packet)
        return True
    except (av.FFmpegError, ValueError, NotImplementedError):
        return False


class StreamAction(str, Enum):
    """What the mux does with one audio or subtitle stream of the input."""

    COPY = "copy"
    AAC = "transcode to AAC"
    OPUS = "transcode to Opus"
    LEFT_OUT = "left out"


OPUS_FORMATS = ("webm", "ogg")
"""Containers whose refused audio is transcoded to Opus (at 48 kHz); the others get AAC."""


def stream_action(format_name: str, input_path: str, stream) -> StreamAction:
    """What a ``format_name`` output does with ``stream`` of the input (an audio or subtitle
    stream): a copy when the container takes one, else audio is transcoded and subtitles are
    left out."""
    if container_accepts(format_name, input_path, stream.index):
        return StreamAction.COPY
    if stream.type == "audio":
        return StreamAction.OPUS if format_name in OPUS_FORMATS else StreamAction.AAC
    return StreamAction.LEFT_OUT


def attachment_action(format_name: str) -> StreamAction:
    """Attachments (fonts) are copied into Matroska and left out of anything else."""
    return StreamAction.COPY if format_name == "matroska" else StreamAction.LEFT_OUT


def output_format_name(output_path: str) -> str:
    """The container FFmpeg writes for ``output_path``'s name (as opening it would choose)."""
    suffix = os.path.splitext(output_path)[1]
    with tempfile.TemporaryDirectory(prefix="vidsr-format-") as folder:
        try:
            with av.open(os.path.join(folder, "probe" + suffix), "w") as trial:
                return trial.format.name.split(",")[0]
        except (av.FFmpegError, ValueError) as exc:
            raise OutputPathError(f"no container writes {output_path!r}: {exc}") from exc


def stream_plan(input_path: str, format_name: str) -> list[tuple[int, str, StreamAction]]:
    """(index, kind, action) for every audio, subtitle and attachment stream of the input in a
    ``format_name`` output: what :class:`StreamCopier` will do, said before any run."""
    plan: list[tuple[int, str, StreamAction]] = []
    with open_input(input_path) as source:
        for s in source.streams:
            if s.type in COPY_KINDS:
                plan.append((s.index, s.type, stream_action(format_name, input_path, s)))
            elif s.type == "attachment":
                plan.append((s.index, s.type, attachment_action(format_name)))
    return plan


def other_stream_actions(input_path: str, output_path: str) -> dict[int, StreamAction]:
    """Input stream index -> what writing ``output_path`` does with it, for the streams the mux
    handles; an image or uncompressed (bare-frame) output carries none, so it is empty."""
    if is_image_output(output_path) or uncompressed_output(output_path) is not None:
        return {}
    return {i: a for i, _, a in stream_plan(input_path, output_format_name(output_path))}


_PER_FILE_TAGS = {"duration", "encoder", "handler_name", "vendor_id"}


def copy_stream_tags(tags: dict[str, str], disposition: int, target) -> None:
    """Give ``target`` a stream's language, title and other tags, and its disposition."""
    for key, value in tags.items():
        if key.lower() not in _PER_FILE_TAGS:
            target.metadata[key] = value
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        target.disposition = disposition


@dataclass
class _Route:
    """Where the packets of one input stream go."""

    in_stream: object
    out_stream: object
    shift: int  # ticks of in_stream.time_base subtracted from every timestamp
    transcoder: av.AudioResampler | None = None  # set for audio transcoded to AAC


class StreamCopier:
    """Mux the input's audio/subtitle packets into ``output`` up to a given time."""

    def __init__(self, input_path: str, output, window: Window = Window()):
        self.window = window
        self._input = open_input(input_path)
        self._routes: dict[int, _Route] = {}
        self.plan: list[tuple[int, str, StreamAction]] = []  # (index, kind, action)
        fmt = output.format.name.split(",")[0]
        for stream in self._input.streams:
            if stream.type not in COPY_KINDS:
                continue
            shift = 0
            if window.shifts and stream.time_base:
                shift = round(window.start / stream.time_base) + (stream.start_time or 0)
            action = stream_action(fmt, input_path, stream)
            if action is StreamAction.COPY:
                out_stream = output.add_stream_from_template(stream)
                copy_stream_tags(dict(stream.metadata or {}), int(stream.disposition), out_stream)
                self._routes[stream.index] = _Route(stream, out_stream, shift)
                self.plan.append((stream.index, stream.type, action))
            elif action in (StreamAction.AAC, StreamAction.OPUS):
                opus = action is StreamAction.OPUS
                log.warning(
                    "stream %d (%s audio) cannot be copied into %s: transcoding it to %s",
                    stream.index, stream.codec_context.name, fmt, "Opus" if opus else "AAC",
                )  # fmt: skip
                rate = 48000 if opus else stream.codec_context.sample_rate
                layout = _STANDARD_LAYOUTS.get(stream.codec_context.channels, "stereo")
                codec = "libopus" if opus else "aac"
                out_stream = output.add_stream(codec, rate=rate, layout=layout)
                out_stream.bit_rate = 96_000 * stream.codec_context.channels
                copy_stream_tags(dict(stream.metadata or {}), int(stream.disposition), out_stream)
                # the encoder's own sample format (libopus: packed float), converted once
                resampler = av.AudioResampler(
                    format="flt" if opus else "fltp", layout=layout, rate=rate
                )
                self._routes[stream.index] = _Route(stream, out_stream, shift, resampler)
                self.plan.append((stream.index, stream.type, action))
            else:
                log.warning(
                    "stream %d (%s subtitles) cannot be stored in %s: left out (.mkv keeps it)",
                    stream.index, stream.codec_context.name, fmt,
                )  # fmt: skip
                self.plan.append((stream.index, stream.type, action))
        self._copy_attachments(output, fmt)
        self._copy_chapters(output)
        self._packets = self._pending()
        self._next = None
        self._done = not self._routes

    def _copy_attachments(self, output, fmt: str) -> None:
        """Fonts and other attachments (Matroska) go along where the output can hold them."""
        for stream in self._input.streams:
            if stream.type != "attachment":
                continue
            action = attachment_action(fmt)
            self.plan.append((stream.index, "attachment", action))
            if action is StreamAction.LEFT_OUT:
                log.warning(
                    "attachment %r left out: only .mkv output keeps attachments", stream.name
                )
                continue
            output.add_attachment(stream.name, stream.mimetype, bytes(stream.data))

    def _copy_chapters(self, output) -> None:
        """Chapters are kept (shifted and clipped to a preview window)."""
        chapters = self._input.chapters()
        if not chapters:
            return
        kept = []
        for ch in chapters:
            tb = ch["time_base"]
            start, end = float(ch["start"] * tb), float(ch["end"] * tb)
            if self.window.end is not None and start >= self.window.end:
                continue
            if end <= self.window.start:
                continue
            if self.window.shifts:
                start, end = max(0.0, start - self.window.start), end - self.window.start
                ch = {**ch, "start": round(start / tb), "end": round(end / tb)}
            kept.append(ch)
        try:
            output.set_chapters(kept)
        except (av.FFmpegError, ValueError, TypeError) as err:
            log.warning("chapters could not be written to this container: %s", err)

    def _pending(self) -> Iterator:
        streams = [r.in_stream for r in self._routes.values()]
        if not streams:
            return
        if self.window.start > 0:
            ref = streams[0]
            offset = int(self.window.start / ref.time_base) + (ref.start_time or 0)
            self._input.seek(offset, stream=ref, backward=True, any_frame=True)
        for packet in demux(self._input, *streams):
            if packet.dts is None or packet.size == 0:
                continue
            yield packet

    def _time(self, packet) -> float:
        route = self._routes[packet.stream.index]
        start = route.in_stream.start_time or 0
        ts = packet.pts if packet.pts is not None else packet.dts
        return float((ts - start) * packet.time_base)

    def mux_until(self, output, seconds: float | None) -> None:
        """Mux every pending packet whose time (from the input start) is below ``seconds``."""
        while not self._done:
            if self._next is None:
                self._next = next(self._packets, None)
                if self._next is None:
                    self._done = True
                    self._flush_transcoders(output)
                    return
            packet = self._next
            t = self._time(packet)
            if seconds is not None and t >= seconds:
                return
            self._next = None
            if self.window.start > 0 and t < self.window.start - 1e-6:
                continue
            if self.window.end is not None and t >= self.window.end - 1e-6:
                continue
            self._mux(output, packet)

    def _mux(self, output, packet) -> None:
        route = self._routes[packet.stream.index]
        if route.transcoder is not None:
            for frame in route.in_stream.codec_context.decode(packet):
                if frame.pts is not None:
                    frame.pts -= round(route.shift * route.in_stream.time_base / frame.time_base)
                    # count in samples: the encoder cuts its own frame size (1024 for AAC), and
                    # in a coarse time base (an AVI's, one tick per MP3 frame) those cuts round
                    # onto each other and the muxer refuses the repeated timestamps
                    rate = Fraction(frame.sample_rate)
                    frame.pts = round(frame.pts * frame.time_base * rate)
                    frame.time_base = 1 / rate
                for resampled in route.transcoder.resample(frame):
                    for out_packet in route.out_stream.encode(resampled):
                        output.mux(out_packet)
            return
        if route.shift:
            packet.pts = None if packet.pts is None else packet.pts - route.shift
            packet.dts = packet.dts - route.shift
        packet.stream = route.out_stream
        output.mux(packet)

    def _flush_transcoders(self, output) -> None:
        for route in self._routes.values():
            if route.transcoder is not None:
                for resampled in route.transcoder.resample(None):
                    for out_packet in route.out_stream.encode(resampled):
                        output.mux(out_packet)
                for out_packet in route.out_stream.encode(None):
                    output.mux(out_packet)

    def finish(self, output) -> None:
        """Mux everything left (up to the window's end) and close the input."""
        self.mux_until(output, None)
        self.close()

    def close(self) -> None:
        """Release the input."""
        self._input.close()
