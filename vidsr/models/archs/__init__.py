"""Network architectures: one module per architecture, each holding one :class:`Architecture`
that detects itself from a state_dict and knows how to build, pad, size and run its network.

Adding an architecture is one module here (an :class:`Architecture` subclass and its instance),
its entry in :data:`KNOWN_ARCHS`, and a catalog YAML naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from vidsr.errors import UnsupportedModelError
from vidsr.models.archs import resamplers, rrdbnet, srvgg, srvgg_backproject, srvgg_multiframe
from vidsr.models.archs.base import ArchInfo, Architecture

KNOWN_ARCHS: tuple[Architecture, ...] = (
    srvgg_backproject.ARCH,  # these two before srvgg: their state_dicts hold its keys too
    srvgg_multiframe.ARCH,
    srvgg.ARCH,
    rrdbnet.ARCH,
    resamplers.BICUBIC,
    resamplers.LANCZOS,
)
"""Every architecture vidsr knows, in detection order."""

__all__ = [
    "KNOWN_ARCHS",
    "ArchInfo",
    "Architecture",
    "arch_names",
    "build_module",
    "detect_arch",
    "get_arch",
    "module_from_state_dict",
]


def arch_names() -> tuple[str, ...]:
    """The names catalog YAML files may give as ``arch``."""
    return tuple(a.name for a in KNOWN_ARCHS)


def get_arch(name: str) -> Architecture:
    """The architecture called ``name`` (UnsupportedModelError listing the known ones)."""
    for arch in KNOWN_ARCHS:
        if arch.name == name:
            return arch
    raise UnsupportedModelError(f"unknown architecture {name!r}; known: {', '.join(arch_names())}")


def detect_arch(
    state: Mapping[str, torch.Tensor],
    act_hint: str | None = None,
) -> ArchInfo:
    """Identify the architecture of a canonical state_dict (see ``weights.canonicalize``).

    ``act_hint`` chooses the activation of an SRVGGNetCompact without PReLU weights, which the
    weights alone cannot tell (``relu`` or ``leakyrelu``; LeakyReLU is assumed otherwise).
    """
    for arch in KNOWN_ARCHS:
        found = arch.detect(state, act_hint)
        if found is not None:
            return found
    sample = ", ".join(list(state)[:6])
    networks = ", ".join(a.name for a in KNOWN_ARCHS if not a.classical)
    raise UnsupportedModelError(
        f"unrecognised network ({len(state)} tensors; first keys: {sample}); "
        f"supported: {networks} (basicsr key names)"
    )


def build_module(info: ArchInfo) -> nn.Module:
    """A fresh (untrained) module for ``info``."""
    return info.build()


def module_from_state_dict(
    state: Mapping[str, torch.Tensor],
    info: ArchInfo | None = None,
) -> tuple[nn.Module, ArchInfo]:
    """Detect (unless ``info`` is given), build and strictly load a module in eval mode."""
    info = info or detect_arch(state)
    module = build_module(info)
    try:
        module.load_state_dict(dict(state), strict=True)
    except RuntimeError as exc:
        raise UnsupportedModelError(f"weights do not fit {info.arch}: {exc}") from exc
    module.eval().requires_grad_(False)
    return module, info
