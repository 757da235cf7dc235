"""The one place that imports basicsr (its networks; tests also reach its reference functions).

basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor`` at package import time, a module
removed from torchvision; every ``import basicsr...`` fails without the alias installed here.
Importing any basicsr submodule runs ``basicsr/__init__`` (which star-imports the whole package and
scans its folders), so the imports are lazy: ``import vidsr`` never pays for them.
"""

from __future__ import annotations

import importlib
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


def basicsr_attr(module: str, name: str) -> Any:
    """``name`` from the basicsr submodule ``module`` (e.g. ``archs.srvgg_arch``,
    ``SRVGGNetCompact``), imported with the alias installed."""
    with _basicsr_import():
        loaded = importlib.import_module(f"basicsr.{module}")
    return getattr(loaded, name)


def network_class(module: str, name: str) -> type[nn.Module]:
    """basicsr's network class ``name`` from ``basicsr.<module>``."""
    cls = basicsr_attr(module, name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise UnsupportedModelError(f"basicsr.{module}.{name} is not a network class")
    return cls
