"""Starts the worker processes, restarts one that died and fails its job with one line."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

from vidsr.web.config import ServeConfig
from vidsr.web.isolated import exit_reason
from vidsr.web.store import Store

log = logging.getLogger("vidsr.web")
CHECK_SECONDS = 0.5


def death_message(returncode: int) -> str:
    """``-9`` -> ``the worker process died (killed by SIGKILL)``."""
    return f"the worker process died ({exit_reason(returncode)})"


class Supervisor:
    """``config.workers`` worker processes, watched from one thread (they die with it)."""

    def __init__(self, config: ServeConfig, store: Store):
        self.config, self.store = config, store
        self.procs: dict[int, subprocess.Popen] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vidsr-supervisor", daemon=True)
        self.logs = config.data_dir / "logs"

    def start(self) -> None:
        """Start the workers (from the supervisor thread, whose death signals them)."""
        if self.config.workers:
            self.logs.mkdir(exist_ok=True)
            self._thread.start()

    def _spawn(self, slot: int) -> subprocess.Popen:
        log_file = open(self.logs / f"worker-{slot}.log", "ab")  # noqa: SIM115 (kept by Popen)
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "vidsr.web.worker", str(Path(self.config.data_dir)),
                 str(slot)],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        finally:
            log_file.close()

    def _loop(self) -> None:
        for slot in range(self.config.workers):
            self.procs[slot] = self._spawn(slot)
        while not self._stop.wait(CHECK_SECONDS):
            for slot, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                message = death_message(code)
                failed = self.store.fail_worker_jobs(slot, message)
                log.warning("worker %d: %s; failed jobs: %s", slot, message, failed or "none")
                self.procs[slot] = self._spawn(slot)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # the worker puts its running job back in the queue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Stop the workers (a running job returns to the queue) and wait for them."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=20)
