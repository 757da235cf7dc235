"""Still pictures as tensors: listing and reading image files, 8-bit round trips, JPEG coding.

Evaluation (image sets) and training (crops, degradations) both read their images here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidsr.errors import CorruptInputError, InputNotFoundError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def list_images(folders: Iterable[str | Path]) -> list[Path]:
    """Every image file directly inside ``folders``, sorted by path (a stable data list)."""
    out: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputNotFoundError(f"image folder not found: {folder}")
        out.extend(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not out:
        raise InputNotFoundError("no images in: " + ", ".join(str(f) for f in folders))
    return sorted(out)


def load_rgb(path: str | Path) -> torch.Tensor:
    """An image file as a (3, H, W) float32 tensor in [0, 1] (greyscale is replicated to RGB);
    CorruptInputError when it cannot be read."""
    try:
        with Image.open(path) as im:
            arr = np.array(im.convert("RGB"), dtype=np.uint8)
    except OSError as exc:  # PIL's UnidentifiedImageError included
        raise CorruptInputError(f"cannot read the image {path}: {exc}") from exc
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous().float().div_(255.0)


def image_to_uint8(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) float [0, 1] -> (H, W, 3) uint8, rounded."""
    return (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def image_from_uint8(arr: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 on [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float() / 255.0


def jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """Round-trip (3, H, W) in [0, 1] through Pillow's JPEG encoder (4:2:0) at ``quality``."""
    buf = io.BytesIO()
    Image.fromarray(image_to_uint8(img)).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return image_from_uint8(np.array(im.convert("RGB")))
