"""Process-wide settings for vidsr's programs, applied before torch loads; and reading a
process's memory from /proc (`status_kb`).

- ``OMP_WAIT_POLICY=PASSIVE``: idle OpenMP threads sleep instead of spinning, so the decode,
  post and encode threads get the cores (measured: pipeline efficiency 0.55 -> 0.80 on 2 cores).
- glibc malloc keeps big buffers: by default every allocation over 32 MB (a 1440p float frame,
  the model's last feature maps) is a fresh ``mmap`` whose pages fault in one by one, and
  freed heap memory is returned at once. Measured on 640x360 -> 2560x1440: 4.5 million page
  faults and 9.5 s of kernel time in a 16 s run; with the tunables below 0.5 million, 1.5 s,
  and 11.8 s wall, for about a quarter more peak memory. glibc reads ``GLIBC_TUNABLES`` only
  when a process starts, so a program that wants them re-executes itself once.

Both are defaults: a value already in the environment is left alone.

Kept freed memory is handed back on purpose by :func:`trim_heap` (glibc ``malloc_trim``), which
the model runner calls after each call on the CPU.

This module imports nothing of vidsr, so any layer may use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from pathlib import Path

MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def configure_process(reexec: bool = True) -> None:
    """Set the defaults above; with ``reexec``, restart this program once under the malloc
    tunables (Linux only; never when ``GLIBC_TUNABLES`` is already set)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not reexec or not sys.platform.startswith("linux") or "GLIBC_TUNABLES" in os.environ:
        return
    os.environ["GLIBC_TUNABLES"] = MALLOC_TUNABLES
    argv = getattr(sys, "orig_argv", None)
    if not argv or not sys.executable:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(OSError):  # if it cannot restart, it carries on without them
        os.execv(sys.executable, argv)


def status_kb(field: str, pid: int | str = "self") -> int | None:
    """A ``kB`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``; None where unreadable)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (not glibc, or no C library to load)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return None


def trim_heap() -> bool:
    """Hand the C heap's free pages back to the system (``malloc_trim(0)``, every arena).

    The tunables above keep freed memory for reuse; this drops what is free at this moment, so
    buffers one thread freed are not resident while another thread peaks. A no-op returning
    False where the C library has no ``malloc_trim``; True when it ran.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
