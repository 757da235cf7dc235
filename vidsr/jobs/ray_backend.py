"""Run segments as Ray tasks, here or across a Ray cluster (the ``cluster`` extra).

Each segment is one task. A task encodes its segment into a local temporary file and returns the
file's bytes through Ray's object store; the driver writes them into the job folder, so workers
need to read the input (a path on shared storage) but never write to the output's folder. A task
lost to a dead worker or node is retried by Ray itself (``max_retries``); a vidsr error (a corrupt
input, say) is not retried, since it would fail again. Ray is imported only when this backend runs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from vidsr.errors import InvalidOptionError, VidsrError
from vidsr.jobs.worker import SegmentDone, SegmentTask, run_segment_cached


def _ray():
    try:
        import ray
    except ImportError as err:
        raise InvalidOptionError(
            "--backend ray needs Ray: pip install 'vidsr-upscaler[cluster]' (or pip install ray)"
        ) from err
    return ray


def _encode_remote(task: SegmentTask) -> tuple[SegmentDone, bytes]:
    """The body of a Ray task: encode into a private temporary folder, return done + bytes."""
    with tempfile.TemporaryDirectory(prefix="vidsr-ray-") as folder:
        local = os.path.join(folder, Path(task.output_path).name)
        done = run_segment_cached(replace(task, output_path=local))
        return done, Path(local).read_bytes()


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.ray-{os.getpid()}.part"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run_on_ray(
    tasks: Sequence[SegmentTask],
    on_done: Callable[[SegmentDone], None],
    *,
    address: str | None = None,
    max_retries: int = 3,
    num_gpus: float | None = None,
    num_cpus: float = 1,
    on_error: Callable[[SegmentTask, BaseException], None] | None = None,
) -> None:
    """Run ``tasks`` as Ray tasks; ``on_done`` is called here as each segment file is written.

    A task that fails (after Ray's retries for lost workers) cancels the tasks not yet finished
    and its error is raised, unless ``on_error(task, error)`` is given: then it is reported there
    and the other tasks go on (a batch of many videos).

    Connects with ``ray.init(address=address)`` unless Ray is already initialised (``address``
    None starts a local runtime), and shuts down only a runtime it started. ``num_gpus`` per task
    defaults to 1 when the cluster has GPUs and the options allow CUDA, else 0.
    """
    if not tasks:
        return
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        if num_gpus is None:
            allow_cuda = tasks[0].options.model.device in ("auto", "cuda")
            num_gpus = 1 if allow_cuda and ray.cluster_resources().get("GPU", 0) >= 1 else 0
        remote = ray.remote(
            num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries, retry_exceptions=False
        )(_encode_remote)
        refs = {remote.remote(task): task for task in tasks}
        pending = list(refs)
        error: BaseException | None = None
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    done, data = ray.get(ref)
                except ray.exceptions.RayError as err:
                    failure: BaseException = err
                    if isinstance(err, ray.exceptions.RayTaskError):
                        cause = err.as_instanceof_cause()
                        failure = cause if isinstance(cause, VidsrError) else err
                    if on_error is not None:
                        on_error(refs[ref], failure)
                    else:
                        error = error or failure
                    continue
                _write_atomic(refs[ref].output_path, data)
                on_done(done)
            if error is not None:
                for ref in pending:
                    ray.cancel(ref)
                break
        if error is not None:
            raise error
    finally:
        if started_here:
            ray.shutdown()
