"""The networks vidsr trains (built by ``models.archs``), and starting one from other weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.errors import ModelWeightsError
from vidsr.models.archs import ArchInfo, get_arch


def build_model(arch: str, scale: int, params: Mapping[str, Any] | None = None) -> nn.Module:
    """A freshly initialised network (``arch`` as in the model catalog; missing parameters take
    the architecture's defaults)."""
    return ArchInfo(get_arch(arch), scale, dict(params or {})).build()


def load_matching(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy every tensor of ``state`` whose name and shape match ``model``; return skipped names.

    This is how an x4 network initialises an x2 one: the body is shared, the last convolution
    (3 * scale**2 outputs) differs and keeps its fresh initialisation.
    """
    own = model.state_dict()
    taken = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not taken:
        raise ModelWeightsError("no tensor of the initial weights fits this network")
    own.update(taken)
    model.load_state_dict(own)
    return sorted(set(own) - set(taken))
