"""The one place that imports basicsr (its networks; tests also reach its reference functions).

basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor`` at package import time, a module
removed from torchvision; every ``import basicsr...`` fails without the alias installed here.
Importing any basicsr submodule runs ``basicsr/__init__`` (which star-imports the whole package and
scans its folders), so the imports are lazy: ``import vidsr`` never pays for them.

The package import also pulls torchvision (its models, hence ``torch._dynamo``), scipy.stats and
cv2: measured 994 MB resident after building SRVGGNetCompact that way against 717 MB with torch
alone. Modules in :data:`STANDALONE` need nothing of basicsr but its registry, so they are loaded
from their files without the package's ``__init__`` (no torchvision at all); a later full import
of basicsr finds them, and the same registry, in ``sys.modules``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from vidsr.errors import UnsupportedModelError

_MISSING = "torchvision.transforms.functional_tensor"

STANDALONE = ("archs.srvgg_arch",)
"""basicsr submodules whose only basicsr import is ``basicsr.utils.registry``."""
_REGISTRY = "utils.registry"


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


def _load_file(root: Path, module: str) -> ModuleType:
    """``basicsr.<module>`` executed from its file alone (no package ``__init__`` runs)."""
    name = f"basicsr.{module}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, root / (module.replace(".", "/") + ".py"))
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded


def _import(module: str) -> ModuleType:
    """``basicsr.<module>``: a :data:`STANDALONE` one from its file while the package is not
    imported, any other through the package (with the alias installed)."""
    name = f"basicsr.{module}"
    if name in sys.modules:
        return sys.modules[name]
    spec = None if "basicsr" in sys.modules else importlib.util.find_spec("basicsr")
    if module in STANDALONE and spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        _load_file(root, _REGISTRY)
        return _load_file(root, module)
    with _basicsr_import():
        return importlib.import_module(name)


def basicsr_attr(module: str, name: str) -> Any:
    """``name`` from the basicsr submodule ``module`` (e.g. ``archs.srvgg_arch``,
    ``SRVGGNetCompact``)."""
    return getattr(_import(module), name)


def network_class(module: str, name: str) -> type[nn.Module]:
    """basicsr's network class ``name`` from ``basicsr.<module>``."""
    cls = basicsr_attr(module, name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise UnsupportedModelError(f"basicsr.{module}.{name} is not a network class")
    return cls
