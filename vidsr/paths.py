"""Output paths: default names, checks, and the temporary file (or folder) renamed at the end.

The output path never holds a half-written result: everything is written to a hidden sibling
(``.NAME.vidsr-tmp-PID.ext``, or a hidden folder for image sequences) and renamed into place
once complete.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vidsr.errors import OutputPathError
from vidsr.media.images import (
    IMAGE_EXTENSIONS,
    input_spec,
    is_image_output,
    is_pattern,
    output_spec,
)

_KEEP_EXTENSIONS = (".mp4", ".mkv", ".mov", ".m4v", ".ts")


def default_output_path(input_path: str, scale: float) -> str:
    """``clip.mp4`` -> ``clip_x4.mp4`` beside the input.

    Containers that can't hold H.264 (webm, avi, raw streams) give ``.mkv``; a photo gives a
    PNG; an image folder or pattern gives a folder ``NAME_x4/``.
    """
    tag = f"x{scale:g}"
    if input_spec(input_path).images and (os.path.isdir(input_path) or is_pattern(input_path)):
        base = input_path.rstrip("/" + os.sep)
        if is_pattern(base):
            base = os.path.dirname(base) or "frames"
        return f"{base}_{tag}{os.sep}"
    p = Path(input_path)
    suffix = p.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        ext = suffix if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff") else ".png"
    else:
        ext = suffix if suffix in _KEEP_EXTENSIONS else ".mkv"
    return str(p.with_name(f"{p.stem}_{tag}{ext}"))


def check_paths(input_path: str, output_path: str) -> None:
    """Refuse an output equal to the input, or in a folder that is missing or not writable."""
    out = Path(output_path)
    if os.path.abspath(output_path.rstrip("/")) == os.path.abspath(input_path.rstrip("/")):
        raise OutputPathError(f"output path is the input: {output_path}")
    if out.exists() and os.path.exists(input_path) and os.path.samefile(out, input_path):
        raise OutputPathError(f"output path is the input: {output_path}")
    folder = Path(os.path.dirname(os.path.abspath(output_path.rstrip("/" + os.sep))))
    if not folder.is_dir():
        raise OutputPathError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"output folder is not writable: {folder}")
    if out.is_dir() and not is_image_output(output_path):
        raise OutputPathError(f"output path is a folder: {output_path}")
    if out.exists() and not out.is_file() and not out.is_dir():
        raise OutputPathError(
            f"{output_path} is not a file (vidsr has no null output: for a quick try, "
            "write a short window, e.g. --duration 2 -o try.mp4)"
        )
    if not out.suffix and not is_image_output(output_path):
        raise OutputPathError(
            f"{output_path} has no extension to choose a container by: name a file "
            "(out.mp4, out.mkv) or a folder for image frames with a slash (out/)"
        )


def remove_dead_temporaries(output_path: str) -> None:
    """Delete ``.NAME.vidsr-tmp-PID.ext`` files beside the output left by killed processes."""
    out = Path(os.path.abspath(output_path.rstrip("/" + os.sep)))
    prefix = f".{out.stem}.vidsr-tmp-"
    for entry in out.parent.glob(f"{glob.escape(prefix)}*{glob.escape(out.suffix)}"):
        pid = entry.name[len(prefix) : len(entry.name) - len(out.suffix)]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if entry.is_dir():  # an image sequence's temporary folder
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@dataclass
class OutputTarget:
    """Where a run writes (``tmp``) and what it becomes at the end (``final``)."""

    final: str
    tmp: str
    images: bool
    folder: bool

    @classmethod
    def for_path(cls, output_path: str) -> OutputTarget:
        """The target for ``output_path`` with a temporary sibling unique to this process."""
        images = is_image_output(output_path)
        folder = images and (output_path.endswith(("/", os.sep)) or os.path.isdir(output_path))
        out = Path(output_path.rstrip("/" + os.sep))
        tag = f".vidsr-tmp-{os.getpid()}"
        if folder:
            tmp = str(out.with_name(f".{out.name}{tag}")) + os.sep
        elif is_pattern(out.name):
            tmp = str(out.parent / f".{out.parent.name or 'frames'}{tag}" / out.name)
        else:
            tmp = str(out.with_name(f".{out.stem}{tag}{out.suffix}"))
        return cls(final=output_path, tmp=tmp, images=images, folder=folder)

    def prepare(self) -> None:
        """Create the temporary folder an image sequence is written into."""
        if self.images and (self.folder or is_pattern(self.tmp)):
            os.makedirs(os.path.dirname(self.tmp), exist_ok=True)

    def image_output(self, frames: int):
        """(OpenSpec, encoder) for writing images to the temporary location."""
        return output_spec(self.tmp, frames)

    def commit(self) -> None:
        """Move the finished result into place (files of a sequence one by one)."""
        if self.images and (self.folder or is_pattern(self.tmp)):
            src = os.path.dirname(self.tmp)
            dst = (
                self.final.rstrip("/" + os.sep)
                if self.folder
                else os.path.dirname(self.final) or "."
            )
            os.makedirs(dst, exist_ok=True)
            for name in sorted(os.listdir(src)):
                os.replace(os.path.join(src, name), os.path.join(dst, name))
            os.rmdir(src)
            return
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        """Remove whatever was written."""
        if self.images and (self.folder or is_pattern(self.tmp)):
            shutil.rmtree(os.path.dirname(self.tmp), ignore_errors=True)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)
