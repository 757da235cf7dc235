"""What every architecture knows about itself (:class:`Architecture`), and one detected network
(:class:`ArchInfo`: an architecture with its scale and hyperparameters).

An architecture is one module in this package holding one :class:`Architecture` instance; the
package's ``KNOWN_ARCHS`` tuple lists them. Nothing registers itself on import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from vidsr.temporal.align import NeighbourViews

StateDict = Mapping[str, torch.Tensor]

ALL_PRECISIONS = (torch.float32, torch.bfloat16, torch.float16)


def element_bytes(dtype: torch.dtype) -> int:
    """Bytes of one element of ``dtype``."""
    return torch.finfo(dtype).bits // 8


class Architecture(ABC):
    """One family of networks (or a classical resampler): detection, construction, properties.

    ``scale`` below is the factor the module itself applies (an integer for networks, any
    positive float for resamplers); ``params`` the constructor's hyperparameters as the catalog
    YAML spells them.
    """

    name: str
    """The name catalog YAML files give as ``arch``."""
    classical: bool = False
    """True for weightless resamplers: nothing to detect, compile or tile."""
    precisions: tuple[torch.dtype, ...] = ALL_PRECISIONS
    """Compute dtypes the module runs in; the first is the fallback."""
    default_params: Mapping[str, Any] = {}
    """Hyperparameters used when a catalog entry or training config leaves them out."""
    casts_own_input: bool = False
    """True when the module takes float32 input and casts what it computes in itself (its
    input holds motion, positions that a bf16 input would round)."""

    def detect(self, state: StateDict, act_hint: str | None = None) -> ArchInfo | None:
        """This architecture's reading of a canonical state_dict, or None when it is not one.

        Raises UnsupportedModelError when the keys are this architecture's but the shapes do not
        make a network it can build.
        """
        return None

    @abstractmethod
    def build(self, scale: float, params: Mapping[str, Any]) -> nn.Module:
        """A fresh (untrained) module."""

    def retarget(self, state: StateDict, scale: float) -> dict[str, torch.Tensor]:
        """Weights of this architecture at another scale, made a starting point for ``scale``
        (default: unchanged; training copies the tensors that fit and initialises the rest)."""
        return dict(state)

    def multiple(self, scale: float, params: Mapping[str, Any]) -> int:
        """Input height and width must be a multiple of this (the runner pads up to it)."""
        return 1

    def neighbours(self, params: Mapping[str, Any]) -> int:
        """Aligned neighbouring frames the network reads beside the current one (0: per frame)."""
        return 0

    def input_channels(self, params: Mapping[str, Any]) -> int:
        """Channels of the network's input: 3 (RGB) for per-frame networks."""
        return 3

    def network_input(self, current: torch.Tensor, views: NeighbourViews) -> torch.Tensor:
        """The input of a network that reads neighbours: ``current`` (N, 3, h, w) and its K
        neighbours with their motion and trust (``views``) -> (N, input_channels, h, w).
        Per-frame networks have none to make."""
        raise NotImplementedError(f"{self.name} reads no neighbouring frames")

    @abstractmethod
    def bytes_per_pixel(self, scale: float, params: Mapping[str, Any], dtype: torch.dtype) -> float:
        """Rough peak working memory per input pixel of one frame (the ``--max-memory`` plan)."""

    @abstractmethod
    def receptive_field(self, scale: float, params: Mapping[str, Any]) -> int:
        """Input pixels on each side of an output pixel's source position that can change it."""

    def __repr__(self) -> str:
        return f"<architecture {self.name}>"


@dataclass(frozen=True)
class ArchInfo:
    """A network as detected or as the catalog describes it: architecture, scale, parameters."""

    architecture: Architecture
    scale: float
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def arch(self) -> str:
        """The architecture's name (``SRVGGNetCompact``, ``RRDBNet``, ``bicubic``, ...)."""
        return self.architecture.name

    @property
    def classical(self) -> bool:
        """True for weightless resamplers."""
        return self.architecture.classical

    @property
    def multiple(self) -> int:
        """Input height/width must be a multiple of this (pixel-unshuffle RRDBNet x2/x1)."""
        return self.architecture.multiple(self.scale, self.params)

    @property
    def neighbours(self) -> int:
        """Aligned neighbouring frames the network reads beside the current one (0: per frame)."""
        return self.architecture.neighbours({**self.architecture.default_params, **self.params})

    @property
    def input_channels(self) -> int:
        """Channels of the network's input (3: RGB; more for networks that read neighbours)."""
        return self.architecture.input_channels({**self.architecture.default_params, **self.params})

    @property
    def receptive_field(self) -> int:
        """Input pixels on each side that can change one output pixel."""
        return self.architecture.receptive_field(self.scale, self.params)

    def bytes_per_pixel(self, dtype: torch.dtype) -> float:
        """Rough peak working memory per input pixel of one frame computed in ``dtype``."""
        return self.architecture.bytes_per_pixel(self.scale, self.params, dtype)

    def build(self) -> nn.Module:
        """A fresh (untrained) module."""
        return self.architecture.build(
            self.scale, {**self.architecture.default_params, **self.params}
        )
