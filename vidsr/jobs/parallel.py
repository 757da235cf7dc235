"""Run segments concurrently in worker processes on this machine.

``spawn`` processes (never ``fork``: torch and FFmpeg threads do not survive a fork). Each worker
keeps one pipeline for all its segments and exits by itself if the calling process dies. With
several CUDA devices, each worker sees one of them (``CUDA_VISIBLE_DEVICES``, round-robin); on CPU
the cores are shared out between the workers. Results come back to the calling process, which
alone writes the manifest.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait

from vidsr.errors import InvalidOptionError
from vidsr.jobs.worker import SegmentDone, SegmentTask, run_segment_cached


def _cuda_devices() -> int:
    """Number of CUDA devices, without initialising CUDA in this process."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip()])
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # no CUDA runtime at all
        return 0


def _exit_with_parent(parent: int) -> None:
    """Watch the parent process; exit at once if it dies (``kill -9`` leaves no orphans)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _init_worker(slots, threads: int, parent: int) -> None:
    """Runs first in each worker: pick a GPU slot, or share out the CPU threads."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    slot = slots.get()
    if slot is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot)
    import torch

    torch.set_num_threads(threads)


def run_in_processes(
    tasks: Sequence[SegmentTask],
    workers: int,
    on_done: Callable[[SegmentDone], None],
) -> None:
    """Run ``tasks`` on ``workers`` processes; ``on_done`` is called here as each one finishes.

    The first failure cancels the segments not yet started and is raised once the running ones
    have stopped; finished segments stay finished (a job resumes from them).
    """
    if workers < 1:
        raise InvalidOptionError(f"--workers must be at least 1, got {workers}")
    if not tasks:
        return
    workers = min(workers, len(tasks))
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    devices = _cuda_devices() if tasks[0].options.model.device in ("auto", "cuda") else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    ids = [d.strip() for d in visible.split(",") if d.strip()] or [str(i) for i in range(devices)]
    for i in range(workers):
        slots.put(ids[i % len(ids)] if devices > 1 else None)
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(slots, threads, os.getpid()),
    ) as pool:
        pending: set[Future] = {pool.submit(run_segment_cached, task) for task in tasks}
        error: BaseException | None = None
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.cancelled():
                        continue
                    if future.exception() is not None:
                        error = error or future.exception()
                    else:
                        on_done(future.result())
                if error is not None:
                    for future in pending:
                        future.cancel()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    if error is not None:
        raise error
