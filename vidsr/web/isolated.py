"""Read an uploaded file in a child process: FFmpeg crashing or hanging on a hostile file costs
that file a one-line error, never the server.

Each call forks a fresh child from a fork server that has PyAV and Pillow loaded already (a
child in about a tenth of a second; ``spawn`` where there is no fork server), waits up to a
timeout for its answer, and kills it after that.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidsr.errors import CorruptInputError, VidsrError

INSPECT_TIMEOUT = 120.0
"""Seconds an upload's probe and thumbnails may take before the child is killed."""
_PRELOAD = ["vidsr.web.frames"]


def inspect_video(path: str, pictures: Path) -> dict[str, Any]:
    """What the page needs of a new video: the probe summary, and thumbnails in ``pictures``
    (runs in the child)."""
    from vidsr.web import frames

    summary = frames.probe_summary(path)
    frames.thumbnails(path, summary["duration_s"], pictures)
    return summary


Inspector = Callable[[str, Path], dict[str, Any]]
"""``inspect_video``'s signature; the app takes another one in tests (it must be picklable)."""


def exit_reason(returncode: int) -> str:
    """``-6`` -> ``killed by SIGABRT``; ``3`` -> ``exit status 3``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _child(conn, inspector: Inspector, path: str, pictures: Path) -> None:
    try:
        conn.send(("ok", inspector(path, pictures)))
    except VidsrError as err:
        conn.send(("error", type(err), str(err)))
    except Exception as err:  # any other failure: its one line, in the parent
        conn.send(("error", CorruptInputError, f"cannot read {path}: {type(err).__name__}: {err}"))
    finally:
        conn.close()


def inspect_isolated(
    path: str, pictures: Path, inspector: Inspector = inspect_video,
    timeout: float = INSPECT_TIMEOUT,
) -> dict[str, Any]:  # fmt: skip
    """``inspector(path, pictures)`` in a child process; its VidsrError comes back as it was,
    and a child that dies or overruns ``timeout`` s is a CorruptInputError naming ``path``."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, inspector, path, pictures), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(timeout):
            child.kill()
            child.join()
            raise CorruptInputError(
                f"reading {path} took longer than {timeout:g} s: stopped (not a video vidsr "
                "can read)"
            )
        try:
            answer = receive.recv()
        except EOFError:
            child.join()
            raise CorruptInputError(
                f"reading {path} crashed FFmpeg ({exit_reason(child.exitcode or 0)}): not a "
                "video vidsr can read safely"
            ) from None
    finally:
        receive.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()
    if answer[0] == "ok":
        return answer[1]
    _, kind, message = answer
    raise kind(message)
