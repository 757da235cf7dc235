"""Fidelity evaluation of an upscaler on an image set (or a folder of frames).

Standard SR conventions: HR cropped to a multiple of the scale; LR made by MATLAB-compatible
bicubic reduction (or read from a folder of official LR images); outputs rounded to 8 bits; PSNR
and SSIM on BT.601 Y with ``scale`` pixels of border ignored. Bicubic up-scaling of the same LR is
measured alongside as the baseline. Results are plain dicts (JSON-ready); nothing is printed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vidsr.config import ModelOptions
from vidsr.errors import InputNotFoundError, InvalidOptionError
from vidsr.quality.metrics import psnr_y, ssim_y
from vidsr.quality.pictures import jpeg, list_images, load_rgb
from vidsr.quality.resize import bicubic_lr, imresize, mod_crop, quantize

if TYPE_CHECKING:
    from vidsr.models import Upscaler

Upscale = Callable[[torch.Tensor], torch.Tensor]
"""(1, 3, h, w) float [0, 1] -> (1, 3, h*s, w*s) float."""


def _find_lr(lr_dir: Path, stem: str) -> Path:
    for cand in sorted(lr_dir.iterdir()):
        if cand.stem == stem or (cand.stem.startswith(stem) and cand.stem[len(stem) :][:1] == "x"):
            return cand
    raise InputNotFoundError(f"no LR image for {stem} in {lr_dir}")


def make_lr(hr: torch.Tensor, scale: int, jpeg_quality: int = 0) -> torch.Tensor:
    """Benchmark LR of ``hr`` (3, H, W): MATLAB bicubic, 8-bit; then JPEG when quality > 0."""
    lr = hr.clone() if scale == 1 else bicubic_lr(hr, scale)
    return jpeg(lr, jpeg_quality) if jpeg_quality > 0 else lr


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline: MATLAB bicubic up-scaling of (..., h, w) by ``scale``, clamped to [0, 1]."""
    if scale == 1:
        return lr.clamp(0, 1)
    return imresize(lr, float(scale)).clamp(0, 1)


def evaluate(
    upscale: Upscale | None,
    hr_dir: str | Path,
    scale: int,
    *,
    lr_dir: str | Path | None = None,
    jpeg_quality: int = 0,
    limit: int | None = None,
    ssim: bool = True,
) -> dict[str, Any]:
    """Score ``upscale`` (None: only the bicubic baseline) on the HR images of ``hr_dir``.

    ``lr_dir`` holds ready-made LR images (``name.png`` or ``namex4.png``); without it LR images are
    made with :func:`make_lr` (``jpeg_quality`` > 0 adds JPEG compression). Returns
    ``{"scale", "images": [{"name", "psnr", "ssim", "bicubic_psnr", "bicubic_ssim"}],
    "psnr", "ssim", "bicubic_psnr", "bicubic_ssim", "seconds"}`` (means over images).
    PSNR of identical images is ``inf``.
    """
    from vidsr.pipeline.stages import upscale_alone  # a lazy import: it loads PyAV

    if scale < 1:
        raise InvalidOptionError(f"scale must be a positive integer, not {scale}")
    paths = list_images([hr_dir])[:limit]
    rows: list[dict[str, Any]] = []
    model_s = 0.0
    for path in paths:
        hr = mod_crop(load_rgb(path), scale)
        if lr_dir is not None:
            lr = load_rgb(_find_lr(Path(lr_dir), path.stem))
            if jpeg_quality > 0:
                lr = jpeg(lr, jpeg_quality)
        else:
            lr = make_lr(hr, scale, jpeg_quality)
        if lr.shape[-2] * scale != hr.shape[-2] or lr.shape[-1] * scale != hr.shape[-1]:
            raise InvalidOptionError(
                f"{path.name}: LR {tuple(lr.shape)} does not match HR x{scale}"
            )
        row: dict[str, Any] = {"name": path.name}
        base = quantize(bicubic_upscale(lr, scale))
        row["bicubic_psnr"] = psnr_y(base, hr, crop_border=scale)
        row["bicubic_ssim"] = ssim_y(base, hr, crop_border=scale) if ssim else None
        if upscale is not None:
            t0 = time.perf_counter()
            with torch.inference_mode():
                sr = upscale_alone(upscale, lr[None].contiguous())[0].float().cpu()
            model_s += time.perf_counter() - t0
            if sr.shape != hr.shape:
                raise ValueError(
                    f"{path.name}: model output {tuple(sr.shape)} is not HR {tuple(hr.shape)}"
                )
            sr = quantize(sr)
            row["psnr"] = psnr_y(sr, hr, crop_border=scale)
            row["ssim"] = ssim_y(sr, hr, crop_border=scale) if ssim else None
        rows.append(row)
    return {
        "dataset": str(hr_dir),
        "scale": scale,
        "jpeg_quality": jpeg_quality,
        "images": rows,
        **{key: _mean(rows, key) for key in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")},
        "seconds": model_s,
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    if not vals:
        return None
    return math.inf if any(math.isinf(v) for v in vals) else sum(vals) / len(vals)


def load_for_evaluation(model: ModelOptions) -> tuple[Upscaler, int]:
    """Load the model ``model`` names (catalog name or ``.pth``) as the pipeline does; returns it
    and its integer scale (InvalidOptionError for a fractional one: benchmarks crop by it)."""
    from vidsr.pipeline.stages import load_model_for

    upscaler = load_model_for(model)
    factor = round(upscaler.scale)
    if abs(upscaler.scale - factor) > 1e-9 or factor < 1:
        raise InvalidOptionError(f"evaluation needs an integer scale, not {upscaler.scale}")
    return upscaler, factor


def model_fields(upscaler: Upscaler) -> dict[str, str]:
    """``model``, ``precision`` and ``device`` of a result."""
    return {
        "model": upscaler.name,
        "precision": str(upscaler.dtype).removeprefix("torch."),
        "device": str(upscaler.device),
    }


def evaluate_model(
    model: ModelOptions,
    hr_dir: str | Path,
    *,
    lr_dir: str | Path | None = None,
    jpeg_quality: int = 0,
    limit: int | None = None,
    ssim: bool = True,
) -> dict[str, Any]:
    """Load the model ``model`` names (catalog name or ``.pth``; scores are recorded in fp32,
    ``vidsr eval``'s default precision) and score it with :func:`evaluate`. The result also
    holds ``model``, ``precision`` and ``device``."""
    upscaler, factor = load_for_evaluation(model)
    result = evaluate(
        upscaler, hr_dir, factor, lr_dir=lr_dir, jpeg_quality=jpeg_quality, limit=limit, ssim=ssim
    )
    return {**model_fields(upscaler), **result}


def json_ready(result: Any) -> Any:
    """``result`` with infinities as the string ``"inf"`` (strict JSON has no Infinity)."""
    if isinstance(result, float) and math.isinf(result):
        return "inf" if result > 0 else "-inf"
    if isinstance(result, dict):
        return {k: json_ready(v) for k, v in result.items()}
    if isinstance(result, list | tuple):
        return [json_ready(v) for v in result]
    return result
