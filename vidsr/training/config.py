"""Training configuration: a frozen dataclass read from / written to YAML."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vidsr.errors import InvalidOptionError


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved next to the weights for reproducibility).

    Relative paths (``train_dirs``, ``val_dir``, ``init``, ``out_dir``) are resolved against the
    folder given to :func:`load_config` (the repository root for the shipped configs).
    ``init`` is a weights file or a catalog model name (``realesr-animevideov3``), or None.
    ``degradation`` is ``bicubic`` (benchmark LR) or ``restore`` (blur/noise/JPEG/H.264 chain);
    ``val_jpeg`` > 0 validates on bicubic LR re-compressed as JPEG at that quality.
    ``pixel_loss`` is ``l1``, ``charbonnier`` or ``l2`` (MSE, what PSNR measures).
    ``ema_decay`` > 0 keeps an exponential moving average of the weights (e.g. 0.999), updated
    after every step; validation and the saved ``params_ema`` use it. 0 turns it off.
    ``new_lr_scale`` multiplies the learning rate of the tensors ``init`` does not provide (a
    multi-frame network's neighbour convolution, started at zero); ``freeze_init`` keeps the
    tensors ``init`` provides fixed and trains only the others.
    An architecture that reads neighbouring frames (``MultiFrameSRVGG``) trains on sequences
    generated from ``train_dirs`` by known motion (``training/sequences.py``) and validates on
    fixed sequences generated from ``val_dir``; with ``train_clips`` (videos whose frames are
    the ground truth, the first ``clip_frames`` of each), a ``clip_share`` of its samples are
    cut from those instead (keep clips used for evaluation out of them).
    """

    name: str
    scale: int
    degradation: str = "bicubic"
    arch: str = "SRVGGNetCompact"
    params: dict[str, Any] = field(default_factory=lambda: {"num_feat": 64, "num_conv": 16})
    init: str | None = None
    train_dirs: tuple[str, ...] = ()
    train_clips: tuple[str, ...] = ()
    clip_frames: int = 60
    clip_share: float = 0.0
    val_dir: str | None = None
    val_jpeg: int = 0
    hr_crop: int = 192
    batch_size: int = 16
    steps: int = 1000
    lr: float = 2e-4
    lr_min: float = 1e-6
    warmup_steps: int = 0
    pixel_loss: str = "l1"
    ema_decay: float = 0.0
    new_lr_scale: float = 1.0
    freeze_init: bool = False
    fft_weight: float = 0.0
    perceptual_weight: float = 0.0
    vgg_weights: str | None = None
    seed: int = 0
    val_every: int = 200
    ckpt_every: int = 200
    bf16: bool = True
    channels_last: bool = True
    threads: int = 1
    out_dir: str = "runs"

    def __post_init__(self) -> None:
        if self.degradation not in ("bicubic", "restore"):
            raise InvalidOptionError(f"degradation must be bicubic or restore: {self.degradation}")
        if self.scale not in (2, 3, 4):
            raise InvalidOptionError(f"scale must be 2, 3 or 4, not {self.scale}")
        if self.hr_crop % self.scale:
            raise InvalidOptionError("hr_crop must be a multiple of scale")
        if self.steps < 1 or self.batch_size < 1:
            raise InvalidOptionError("steps and batch_size must be positive")
        if self.pixel_loss not in ("l1", "charbonnier", "l2"):
            raise InvalidOptionError(f"pixel_loss must be l1, charbonnier or l2: {self.pixel_loss}")
        if not self.new_lr_scale > 0:
            raise InvalidOptionError(f"new_lr_scale must be positive: {self.new_lr_scale}")
        if not 0.0 <= self.clip_share <= 1.0 or (self.clip_share > 0 and not self.train_clips):
            raise InvalidOptionError(
                f"clip_share must be in [0, 1], with train_clips: {self.clip_share}"
            )
        if self.clip_frames < 1:
            raise InvalidOptionError(f"clip_frames must be positive: {self.clip_frames}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InvalidOptionError(f"ema_decay must be in [0, 1): {self.ema_decay}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists) for YAML."""
        d = asdict(self)
        d["train_dirs"] = list(self.train_dirs)
        d["train_clips"] = list(self.train_clips)
        return d


def config_from_dict(data: dict[str, Any], base: str | Path | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig`, resolving relative paths against ``base`` when given."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(data) - known
    if unknown:
        raise InvalidOptionError(f"unknown training options: {sorted(unknown)}")
    d = dict(data)
    if base is not None:
        b = Path(base)

        def res(p: str) -> str:
            return str(p) if Path(p).is_absolute() else str((b / p).resolve())

        d["train_dirs"] = [res(p) for p in d.get("train_dirs", ())]
        d["train_clips"] = [res(p) for p in d.get("train_clips", ())]
        for key in ("val_dir", "out_dir", "vgg_weights"):
            if d.get(key):
                d[key] = res(d[key])
        init = d.get("init")
        if init and ("/" in init or init.endswith((".pth", ".pt"))):
            d["init"] = res(init)
    d["train_dirs"] = tuple(d.get("train_dirs", ()))
    d["train_clips"] = tuple(d.get("train_clips", ()))
    return TrainConfig(**d)


def load_config(path: str | Path, base: str | Path | None = None) -> TrainConfig:
    """Read a YAML training config; relative paths resolve against ``base``."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path}: a training config is a YAML mapping")
    return config_from_dict(data, base)
