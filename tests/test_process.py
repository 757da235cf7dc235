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
