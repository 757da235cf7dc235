"""Choosing the device and the compute dtype.

Rules: CUDA runs fp16 by default. The CPU runs bf16 (with channels_last) only where it has native
bf16 arithmetic (AMX or AVX512_BF16); elsewhere fp32. fp16 is never used on the CPU: asking for it
there falls back, with a logged warning, to bf16 when supported and fp32 otherwise; asking for
bf16 on a CPU without native support falls back to fp32 the same way (emulated bf16 is slower
than fp32 and less accurate). ``torch.compile`` (with CUDA graphs) is used on CUDA by default and
on the CPU only on request: there oneDNN already runs the convolutions and compiling costs minutes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from vidsr.errors import InvalidOptionError

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def _cpuinfo_flags(path: str = "/proc/cpuinfo") -> set[str]:
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@functools.lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """True when the CPU does bf16 arithmetic natively (x86 AMX-BF16 or AVX512-BF16)."""
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if "AMX" in capability or "BF16" in capability:
        return True
    return any(flag in _cpuinfo_flags() for flag in _BF16_FLAGS)


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InvalidOptionError(f"device '{requested}' requested but no CUDA GPU is available")
        try:
            device = torch.device(requested)
        except RuntimeError as exc:
            raise InvalidOptionError(f"bad device '{requested}': {exc}") from exc
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InvalidOptionError(f"device '{requested}' does not exist")
        return device
    raise InvalidOptionError(f"unknown device '{requested}' (auto, cpu, cuda, cuda:N)")


def select_precision(
    device: torch.device,
    requested: str = "auto",
    *,
    bf16_supported: Callable[[], bool] | None = None,
) -> torch.dtype:
    """The compute dtype for ``device``; ``requested`` is auto, fp32, bf16 or fp16.

    ``bf16_supported`` answers "does this CPU do bf16 natively?" (default:
    :func:`cpu_supports_bf16`; injectable for tests).
    """
    if requested != "auto" and requested not in PRECISIONS:
        raise InvalidOptionError(f"unknown precision '{requested}' (auto, fp32, bf16, fp16)")
    if device.type == "cuda":
        if requested == "auto":
            return torch.float16
        if requested == "bf16" and not torch.cuda.is_bf16_supported():
            raise InvalidOptionError("this GPU does not support bf16; use fp16 or fp32")
        return PRECISIONS[requested]
    if device.type != "cpu":
        return torch.float32 if requested in ("auto", "fp32") else PRECISIONS[requested]
    native = (bf16_supported or cpu_supports_bf16)()
    if requested == "auto":
        return torch.bfloat16 if native else torch.float32
    if requested == "fp16":
        fallback = "bf16" if native else "fp32"
        log.warning("fp16 is never used on the CPU; using %s instead", fallback)
        return PRECISIONS[fallback]
    if requested == "bf16" and not native:
        log.warning("this CPU has no native bf16 arithmetic; using fp32 instead")
        return torch.float32
    return PRECISIONS[requested]


def use_channels_last(device: torch.device, dtype: torch.dtype) -> bool:
    """channels_last pays off for oneDNN bf16 convolutions on the CPU."""
    return device.type == "cpu" and dtype == torch.bfloat16


COMPILE_CHOICES = ("auto", "on", "off")


def select_compile(device: torch.device, requested: str = "auto") -> bool:
    """Whether to ``torch.compile`` the network: ``auto`` (on CUDA only), ``on`` or ``off``."""
    if requested not in COMPILE_CHOICES:
        raise InvalidOptionError(f"unknown compile setting '{requested}' (auto, on, off)")
    if requested == "auto":
        return device.type == "cuda" and hasattr(torch, "compile")
    return requested == "on"
