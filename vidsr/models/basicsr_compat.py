"""The one place that imports basicsr architectures.

basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor`` at package import time, a module
removed from torchvision; every ``import basicsr...`` fails without the alias installed here.
Importing any basicsr submodule runs ``basicsr/__init__`` (which star-imports the whole package and
scans its folders), so the imports are lazy: ``import vidsr`` never pays for them.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

from vidsr.errors import UnsupportedModelError

_MISSING = "torchvision.transforms.functional_tensor"


@contextmanager
def _basicsr_import() -> Iterator[None]:
    """Alias the removed torchvision module, and mute basicsr's import-time deprecation noise."""
    if _MISSING not in sys.modules:
        try:
            import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision)
        except ImportError:
            import torchvision.transforms.functional as functional

            sys.modules[_MISSING] = functional
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def srvgg_class() -> type[nn.Module]:
    """basicsr's ``SRVGGNetCompact`` class."""
    with _basicsr_import():
        from basicsr.archs.srvgg_arch import SRVGGNetCompact

    return SRVGGNetCompact


def rrdbnet_class() -> type[nn.Module]:
    """basicsr's ``RRDBNet`` class."""
    with _basicsr_import():
        from basicsr.archs.rrdbnet_arch import RRDBNet

    return RRDBNet


def build_network(arch: str, scale: int, params: dict[str, Any]) -> nn.Module:
    """Instantiate a basicsr network (random weights) from vidsr's arch name and hyperparameters.

    ``params`` for ``SRVGGNetCompact``: num_in_ch, num_out_ch, num_feat, num_conv, act_type;
    for ``RRDBNet``: num_in_ch, num_out_ch, num_feat, num_block, num_grow_ch. Missing keys take
    basicsr's defaults.
    """
    if arch == "SRVGGNetCompact":
        allowed = {"num_in_ch", "num_out_ch", "num_feat", "num_conv", "act_type"}
        kwargs = {k: v for k, v in params.items() if k in allowed}
        return srvgg_class()(upscale=int(scale), **kwargs)
    if arch == "RRDBNet":
        if scale not in (1, 2, 4):
            raise UnsupportedModelError(f"RRDBNet supports scale 1, 2 or 4, not {scale}")
        allowed = {"num_in_ch", "num_out_ch", "num_feat", "num_block", "num_grow_ch"}
        kwargs = {k: v for k, v in params.items() if k in allowed}
        kwargs.setdefault("num_in_ch", 3)
        kwargs.setdefault("num_out_ch", 3)
        return rrdbnet_class()(scale=int(scale), **kwargs)
    raise UnsupportedModelError(f"no basicsr network for arch '{arch}'")
