"""The training loop: seeded, bf16 autocast + channels_last on CPU (AMX), CUDA when present.

:func:`train` writes into ``<out_dir>/<name>/``: ``config.yaml`` and ``data_list.txt`` (what the
run used), ``checkpoint.pt`` (resumable state), ``log.jsonl`` (loss / validation history) and
``<name>.pth`` (the final weights: ``params``, plus ``params_ema`` when ``ema_decay`` > 0, which
loaders prefer). Progress goes to an ``on_event`` callback; nothing is printed.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from vidsr.errors import InvalidOptionError
from vidsr.models.archs import ArchInfo, get_arch
from vidsr.quality.image_sets import evaluate
from vidsr.quality.pictures import list_images, load_rgb
from vidsr.training.arch import build_model, load_matching
from vidsr.training.checkpoint import load_checkpoint, save_checkpoint, save_weights
from vidsr.training.config import TrainConfig
from vidsr.training.data import CropSampler
from vidsr.training.degrade import RestoreChain
from vidsr.training.losses import CombinedLoss
from vidsr.training.sequences import SequenceSampler, evaluate_sequences, load_clip

Event = dict[str, Any]


@dataclass
class TrainResult:
    """What a finished run produced."""

    weights: Path
    sha256: str
    steps: int
    seconds: float
    last_val_psnr: float | None
    history: list[Event]


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step``: linear warm-up, then cosine decay from ``lr`` to ``lr_min``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    t = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


class WeightEMA:
    """Exponential moving average of a model's weights: ``ema = decay * ema + (1 - decay) * w``.

    Starts as a copy of the model (after its initial weights are loaded) and is updated after
    every optimiser step; buffers are copied as they are.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.module.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1.0 - self.decay)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)


def pick_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Trainer:
    """One training run; build it, then call :meth:`run` (optionally after :meth:`resume`)."""

    def __init__(
        self,
        cfg: TrainConfig,
        images: list[torch.Tensor] | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.cfg = cfg
        self.device = device or pick_device()
        if self.device.type == "cpu" and cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.data_list: list[str] = []
        if images is None:
            if not cfg.train_dirs:
                raise InvalidOptionError("no train_dirs in the training config")
            paths = list_images(cfg.train_dirs)
            self.data_list = [str(p) for p in paths]
            images = [load_rgb(p) for p in paths]
        self.model = build_model(cfg.arch, cfg.scale, cfg.params)
        fresh: list[str] = []  # tensors the initial weights did not provide
        if cfg.init:
            from vidsr.training.init import initial_state_dict

            state = initial_state_dict(cfg.init)
            state = get_arch(cfg.arch).retarget(state, cfg.scale)
            fresh = load_matching(self.model, state)
        self.model.to(self.device)
        if cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)
        # a network reading neighbours trains on generated sequences (bicubic LR only)
        self.neighbours = ArchInfo(get_arch(cfg.arch), cfg.scale, dict(cfg.params)).neighbours
        self.sampler: CropSampler | SequenceSampler
        if self.neighbours:
            if cfg.degradation != "bicubic":
                raise InvalidOptionError("a multi-frame network trains on bicubic LR only")
            clips = [load_clip(c, cfg.clip_frames) for c in cfg.train_clips]
            self.data_list += list(cfg.train_clips)
            self.sampler = SequenceSampler(
                images, cfg.scale, cfg.hr_crop, self.neighbours, seed=cfg.seed,
                clips=clips, clip_share=cfg.clip_share,
            )  # fmt: skip
        else:
            degrade = RestoreChain(cfg.scale) if cfg.degradation == "restore" else None
            self.sampler = CropSampler(images, cfg.scale, cfg.hr_crop, degrade, seed=cfg.seed)
        self.ema = WeightEMA(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        if cfg.freeze_init and fresh:
            for n, p in self.model.named_parameters():
                p.requires_grad_(n in fresh)
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for n, p in named if n not in fresh], "lr_scale": 1.0},
            {"params": [p for n, p in named if n in fresh], "lr_scale": cfg.new_lr_scale},
        ]
        groups = [grp for grp in groups if grp["params"]]
        self.opt = torch.optim.Adam(groups, lr=cfg.lr, betas=(0.9, 0.99))
        self.loss_fn = CombinedLoss(
            pixel=cfg.pixel_loss,
            fft_weight=cfg.fft_weight,
            perceptual_weight=cfg.perceptual_weight,
            vgg_weights=cfg.vgg_weights,
        ).to(self.device)
        self.step = 0
        self.history: list[Event] = []
        self.elapsed = 0.0

    # -- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this run is."""
        return {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "model": self.model.state_dict(),
            **({"model_ema": self.ema.module.state_dict()} if self.ema is not None else {}),
            "optimizer": self.opt.state_dict(),
            "sampler": self.sampler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "history": json.dumps(self.history),
            "elapsed": self.elapsed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        if self.ema is not None:
            # A checkpoint written without EMA starts the average at its weights.
            self.ema.module.load_state_dict(state.get("model_ema", state["model"]))
        self.opt.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])
        self.history = json.loads(state["history"])
        self.elapsed = float(state["elapsed"])

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint file written by this trainer."""
        self.load_state_dict(load_checkpoint(path))

    # -- work --------------------------------------------------------------------------------
    def _autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16)

    def train_step(self) -> float:
        """One optimisation step; returns the loss."""
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr_at(cfg, self.step) * group["lr_scale"]
        lr, hr = self.sampler.batch(cfg.batch_size)
        lr, hr = lr.to(self.device), hr.to(self.device)
        if cfg.channels_last:
            lr = lr.contiguous(memory_format=torch.channels_last)
        self.model.train()
        with self._autocast():
            out = self.model(lr)
        loss = self.loss_fn(out.float(), hr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        return float(loss.detach())

    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        """Inference with the current weights, the EMA when kept (same precision as training)."""
        model = self.ema.module if self.ema is not None else self.model
        model.eval()
        x = lr.to(self.device)
        if self.cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self._autocast():
            return model(x).float().clamp(0, 1).cpu()

    def validate(self) -> float | None:
        """Mean Y PSNR on ``val_dir`` (None when there is no validation set)."""
        if not self.cfg.val_dir or not Path(self.cfg.val_dir).is_dir():
            return None
        if self.neighbours:  # fixed generated sequences of the validation images
            images = [(p.name, load_rgb(p)) for p in list_images([self.cfg.val_dir])]
            seq = evaluate_sequences(self.upscale, images, self.cfg.scale, self.neighbours)
            return float(seq["psnr"])
        res = evaluate(
            self.upscale,
            self.cfg.val_dir,
            self.cfg.scale,
            jpeg_quality=self.cfg.val_jpeg,
            ssim=False,
        )
        return float(res["psnr"])

    def run(self, on_event: Callable[[Event], None] | None = None) -> TrainResult:
        """Train to ``cfg.steps``, checkpointing and validating on the way."""
        cfg = self.cfg
        out = Path(cfg.out_dir) / cfg.name
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), "utf-8")
        if self.data_list:
            (out / "data_list.txt").write_text("\n".join(self.data_list) + "\n", "utf-8")
        emit = on_event or (lambda e: None)
        val = None
        t_last = time.perf_counter()
        while self.step < cfg.steps:
            loss = self.train_step()
            now = time.perf_counter()
            self.elapsed += now - t_last
            t_last = now
            event: Event = {"step": self.step, "loss": loss, "lr": lr_at(cfg, self.step - 1)}
            last = self.step == cfg.steps
            if cfg.val_every and (self.step % cfg.val_every == 0 or last):
                val = self.validate()
                event["val_psnr"] = val
                t_last = time.perf_counter()
            event["seconds"] = round(self.elapsed, 2)
            if "val_psnr" in event or self.step % 10 == 0:
                self.history.append(event)
                with open(out / "log.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps(event) + "\n")
            if cfg.ckpt_every and (self.step % cfg.ckpt_every == 0 or last):
                save_checkpoint(out / "checkpoint.pt", self.state_dict())
            emit(event)
        weights = out / f"{cfg.name}.pth"
        ema = self.ema.module.state_dict() if self.ema is not None else None
        sha = save_weights(weights, self.model.state_dict(), ema)
        return TrainResult(weights, sha, self.step, self.elapsed, val, self.history)


def train(
    cfg: TrainConfig,
    resume: str | Path | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> TrainResult:
    """Build a :class:`Trainer` for ``cfg``, optionally resume, and run it."""
    trainer = Trainer(cfg)
    if resume is not None:
        trainer.resume(resume)
    return trainer.run(on_event)
