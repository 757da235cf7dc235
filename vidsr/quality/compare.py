"""Before/after pictures: side by side, or one frame split by a divider, with enlarged crops.

Images are (H, W, 3) uint8 arrays or (3, H, W) float tensors in [0, 1]; both sides must have the
same size (up-scale the "before" with :func:`upscale_nearest` or bicubic first). The result is a
Pillow image; nothing is shown or printed.

Layout (``gap`` = 8 px of ``background`` between parts):

* ``side``: ``before | after``, so the top panel is ``2 W + gap`` wide and ``H`` high;
* ``split``: one ``W x H`` panel, ``before`` left of ``split * W`` and ``after`` right of it, with a
  2 px divider;
* ``crops`` = n > 0 adds a strip under the panel: n pairs of square crops (before, after) of side
  ``crop`` (default ``min(H, W) // 4``), each enlarged to a square ``tile`` of
  ``(panel_w - (2n - 1) gap) // 2n`` pixels with nearest-neighbour (so pixels stay visible).
  The strip adds ``gap + tile`` rows.
  Crop centres default to the most detailed places of ``after`` (largest gradient energy).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageDraw

from vidsr.config import ModelOptions
from vidsr.errors import InvalidOptionError, OutputPathError
from vidsr.quality.image_sets import bicubic_upscale

GAP = 8
DIVIDER = 2
Picture = np.ndarray | torch.Tensor


def to_uint8(img: Picture) -> np.ndarray:
    """An (H, W, 3) uint8 array from a uint8 array or a (3, H, W) / (1, 3, H, W) float tensor."""
    if isinstance(img, torch.Tensor):
        t = img.detach().float().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] != 3:
            raise ValueError(f"expected a (3, H, W) tensor, got {tuple(t.shape)}")
        return (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got {arr.shape}")
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    return arr


def upscale_nearest(img: Picture, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement (the honest view of the input's pixels)."""
    arr = to_uint8(img)
    return arr.repeat(scale, axis=0).repeat(scale, axis=1)


def detail_centres(img: np.ndarray, n: int, crop: int) -> list[tuple[int, int]]:
    """``n`` (y, x) centres of non-overlapping ``crop``-sized windows with the most gradient."""
    y = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    g = np.zeros_like(y)
    g[:, 1:] += np.abs(np.diff(y, axis=1))
    g[1:, :] += np.abs(np.diff(y, axis=0))
    h, w = g.shape
    cells = [
        (float(g[r : r + crop, c : c + crop].sum()), r + crop // 2, c + crop // 2)
        for r in range(0, h - crop + 1, max(1, crop // 2))
        for c in range(0, w - crop + 1, max(1, crop // 2))
    ]
    cells.sort(key=lambda t: -t[0])
    picked: list[tuple[int, int]] = []
    for _, cy, cx in cells:
        if all(abs(cy - py) >= crop or abs(cx - px) >= crop for py, px in picked):
            picked.append((cy, cx))
        if len(picked) == n:
            break
    return picked


def _crop(img: np.ndarray, centre: tuple[int, int], size: int) -> np.ndarray:
    h, w = img.shape[:2]
    top = min(max(0, centre[0] - size // 2), h - size)
    left = min(max(0, centre[1] - size // 2), w - size)
    return img[top : top + size, left : left + size]


def compare(
    before: Picture,
    after: Picture,
    mode: Literal["side", "split"] = "side",
    *,
    split: float = 0.5,
    crops: int = 2,
    crop: int | None = None,
    centres: Sequence[tuple[int, int]] | None = None,
    background: tuple[int, int, int] = (32, 32, 32),
) -> Image.Image:
    """Compose the before/after picture (see the module docstring for the exact layout)."""
    a, b = to_uint8(before), to_uint8(after)
    if a.shape != b.shape:
        raise ValueError(f"before {a.shape} and after {b.shape} differ in size")
    if mode not in ("side", "split"):
        raise InvalidOptionError(f"compare mode must be side or split, not {mode!r}")
    if not 0.0 < split < 1.0:
        raise InvalidOptionError("split must be strictly between 0 and 1")
    h, w = a.shape[:2]
    if mode == "side":
        panel_w = 2 * w + GAP
        panel = Image.new("RGB", (panel_w, h), background)
        panel.paste(Image.fromarray(a), (0, 0))
        panel.paste(Image.fromarray(b), (w + GAP, 0))
    else:
        panel_w = w
        cut = round(split * w)
        merged = np.concatenate([a[:, :cut], b[:, cut:]], axis=1)
        panel = Image.fromarray(merged)
        ImageDraw.Draw(panel).rectangle(
            [cut - DIVIDER // 2, 0, cut - DIVIDER // 2 + DIVIDER - 1, h - 1], fill=(255, 255, 255)
        )
    size = crop or max(1, min(h, w) // 4)
    if crops <= 0 or size > min(h, w):
        return panel
    tile = (panel_w - (2 * crops - 1) * GAP) // (2 * crops)
    if tile < 1:
        return panel
    spots = list(centres) if centres else detail_centres(b, crops, size)
    spots = (spots + spots[-1:] * crops)[:crops] if spots else [(h // 2, w // 2)] * crops
    out = Image.new("RGB", (panel_w, h + GAP + tile), background)
    out.paste(panel, (0, 0))
    x = 0
    for centre in spots:
        for img in (a, b):
            patch = Image.fromarray(_crop(img, centre, size)).resize((tile, tile), Image.NEAREST)
            out.paste(patch, (x, h + GAP))
            x += tile + GAP
    return out


def save_compare(image: Image.Image, path: str | Path) -> Path:
    """Save a comparison as PNG; returns the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputPathError(f"folder does not exist: {path.parent}")
    image.save(path, format="PNG")
    return path


def read_picture(path: str | Path, time_s: float = 0.0) -> np.ndarray:
    """An image file, or the first video frame at or after ``time_s``, as (H, W, 3) uint8 RGB.

    Anything that is not an image is opened as vidsr opens any input (containers, elementary
    streams, raw ``.yuv`` with its size in the name). Video frames are converted with the matrix
    and range the pipeline reads from it (:func:`vidsr.media.formats.color_info`, which also
    guesses an untagged one); the conversion itself is swscale's, a preview, not the pipeline.
    """
    import av

    from vidsr.errors import CorruptInputError, InputNotFoundError
    from vidsr.media.formats import color_info, output_tags
    from vidsr.media.images import IMAGE_EXTENSIONS
    from vidsr.media.probe import demux, main_video_stream, open_input

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"input not found: {path}")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        try:
            with Image.open(path) as im:
                return np.array(im.convert("RGB"))
        except OSError as exc:  # PIL's UnidentifiedImageError included
            raise CorruptInputError(f"cannot read the image {path}: {exc}") from exc
    try:
        with open_input(str(path)) as container:
            stream = main_video_stream(container)
            frames = (f for packet in demux(container, stream) for f in packet.decode())
            for frame in frames:
                if frame.time is not None and frame.time + 1e-6 < time_s:
                    continue
                color = color_info(frame, stream.codec_context, stream.width, stream.height)
                tags = output_tags(color)  # the guess written out, as on the output
                rgb = frame.reformat(
                    format="rgb24",
                    src_colorspace=tags["colorspace"],
                    src_color_range=tags["color_range"],
                )
                return rgb.to_ndarray()
    except av.error.FFmpegError as exc:
        raise CorruptInputError(f"cannot read a frame from {path}: {exc}") from exc
    raise CorruptInputError(f"{path} has no frame at {time_s} s")


def compare_upscale(
    picture: np.ndarray,
    upscale: object,
    scale: int,
    mode: Literal["side", "split"] = "side",
    *,
    before: Literal["nearest", "bicubic"] = "bicubic",
    split: float = 0.5,
    crops: int = 2,
) -> Image.Image:
    """Run ``upscale`` ((1, 3, h, w) float -> (1, 3, sh, sw)) on ``picture`` and compare it with
    the input enlarged by ``before`` (nearest or MATLAB bicubic) to the same size."""
    from vidsr.pipeline.stages import upscale_alone  # a lazy import: it loads PyAV

    x = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1).float()[None] / 255.0
    with torch.inference_mode():
        out = upscale_alone(upscale, x)  # type: ignore[arg-type]
    out = out.float().clamp(0, 1)
    if tuple(out.shape[-2:]) != (x.shape[-2] * scale, x.shape[-1] * scale):
        raise ValueError(f"model output {tuple(out.shape)} is not x{scale} of the input")
    if before == "nearest":
        base = upscale_nearest(picture, scale)
    else:
        base = to_uint8(bicubic_upscale(x[0], scale))
    return compare(base, out[0], mode, split=split, crops=crops)


def compare_file(
    source: str | Path,
    output: str | Path,
    model: ModelOptions = ModelOptions(),
    *,
    time_s: float = 0.0,
    mode: Literal["side", "split"] = "side",
    before: Literal["nearest", "bicubic"] = "bicubic",
    split: float = 0.5,
    crops: int = 2,
) -> Path:
    """Read ``source`` (image, or video frame at ``time_s``), upscale it with the model ``model``
    names (catalog name or ``.pth``), and save the before/after PNG to ``output``; returns
    ``output``."""
    from vidsr.pipeline.stages import load_model_for

    picture = read_picture(source, time_s)
    upscaler = load_model_for(model)
    factor = round(upscaler.scale)
    img = compare_upscale(picture, upscaler, factor, mode, before=before, split=split, crops=crops)
    return save_compare(img, output)
