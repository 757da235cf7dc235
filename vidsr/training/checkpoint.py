"""Checkpoints (everything needed to resume exactly) and shipped weights files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vidsr.errors import ModelWeightsError
from vidsr.models.weights import sha256_file


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise ModelWeightsError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def save_weights(
    path: str | Path,
    state_dict: dict[str, torch.Tensor],
    ema_state_dict: dict[str, torch.Tensor] | None = None,
) -> str:
    """Save a shippable weights file and return its sha256.

    ``{"params": fp32 state_dict}``, plus ``"params_ema"`` (which loaders prefer) when an
    exponential moving average of the weights is given. No optimizer state is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def clean(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.detach().float().cpu().contiguous() for k, v in sd.items()}

    payload = {"params": clean(state_dict)}
    if ema_state_dict is not None:
        payload["params_ema"] = clean(ema_state_dict)
    torch.save(payload, path)
    return sha256_file(path)
