"""vidsr.process: the program restarts itself once under the malloc tunables, never twice, and
leaves a user's own settings alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vidsr.process import MALLOC_TUNABLES

PROGRAM = (
    "import os, sys\n"
    "print('start', flush=True)\n"
    "from vidsr.process import configure_process\n"
    "configure_process(reexec=sys.argv[1] == 'yes')\n"
    "print(os.environ.get('GLIBC_TUNABLES'), os.environ.get('OMP_WAIT_POLICY'))\n"
)


def run(reexec: str, **env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "OMP_WAIT_POLICY")}
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, reexec],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout.splitlines()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tunables are Linux-only")
def test_restarts_once_under_the_tunables():
    # the program starts twice (the second time under the tunables) and finishes once
    assert run("yes") == ["start", "start", f"{MALLOC_TUNABLES} PASSIVE"]


def test_user_settings_win_and_no_restart_when_asked_not_to():
    assert run("yes", GLIBC_TUNABLES="glibc.malloc.arena_max=1", OMP_WAIT_POLICY="ACTIVE") == [
        "start",
        "glibc.malloc.arena_max=1 ACTIVE",
    ]
    assert run("no") == ["start", "None PASSIVE"]


TRIM = (
    "import numpy as np\n"
    "from vidsr.process import status_kb, trim_heap\n"
    "held = [np.ones(10_000_000) for _ in range(4)]\n"
    "del held\n"
    "before = status_kb('VmRSS')\n"
    "print(trim_heap(), before - status_kb('VmRSS'))\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")
def test_trim_heap_hands_back_what_the_tunables_keep() -> None:
    """Issue 17: under the tunables freed buffers stay resident until trim_heap."""
    base = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    proc = subprocess.run(
        [sys.executable, "-c", TRIM],
        env={**base, "GLIBC_TUNABLES": MALLOC_TUNABLES},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ran, freed_kb = proc.stdout.split()
    assert ran == "True"
    assert int(freed_kb) > 250_000  # of the 320 MB freed


def test_upscaler_trims_after_each_cpu_call(monkeypatch) -> None:
    import torch

    from vidsr.models import runner

    calls = []
    monkeypatch.setattr(runner, "trim_heap", lambda: calls.append(1) or True)
    upscaler = runner.load_model("realesr-animevideov3", device="cpu", precision="fp32")
    out = upscaler(torch.rand(1, 3, 16, 16))
    assert out.shape == (1, 3, 64, 64) and calls == [1]


def _loader() -> str | None:
    """The glibc dynamic loader, which can list the tunables in effect (glibc 2.33+)."""
    import glob

    for path in sorted(glob.glob("/lib64/ld-linux*.so*") + glob.glob("/lib/*/ld-linux*.so*")):
        probe = subprocess.run([path, "--list-tunables"], capture_output=True, text=True)
        if probe.returncode == 0 and "glibc.malloc" in probe.stdout:
            return path
    return None


@pytest.mark.skipif(_loader() is None, reason="needs glibc's loader with --list-tunables")
def test_glibc_applies_every_tunable_vidsr_sets() -> None:
    """Issue 17: glibc ignores a misspelled or out-of-range tunable without a word, so check
    the values it takes from MALLOC_TUNABLES are the ones set."""
    wanted = dict(item.split("=") for item in MALLOC_TUNABLES.split(":"))
    assert set(wanted) == {"glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold"}
    base = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    listed = subprocess.run(
        [_loader(), "--list-tunables"],
        env={**base, "GLIBC_TUNABLES": MALLOC_TUNABLES},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    applied = {
        name.strip(): int(rest.split()[0], 16)
        for name, _, rest in (line.partition(":") for line in listed.splitlines())
        if name.strip() in wanted
    }
    assert applied == {name: int(value) for name, value in wanted.items()}
