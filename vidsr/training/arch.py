"""The networks vidsr trains (built by ``models.archs``), and moving weights between scales."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vidsr.errors import ModelWeightsError, UnsupportedModelError
from vidsr.models.archs import ArchInfo, get_arch
from vidsr.models.archs.srvgg import last_conv, scale_of


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


def srvgg_scale(state: Mapping[str, torch.Tensor]) -> int:
    """The scale of an SRVGGNetCompact state_dict, from its last convolution's outputs."""
    try:
        return scale_of(state)
    except UnsupportedModelError as exc:
        raise ModelWeightsError(str(exc)) from exc


def adapt_upsampler(
    state: Mapping[str, torch.Tensor], from_scale: int, to_scale: int
) -> dict[str, torch.Tensor]:
    """Re-target an SRVGGNetCompact state_dict's last convolution to a smaller scale.

    The last conv emits ``3 * s * s`` channels that pixel-shuffle into ``s x s`` sub-pixels per
    colour. For ``to_scale`` dividing ``from_scale`` each new sub-pixel takes the mean of the
    ``r x r`` old sub-pixels it covers (``r = from_scale // to_scale``): the new network starts as
    the old one followed by an ``r x r`` box reduction, instead of from random noise.
    """
    if from_scale == to_scale:
        return dict(state)
    if from_scale % to_scale:
        raise ModelWeightsError(f"cannot adapt an x{from_scale} upsampler to x{to_scale}")
    last = last_conv(state)
    w, b = state[f"{last}.weight"], state[f"{last}.bias"]
    r, s, t = from_scale // to_scale, from_scale, to_scale
    if w.shape[0] != 3 * s * s:
        raise ModelWeightsError(f"{last} has {w.shape[0]} outputs, not 3 x {s}^2")
    w6 = w.reshape(3, t, r, t, r, *w.shape[1:]).mean(dim=(2, 4))
    b6 = b.reshape(3, t, r, t, r).mean(dim=(2, 4))
    out = dict(state)
    out[f"{last}.weight"] = w6.reshape(3 * t * t, *w.shape[1:]).contiguous()
    out[f"{last}.bias"] = b6.reshape(3 * t * t).contiguous()
    return out
